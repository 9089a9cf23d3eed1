"""Model presets: ModelConfig fields of paper-scale architectures, for run cards to import.

  from configs import models
  c.model.update(models.LLAMA_3_1_8B)

Dimensions and RoPE scaling from the models' HF config.json files. bf16 compute with
fp32 master weights (param_dtype) for training, rematerialised blocks scanned over layers
(`scan_layers`: XLA compiles one block, not L); attention 'auto' (splash on TPU, cudnn on GPU).
"""

_COMMON = dict(
    norm_eps=1e-5,
    rope_theta=500_000.0,
    rope_type="llama3",
    rope_low_freq_factor=1.0,
    rope_high_freq_factor=4.0,
    rope_original_max_len=8192,
    dtype="bfloat16",
    param_dtype="float32",
    remat=True,
    scan_layers=True,
    attention_impl="auto",
)

LLAMA_3_2_1B = dict(
    _COMMON,
    vocab_size=128_256,
    embed_dim=2048,
    num_layers=16,
    num_heads=32,
    num_kv_heads=8,
    head_dim=64,
    mlp_dim=8192,
    max_len=8192,
    rope_factor=32.0,
    tie_embeddings=True,
)

LLAMA_3_1_8B = dict(
    _COMMON,
    vocab_size=128_256,
    embed_dim=4096,
    num_layers=32,
    num_heads=32,
    num_kv_heads=8,
    head_dim=128,
    mlp_dim=14_336,
    max_len=8192,
    rope_factor=8.0,
    tie_embeddings=False,
)

# SmolLM2-135M(-Instruct) (HuggingFaceTB/SmolLM2-135M config.json): the CPU smoke model.
SMOLLM2_135M = dict(
    _COMMON,
    vocab_size=49_152,
    embed_dim=576,
    num_layers=30,
    num_heads=9,
    num_kv_heads=3,
    head_dim=64,
    mlp_dim=1536,
    max_len=8192,
    rope_type="default",  # no RoPE scaling (unlike _COMMON's Llama 3)
    rope_original_max_len=0,
    rope_theta=100_000.0,
    tie_embeddings=True,
)

# Qwen2.5-1.5B (Qwen/Qwen2.5-1.5B config.json): q/k/v biases, tied embeddings.
QWEN2_5_1_5B = dict(
    _COMMON,
    vocab_size=151_936,
    embed_dim=1536,
    num_layers=28,
    num_heads=12,
    num_kv_heads=2,
    head_dim=128,
    mlp_dim=8960,
    max_len=32_768,
    rope_type="default",  # no RoPE scaling (unlike _COMMON's Llama 3)
    rope_original_max_len=0,
    rope_theta=1_000_000.0,
    norm_eps=1e-6,
    qkv_bias=True,
    tie_embeddings=True,
)

MODELS = {"llama-3.2-1b": LLAMA_3_2_1B, "llama-3.1-8b": LLAMA_3_1_8B,
          "smollm2-135m": SMOLLM2_135M, "qwen2.5-1.5b": QWEN2_5_1_5B}
