"""Per-device bytes of the loss and one attention layer (fwd+bwd), before/after, for a TPU topology.

  python benchmarks/plan_components.py TOPOLOGY EMBED_DIM HEAD_DIM ROWS
  python benchmarks/plan_components.py v5p:2x4x4 4096 128 32   # Llama-3.1-8B shapes, 1 row/chip

Needs libtpu (the `tpu` extra). Prints `TOPOLOGY PIECE temp_bytes total_bytes` for the
full-logits vs chunked loss (grad w.r.t. hidden states and LM head) and einsum vs splash
attention (grad w.r.t. q, k, v) at T=2,048, V=128,256, 32 query / 8 kv heads.
"""
import os, sys
os.environ.setdefault("JAX_PLATFORMS", "cpu")
import jax, jax.numpy as jnp, numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P
from restem_jax.aot import topology
from restem_jax.model import attention, masks
from restem_jax.sharding import partitioning
from restem_jax.training import loss as loss_lib

topo, D, V, H, K, E, rows = sys.argv[1], int(sys.argv[2]), 128256, 32, 8, int(sys.argv[3]), int(sys.argv[4])
T = 2048
t = topology.describe(topo)
mesh = jax.sharding.Mesh(np.asarray(t.devices).reshape(1, len(t.devices), 1), ("data", "fsdp", "tensor"))
rules = partitioning.DEFAULT_RULES
row = NamedSharding(mesh, P(("data", "fsdp")))
rep = NamedSharding(mesh, P())
sds = lambda shape, dt, s: jax.ShapeDtypeStruct(shape, dt, sharding=s)
def mem(f, *args):
  with partitioning.activation_sharding(mesh, rules):
    c = jax.jit(f).lower(*args).compile()
  m = c.memory_analysis()
  return m.temp_size_in_bytes, m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes - m.alias_size_in_bytes
h = sds((rows, T, D), jnp.bfloat16, row); w = sds((D, V), jnp.float32, NamedSharding(mesh, P("fsdp", None)))
y = sds((rows, T), jnp.int32, row); wt = sds((rows, T), jnp.float32, row)
def full(h, w, y, wt):
  logits = jnp.einsum("btd,dv->btv", h, w.astype(h.dtype)).astype(jnp.float32)
  lp = jax.nn.log_softmax(logits, -1)
  return -jnp.sum(jnp.take_along_axis(lp, y[..., None], -1)[..., 0] * wt)
chunk = lambda h, w, y, wt: loss_lib.chunked_weighted_nll(h, w, y, wt, 512)
for name, f in (("loss_full", full), ("loss_chunked512", chunk)):
  print(topo, name, *mem(jax.grad(f, argnums=(0, 1)), h, w, y, wt), flush=True)
q = sds((rows, T, H, E), jnp.bfloat16, row); kv = sds((rows, K, T, E), jnp.bfloat16, row)
seg = sds((rows, T), jnp.int32, row)
for impl in ("einsum", "splash"):
  b = attention.backend(impl)
  f = lambda q, k, v, s: jnp.sum(b(q, k, v, masks.packed_causal(s)).astype(jnp.float32))
  print(topo, "attention_" + impl, *mem(jax.grad(f, argnums=(0, 1, 2)), q, kv, kv, seg), flush=True)
