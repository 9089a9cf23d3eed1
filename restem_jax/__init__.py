"""restem_jax: ReST-EM self-training of language models in JAX/Flax.

Data flow (one package per stage):
  tasks (seqio problems) -> sampling (E-step decoder) -> verify (reward pool)
    -> loop (filtered dataset) -> training (M-step from the base checkpoint)
    -> checkpoint -> loop.evaluation -> next iteration.
"""
