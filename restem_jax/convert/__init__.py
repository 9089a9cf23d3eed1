"""Model conversion: `python -m restem_jax.convert import|export`.

    import  Hugging Face model directory or .gguf file -> self-describing restem checkpoint
    export  restem checkpoint -> Hugging Face directory (safetensors + config + tokenizer)

Modules: `lazy_tensors` (read-on-demand tensors), `hf_source` and `gguf_source` (the two
source formats as HF-named lazy tensors + an HF config dict), `importer`, `exporter`.
The per-architecture config/name mapping is `restem_jax.convert.hf_convert`.
"""
