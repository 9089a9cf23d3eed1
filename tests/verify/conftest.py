"""Shared fixtures for the verifier tests: data paths and one session pool.

The full data sets are read from ``$RESTEM_SHARED_DATA`` (default
``<repo>/../shared/data``); tests needing them skip cleanly when absent.
Small slices live in ``tests/fixtures/verify`` (see its ATTRIBUTION.md).
"""

import json
import os
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
  sys.path.insert(0, str(REPO))

FIXTURES = REPO / 'tests' / 'fixtures' / 'verify'


def shared_data_dir() -> pathlib.Path:
  return pathlib.Path(os.environ.get('RESTEM_SHARED_DATA',
                                     REPO.parent / 'shared' / 'data'))


def read_jsonl(path) -> list[dict]:
  import gzip
  opener = gzip.open if str(path).endswith('.gz') else open
  with opener(path, 'rt', encoding='utf-8') as f:
    return [json.loads(line) for line in f if line.strip()]


@pytest.fixture
def shared_file():
  """Path of a file under the shared data dir, or skip the test."""
  def get(relative: str) -> pathlib.Path:
    path = shared_data_dir() / relative
    if not path.exists():
      pytest.skip(f'shared data file {path} not available '
                  '(set RESTEM_SHARED_DATA)')
    return path
  return get


@pytest.fixture(scope='session')
def pool():
  """One 2-worker pool for the whole session (workers start once)."""
  from restem_jax.verify.pool import VerifierPool
  from restem_jax.verify.sandbox_config import SandboxConfig
  with VerifierPool(2, timeout_s=20.0, sandbox=SandboxConfig(timeout_s=20.0)) as p:
    yield p


@pytest.fixture(scope='session')
def bwrap_ok():
  from restem_jax.verify import bubblewrap
  return bubblewrap.probe().ok
