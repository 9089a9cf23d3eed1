"""Which isolation runs code where: bubblewrap, the root uid drop, or a refusal.

The vectors themselves are in ``test_sandbox_vectors.py`` (both modes); these
tests pin the choice and the errors, without running adversarial code.
"""

import pytest

from restem_jax.verify import bubblewrap, sandbox
from restem_jax.verify.sandbox import run_python
from restem_jax.verify.sandbox_config import SandboxConfig


@pytest.fixture
def no_bwrap(monkeypatch):
  monkeypatch.setattr(bubblewrap, 'probe',
                      lambda uid=65534: bubblewrap.Probe(False, 'simulated: no bwrap'))
  monkeypatch.setattr(sandbox, '_warned_no_bwrap', False)


def test_require_bubblewrap_raises_when_disabled(no_bwrap):
  with pytest.raises(sandbox.SandboxUnavailable, match='simulated'):
    run_python({'m.py': 'pass'}, 'm.py', SandboxConfig(require_bubblewrap=True))


def test_not_root_without_bubblewrap_is_refused_naming_the_fix(no_bwrap, monkeypatch):
  monkeypatch.setattr(sandbox.os, 'geteuid', lambda: 1000)
  with pytest.raises(sandbox.SandboxUnavailable) as e:
    run_python({'m.py': 'print(1)'}, 'm.py', SandboxConfig())
  for fix in ('apt-get install -y bubblewrap', 'verifier.allow_unsandboxed=True',
              '--allow-unsandboxed', 'simulated: no bwrap'):
    assert fix in str(e.value)
  assert sandbox.isolation_mode(SandboxConfig(allow_unsandboxed=True)) == 'unsandboxed'


def test_root_never_runs_code_unsandboxed(no_bwrap, monkeypatch):
  monkeypatch.setattr(sandbox, 'uid_sandbox_probe',
                      lambda uid, mb: bubblewrap.Probe(False, 'simulated: no setuid'))
  monkeypatch.setattr(sandbox.os, 'geteuid', lambda: 0)
  config = SandboxConfig(allow_unsandboxed=True)
  with pytest.raises(sandbox.SandboxUnavailable, match='simulated: no setuid'):
    sandbox.isolation_mode(config)


def test_config_rejects_root_as_sandbox_uid():
  with pytest.raises(ValueError, match='sandbox_uid'):
    SandboxConfig(sandbox_uid=0)


def test_fallback_as_root_drops_to_the_sandbox_uid_and_limits(no_bwrap, caplog):
  if sandbox.os.geteuid() != 0:
    pytest.skip('the uid drop needs root')
  config = SandboxConfig(timeout_s=10.0)  # wall cap: generous, a loaded CI host starts python slowly
  with caplog.at_level('WARNING'):
    result = run_python({'m.py': 'import os; print(os.getuid())'}, 'm.py', config)
  assert result.isolation == 'uid_drop' and not result.sandboxed
  assert result.stdout == f'{config.sandbox_uid}\n'.encode()
  assert 'WITHOUT bubblewrap' in caplog.text
  mem = run_python({'m.py': 'bytearray(10**11)'}, 'm.py', config)
  assert b'MemoryError' in mem.stderr


def test_cli_refuses_code_tasks_before_starting_workers(no_bwrap, monkeypatch, tmp_path,
                                                        capsys):
  from restem_jax.verify import cli
  monkeypatch.setattr(sandbox.os, 'geteuid', lambda: 1000)
  data = tmp_path / 'in.jsonl'
  data.write_text('{"sample": "x", "tests": ["assert True"]}\n')
  argv = ['--task=toy_code', f'--input={data}', f'--output={tmp_path / "out.jsonl"}']
  assert cli.main(argv) == 2
  assert '--allow-unsandboxed' in capsys.readouterr().err
  assert not (tmp_path / 'out.jsonl').exists()

