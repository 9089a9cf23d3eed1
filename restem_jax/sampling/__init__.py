"""Sampling for the E-step and evaluation: cache layout, prefill orchestration, scheduling.

The model computes (prefill and the one-token step, every attention backend included:
`restem_jax.model.interface`); this package decides what it computes on. Shape letters
in tensor names (the model's own, `restem_jax/model/layers.py`, apply inside it):

  B  prompts (problems) in one device call; a multiple of the data-parallel size
  P  a prompt bucket: the left-padded length of the prompts, or of the suffixes after
     the shared prefix (`cascade.py`; there also S, the suffix bucket as a key length)
  N  samples per prompt
  R  decode rows: B x N (one row per sample), or B x slots (`refill.py`)
  M  max_new_tokens: generated tokens per row, and the slots of a row's own cache
  S  a cache's key length (as in the model)
  V  vocabulary
  W  the stop matcher's byte window; L the longest stop string; K the ids of the EOS
     set (`stops.py`) or the top-k candidates (`strategies.py`)

Modules: `sampler.py` (host side: tokenise, bucket, batch, detokenise), `decode_input.py`
(the engines' one input type), `engines.py` (cascade / refill / repeat), `cascade.py`,
`refill.py`, `decode.py` (the engines' device programs and the shared token loop),
`strategies.py` (token selection), `stops.py` (stop strings on device), `keys.py`
(a key per seed, iteration, problem and sample).
"""
