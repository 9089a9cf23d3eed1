"""Measurement harness shared by the benchmarks: thread pinning, peak, timing, RESULT lines.

`pin_threads(n)` must run before jax or torch is imported: it restricts the
process to n CPUs (both XLA's and PyTorch's pools size themselves from the
affinity mask), disables XLA's multi-threaded Eigen when n == 1, and sets torch's
intra-op threads to n and inter-op threads to 1.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Callable


def pin_threads(n: int) -> None:
  cpus = sorted(os.sched_getaffinity(0))[:n]
  os.sched_setaffinity(0, cpus)
  for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(n)
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                             f" --xla_cpu_multi_thread_eigen={'true' if n > 1 else 'false'}")
  os.environ.setdefault("JAX_PLATFORMS", "cpu")
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  import torch  # pylint: disable=import-outside-toplevel
  torch.set_num_threads(n)
  torch.set_num_interop_threads(1)


def matmul_peak_flops(n: int = 2048, repeats: int = 5) -> dict[str, float]:
  """Max fp32 FLOP/s of an n x n x n matmul through XLA and through torch (MKL)."""
  import jax  # pylint: disable=import-outside-toplevel
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  import torch  # pylint: disable=import-outside-toplevel
  a = np.random.default_rng(0).standard_normal((n, n), np.float32)
  ja = jnp.asarray(a)
  dot = jax.jit(jnp.dot)
  dot(ja, ja).block_until_ready()
  ta = torch.from_numpy(a)
  torch.mm(ta, ta)
  flops = 2.0 * n ** 3
  jt = min_time(lambda: dot(ja, ja).block_until_ready(), repeats)
  tt = min_time(lambda: torch.mm(ta, ta), repeats)
  return {"jax": flops / jt, "torch": flops / tt, "peak": flops / min(jt, tt)}


def min_time(fn: Callable[[], object], repeats: int) -> float:
  best = float("inf")
  for _ in range(repeats):
    t0 = time.perf_counter()
    fn()
    best = min(best, time.perf_counter() - t0)
  return best


def interleaved(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
  """Median wall time of each fn, run round-robin (order rotated each round) so that
  load from other processes on the machine hits every side alike."""
  times: dict[str, list[float]] = {k: [] for k in fns}
  names = list(fns)
  for r in range(repeats):
    for k in names[r % len(names):] + names[:r % len(names)]:
      t0 = time.perf_counter()
      fns[k]()
      times[k].append(time.perf_counter() - t0)
  return {k: statistics.median(v) for k, v in times.items()}


def fmt(x: float) -> str:
  return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def result_line(name: str, ratio: float, **figures) -> str:
  extra = " ".join(f"{k}={fmt(v) if isinstance(v, float) else v}" for k, v in figures.items())
  return f"RESULT {name} ratio={ratio:.3f} {extra}".rstrip()


class Table:
  """A markdown table printed row by row (so partial runs still show their rows)."""

  def __init__(self, *columns: str):
    self.columns = columns
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns), flush=True)

  def row(self, *values) -> None:
    print("| " + " | ".join(fmt(v) if isinstance(v, float) else str(v) for v in values) + " |",
          flush=True)
