"""Attention masks and positions for packed training, cached decoding and the cascade
decode step (`CascadeMask`)."""

from __future__ import annotations

import flax.struct
import jax
import jax.numpy as jnp


def packed_causal_mask(segment_ids_BxT):
  """Causal mask that never crosses segments; segment id 0 marks padding."""
  t = segment_ids_BxT.shape[1]
  causal_TxT = jnp.tril(jnp.ones((t, t), dtype=bool))
  same_BxTxT = segment_ids_BxT[:, :, None] == segment_ids_BxT[:, None, :]
  valid_BxT = segment_ids_BxT != 0
  return causal_TxT[None] & same_BxTxT & valid_BxT[:, None, :]


def positions_from_segments(segment_ids_BxT):
  """Position of each token inside its own segment (restarts at 0 per segment)."""
  t = segment_ids_BxT.shape[1]
  idx_T = jnp.arange(t)
  starts = jnp.concatenate(
      [jnp.ones_like(segment_ids_BxT[:, :1], dtype=bool),
       segment_ids_BxT[:, 1:] != segment_ids_BxT[:, :-1]], axis=1)
  start_idx_BxT = jnp.where(starts, idx_T[None], 0)
  return idx_T[None] - jax.lax.cummax(start_idx_BxT, axis=1)


def cache_mask(key_valid_BxS, query_slots_BxT):
  """Query at cache slot q may see key slot s iff s <= q and the key is valid."""
  s = key_valid_BxS.shape[1]
  slots_S = jnp.arange(s)
  return (slots_S[None, None, :] <= query_slots_BxT[:, :, None]) & key_valid_BxS[:, None, :]


@flax.struct.dataclass
class SegmentMask:
  """Packed causal attention given by segment ids (0 = padding), without the TxT mask.

  Attention kernels that take segment ids (splash) use it as is; the others call
  `dense(mask)`, which equals `packed_causal_mask(segment_ids_BxT)`.
  """
  segment_ids_BxT: jax.Array


@flax.struct.dataclass
class CascadeMask:
  """One decode step over three cache levels (`attention.cascade`): every row sees the
  whole shared prefix, the valid keys of its problem's suffix (`suffix_valid_BxS`; None
  where each row holds its suffix at the head of its own cache) and the own keys marked
  in `own_valid_RxM`. Rows are problem-major: row b * N + i belongs to problem b."""
  own_valid_RxM: jax.Array
  suffix_valid_BxS: jax.Array | None = None


def packed_causal(segment_ids_BxT) -> SegmentMask:
  return SegmentMask(segment_ids_BxT)


def dense(mask):
  """A mask argument (dense BxTxS bool array or SegmentMask) as a dense BxTxS array."""
  if isinstance(mask, SegmentMask):
    return packed_causal_mask(mask.segment_ids_BxT)
  return mask
