"""Attention backends behind one call, `attend(cfg, q, k, v, mask)`, chosen by a strategy.

Backends (ModelConfig.attention_impl):
  'einsum'  the reference: grouped-query einsums with fp32 BxKxGxTxS scores; runs anywhere.
  'xla'     `jax.nn.dot_product_attention(implementation='xla')`.
  'cudnn'   `jax.nn.dot_product_attention(implementation='cudnn')`: cuDNN flash attention
            (GPU only; bf16/fp16).
  'splash'  the Pallas splash-attention kernel (TPU; no TxS scores in HBM) for packed causal
            masks; any other mask (cached decoding) goes to the 'xla' path.
  'auto'    (default) splash on TPU, cudnn on GPU, einsum elsewhere.

Masks: either a dense bool BxTxS array (query t may see key s) or a `masks.SegmentMask`
(packed causal attention given by segment ids), which kernels that understand segment
ids use without building the TxS mask. A `masks.CascadeMask` (one decode step over the
shared-prefix / suffix / own cache levels, keys and values given per level) goes to
the cascade backend (`cascade_attention.py`) whatever `attention_impl` says. Query rows
with no visible key output exactly 0 in every backend (the reference's convention), so
the backends agree row for row.
"""

from __future__ import annotations

import dataclasses
import flax.linen as nn
import jax
import jax.numpy as jnp

from restem_jax.model import cascade_attention, masks
from restem_jax.model.config import ATTENTION_IMPLS

_NEG_INF = -1e30
_SPLASH_BLOCK = 128


def _zero_empty_rows(out_BxTxHxE, dense_BxTxS):
  has_key_BxT = jnp.any(dense_BxTxS, axis=-1)
  return jnp.where(has_key_BxT[:, :, None, None], out_BxTxHxE, 0).astype(out_BxTxHxE.dtype)


@dataclasses.dataclass(frozen=True)
class EinsumAttention:
  """Grouped-query softmax attention; masked keys get exactly zero weight."""

  def __call__(self, q_BxTxHxE, k_BxKxSxE, v_BxKxSxE, mask):
    mask_BxTxS = masks.dense(mask)
    b, t, h, e = q_BxTxHxE.shape
    kh = k_BxKxSxE.shape[1]
    q_BxTxKxGxE = q_BxTxHxE.reshape(b, t, kh, h // kh, e)
    logits = jnp.einsum("btkge,bkse->bkgts", q_BxTxKxGxE, k_BxKxSxE,
                        preferred_element_type=jnp.float32) * (e ** -0.5)
    logits = jnp.where(mask_BxTxS[:, None, None, :, :], logits, _NEG_INF)
    probs = jax.nn.softmax(logits, axis=-1)
    probs = jnp.where(mask_BxTxS[:, None, None, :, :], probs, 0.0).astype(v_BxKxSxE.dtype)
    out = jnp.einsum("bkgts,bkse->btkge", probs, v_BxKxSxE)
    return out.reshape(b, t, h, e)


@dataclasses.dataclass(frozen=True)
class DotProductAttention:
  """`jax.nn.dot_product_attention` ('xla' everywhere, 'cudnn' flash attention on GPU)."""
  implementation: str = "xla"

  def __call__(self, q_BxTxHxE, k_BxKxSxE, v_BxKxSxE, mask):
    mask_BxTxS = masks.dense(mask)
    out = jax.nn.dot_product_attention(
        q_BxTxHxE, k_BxKxSxE.transpose(0, 2, 1, 3), v_BxKxSxE.transpose(0, 2, 1, 3),
        mask=mask_BxTxS[:, None], implementation=self.implementation)
    return _zero_empty_rows(out, mask_BxTxS)


@dataclasses.dataclass(frozen=True)
class SplashAttention:
  """Pallas splash attention (TPU) for packed causal masks; `interpret` runs it on CPU.

  Other masks (cached decoding) and lengths that are not a multiple of the 128-wide
  block go to the 'xla' path.
  """
  interpret: bool = False

  def __call__(self, q_BxTxHxE, k_BxKxSxE, v_BxKxSxE, mask):
    b, t, h, e = q_BxTxHxE.shape
    if not isinstance(mask, masks.SegmentMask) or (t % _SPLASH_BLOCK and not self.interpret):
      return DotProductAttention("xla")(q_BxTxHxE, k_BxKxSxE, v_BxKxSxE, mask)
    kh = k_BxKxSxE.shape[1]
    q_BxKxGxTxE = (q_BxTxHxE * (e ** -0.5)).reshape(b, t, kh, h // kh, e).transpose(0, 2, 3, 1, 4)
    seg_BxT = mask.segment_ids_BxT
    kernel = _splash_kernel(h // kh, t, self.interpret)

    def one_row(q_KxGxTxE, k_KxSxE, v_KxSxE, seg_T):
      from jax.experimental.pallas.ops.tpu import splash_attention as splash  # pylint: disable=g-import-not-at-top
      ids = splash.SegmentIds(q=seg_T, kv=seg_T)
      return jax.vmap(lambda qq, kk, vv: kernel(qq, kk, vv, segment_ids=ids))(
          q_KxGxTxE, k_KxSxE, v_KxSxE)

    out_BxKxGxTxE = _per_shard(jax.vmap(one_row), q_BxKxGxTxE, k_BxKxSxE, v_BxKxSxE, seg_BxT)
    out = out_BxKxGxTxE.transpose(0, 3, 1, 2, 4).reshape(b, t, h, e).astype(q_BxTxHxE.dtype)
    # Padding (segment 0) attends to padding inside the kernel; the reference outputs 0.
    return jnp.where((seg_BxT != 0)[:, :, None, None], out, 0).astype(out.dtype)


def _splash_kernel(group: int, t: int, interpret: bool):
  """An MQA splash kernel (G query heads share one kv head) with a causal TxT mask.

  Built per trace, not cached: its mask tables are arrays created while tracing.
  """
  from jax.experimental.pallas.ops.tpu import splash_attention as splash  # pylint: disable=g-import-not-at-top
  block = min(_SPLASH_BLOCK, t)
  sizes = splash.BlockSizes(block_q=block, block_kv=block, block_kv_compute=block,
                            block_q_dkv=block, block_kv_dkv=block, block_kv_dkv_compute=block,
                            block_q_dq=block, block_kv_dq=block)
  mask = splash.MultiHeadMask([splash.CausalMask((t, t)) for _ in range(group)])
  return splash.make_splash_mqa_single_device(mask, block_sizes=sizes, interpret=interpret)


def _per_shard(fn, q_BxKxGxTxE, k_BxKxSxE, v_BxKxSxE, seg_BxT):
  """Runs `fn` per device shard (batch over the data axes, kv heads over tensor).

  A Pallas call is not partitioned by the SPMD partitioner, so under a mesh it runs in a
  `shard_map` whose specs come from the logical axis rules in force.
  """
  mesh = jax.sharding.get_abstract_mesh()
  if mesh.empty:
    return fn(q_BxKxGxTxE, k_BxKxSxE, v_BxKxSxE, seg_BxT)
  batch, heads = nn.logical_to_mesh_axes(("batch", "act_kv_heads"))
  p = jax.sharding.PartitionSpec
  qkv = p(batch, heads, None, None, None)
  kv = p(batch, heads, None, None)
  return jax.shard_map(fn, mesh=mesh, in_specs=(qkv, kv, kv, p(batch, None)),
                       out_specs=qkv, check_vma=False)(q_BxKxGxTxE, k_BxKxSxE, v_BxKxSxE, seg_BxT)


def resolve(impl: str, platform: str | None = None) -> str:
  """The backend name for `impl`; 'auto' picks by `platform` (default: JAX's backend)."""
  if impl != "auto":
    return impl
  platform = platform or jax.default_backend()
  return {"tpu": "splash", "gpu": "cudnn", "cuda": "cudnn"}.get(platform, "einsum")


def backend(impl: str, platform: str | None = None):
  """The attention strategy for `impl` ('auto' picks by platform)."""
  impl = resolve(impl, platform)
  if impl == "einsum":
    return EinsumAttention()
  if impl in ("xla", "cudnn"):
    return DotProductAttention(impl)
  if impl == "splash":
    return SplashAttention()
  raise ValueError(f"model.attention_impl={impl!r}; expected one of {ATTENTION_IMPLS}.")


def attend(cfg, q_BxTxHxE, k_BxKxSxE, v_BxKxSxE, mask):
  """Attention output BxTxHxE with the configured backend (the cascade backend for a
  `masks.CascadeMask`, whose keys and values are per-level dicts)."""
  if isinstance(mask, masks.CascadeMask):
    return cascade_attention.attend(q_BxTxHxE, k_BxKxSxE, v_BxKxSxE, mask)
  return backend(cfg.attention_impl)(q_BxTxHxE, k_BxKxSxE, v_BxKxSxE, mask)
