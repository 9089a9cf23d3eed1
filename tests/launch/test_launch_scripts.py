"""Tests for launch/*.sh: command sequences, quoting, flag errors and lint.

The scripts drive gcloud, which must never run from a test. Every test puts a fake
`gcloud` first on PATH:
  * dry-run tests use one that fails loudly and leaves a trace file, so a dry-run
    that called gcloud fails the test even if the script swallowed the error;
  * create-or-reuse tests run for real against one that records its argv and
    answers `describe` as told, because that decision needs gcloud's answer.
Remote `--command=` strings are executed by a local bash against a fake
`.venv/bin/python` that records its argv: that is how the remote login shell
will parse them, so quoting bugs show up as wrong argv.
"""

import json
import re
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAUNCH = REPO / "launch"
SCRIPTS = sorted(LAUNCH.glob("*.sh"))
TPU = LAUNCH / "tpu_pod.sh"
GPU = LAUNCH / "gpu_single_host.sh"

POD = ["--name=rest-pod", "--zone=us-central2-b"]
JOB = ["--config=configs/toy_arith.py", "--workdir=gs://bucket/run 1"]
# Overrides a shell would mangle if quoted wrongly: spaces, both quotes, $, ;, *, \.
NASTY_OVERRIDES = [
    "--config.sampler.prompt=it's a \"test\"",
    "--config.note=$HOME;echo pwned",
    "--config.glob=*",
    "--config.backslash=a\\b",
]

LOUD_GCLOUD = """#!/usr/bin/env bash
echo "FAKE GCLOUD CALLED: a dry-run must not run gcloud: $*" >&2
touch "{trace}"
exit 97
"""

RECORDING_GCLOUD = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["FAKE_GCLOUD_LOG"], "a") as f:
    f.write(json.dumps(["gcloud"] + sys.argv[1:]) + "\\n")
if "describe" in sys.argv:
    answer = os.environ.get("FAKE_TPU_DESCRIBE", "")
    if not answer:
        sys.exit("ERROR: (gcloud.compute.tpus.tpu-vm.describe) NOT_FOUND")
    print(answer)
"""

# Stands in for .venv/bin/python in the job: records argv and one env var.
FAKE_JOB_PYTHON = f"""#!{sys.executable}
import json, os, sys, time
with open(os.environ["FAKE_JOB_OUT"], "w") as f:
    json.dump({{"argv": sys.argv[1:],
               "mem_fraction": os.environ.get("XLA_PYTHON_CLIENT_MEM_FRACTION")}}, f)
time.sleep(float(os.environ.get("FAKE_JOB_SLEEP", "0")))
"""

# Stands in for python3 in setup_worker.sh: records calls, `-m venv DIR` makes DIR.
FAKE_PYTHON3 = f"""#!{sys.executable}
import json, os, shutil, sys
who = "venv" if ".venv" in sys.argv[0] else "python3"
with open(os.environ["FAKE_PY_LOG"], "a") as f:
    f.write(json.dumps([who] + sys.argv[1:]) + "\\n")
if sys.argv[1:] == ["--version"]:
    print("Python " + os.environ.get("FAKE_PY_VERSION", "3.11.9"))
if sys.argv[1:3] == ["-m", "venv"]:
    os.makedirs(os.path.join(sys.argv[3], "bin"))
    shutil.copy(__file__, os.path.join(sys.argv[3], "bin", "python"))
"""


def _write_exe(path, text):
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def env(tmp_path):
    """Environment with a gcloud on PATH that fails loudly and leaves a trace."""
    fake_bin = tmp_path / "fake_bin"
    fake_bin.mkdir()
    _write_exe(fake_bin / "gcloud", LOUD_GCLOUD.format(trace=tmp_path / "gcloud_called"))
    yield dict(os.environ, PATH=f"{fake_bin}:{os.environ['PATH']}", TMPDIR=str(tmp_path))
    assert not (tmp_path / "gcloud_called").exists(), "a test ran the fake gcloud"


@pytest.fixture
def recording_env(tmp_path):
    """Environment with a gcloud on PATH that records its argv (real-mode tests)."""
    fake_bin = tmp_path / "recording_bin"
    fake_bin.mkdir()
    _write_exe(fake_bin / "gcloud", RECORDING_GCLOUD)
    log = tmp_path / "gcloud_calls.jsonl"
    return dict(os.environ, PATH=f"{fake_bin}:{os.environ['PATH']}",
                FAKE_GCLOUD_LOG=str(log), TMPDIR=str(tmp_path))


def _run(script, *args, env, cwd=None):
    return subprocess.run(["bash", str(script), *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=20)


def _dry_run(script, *args, env):
    """Runs a dry-run, asserts success, returns the printed commands as argvs."""
    result = _run(script, "--dry-run", *args, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(l.startswith(("+ ", "# ")) for l in lines), result.stdout
    return [shlex.split(l[2:]) for l in lines if l.startswith("+ ")], lines


def _flag(argv, name):
    (value,) = [a.split("=", 1)[1] for a in argv if a.startswith(f"--{name}=")]
    return value


def _gcloud_calls(env):
    log = Path(env["FAKE_GCLOUD_LOG"])
    return [json.loads(l) for l in log.read_text().splitlines()] if log.exists() else []


# --- every script ---------------------------------------------------------------


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_has_shebang_then_strict_mode(script):
    lines = script.read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    code = [l for l in lines[1:] if l.strip() and not l.lstrip().startswith("#")]
    assert code[0] == "set -euo pipefail", f"first command in {script.name}: {code[0]!r}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_parses(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_shellcheck_is_clean():
    result = subprocess.run(["shellcheck", "-x", *map(str, SCRIPTS)],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_launch_dir_has_the_expected_scripts():
    names = {p.name for p in SCRIPTS}
    assert {"tpu_pod.sh", "setup_worker.sh", "gpu_single_host.sh"} <= names


@pytest.mark.parametrize("script", [TPU, GPU, LAUNCH / "setup_worker.sh"], ids=lambda p: p.name)
def test_help_exits_zero(script, env):
    result = _run(script, "--help", env=env)
    assert result.returncode == 0 and result.stdout.startswith("Usage:"), result


# --- tpu_pod.sh -----------------------------------------------------------------


def test_all_dry_run_prints_create_copy_setup_run_in_order(env):
    cmds, lines = _dry_run(TPU, "all", *POD, "--accelerator=v4-32", "--spot", *JOB, env=env)
    tpu_verbs = [c[4] if c[0] == "gcloud" else c[0] for c in cmds]
    assert tpu_verbs == ["describe", "create", "git", "scp", "ssh", "ssh", "ssh"], lines
    assert cmds[1] == ["gcloud", "compute", "tpus", "tpu-vm", "create", "rest-pod",
                       "--zone=us-central2-b", "--accelerator-type=v4-32",
                       "--version=tpu-ubuntu2204-base", "--spot"]
    # Code goes to every worker, and setup and run happen on every worker.
    for cmd in cmds[3:]:
        assert "--worker=all" in cmd, cmd
    assert _flag(cmds[5], "command") == (
        "cd restem_jax && bash launch/setup_worker.sh --extras=tpu --system-packages")
    assert "--jax_distributed" in _flag(cmds[6], "command")


@pytest.mark.parametrize("accelerator,version", [
    ("v4-8", "tpu-ubuntu2204-base"),
    ("v5litepod-16", "v2-alpha-tpuv5-lite"),
    ("v5p-8", "v2-alpha-tpuv5"),
    ("v6e-8", "v2-alpha-tpuv6e"),
])
def test_create_picks_runtime_by_generation(env, accelerator, version):
    cmds, _ = _dry_run(TPU, "create", *POD, f"--accelerator={accelerator}", env=env)
    assert _flag(cmds[-1], "version") == version
    assert "--spot" not in cmds[-1] and "--preemptible" not in cmds[-1]


def test_create_passes_version_project_and_preemptible(env):
    cmds, _ = _dry_run(TPU, "create", *POD, "--accelerator=v4-8", "--version=my-runtime",
                       "--project=my-proj", "--preemptible", env=env)
    assert cmds[-1] == ["gcloud", "compute", "tpus", "tpu-vm", "create", "rest-pod",
                        "--zone=us-central2-b", "--project=my-proj",
                        "--accelerator-type=v4-8", "--version=my-runtime", "--preemptible"]


def test_create_creates_when_describe_finds_nothing(recording_env):
    result = _run(TPU, "create", *POD, "--accelerator=v4-8", env=recording_env)
    assert result.returncode == 0, result.stderr
    assert [c[4] for c in _gcloud_calls(recording_env)] == ["describe", "create"]


def test_create_reuses_a_ready_vm_with_the_same_accelerator(recording_env):
    recording_env["FAKE_TPU_DESCRIBE"] = "READY\tv4-8"
    result = _run(TPU, "create", *POD, "--accelerator=v4-8", env=recording_env)
    assert result.returncode == 0, result.stderr
    assert [c[4] for c in _gcloud_calls(recording_env)] == ["describe"]
    assert "reusing" in result.stderr


@pytest.mark.parametrize("describe,message", [
    ("READY\tv4-32", "accelerator v4-32"),
    ("PREEMPTED\tv4-8", "is PREEMPTED"),
])
def test_create_refuses_a_vm_it_cannot_reuse(recording_env, describe, message):
    recording_env["FAKE_TPU_DESCRIBE"] = describe
    result = _run(TPU, "create", *POD, "--accelerator=v4-8", env=recording_env)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert [c[4] for c in _gcloud_calls(recording_env)] == ["describe"]


def test_delete_is_one_quiet_delete(env):
    cmds, _ = _dry_run(TPU, "delete", *POD, env=env)
    assert cmds == [["gcloud", "compute", "tpus", "tpu-vm", "delete", "rest-pod",
                     "--zone=us-central2-b", "--quiet"]]


def test_setup_copies_the_working_tree_then_sets_up_every_worker(env, tmp_path):
    cmds, _ = _dry_run(TPU, "setup", *POD, env=env)
    tarball = str(tmp_path / "restem_jax-rest-pod.tar.gz")
    assert cmds[0][:3] == ["git", "-C", str(REPO)] and cmds[0][-1] == tarball
    assert cmds[1] == ["gcloud", "compute", "tpus", "tpu-vm", "scp", tarball,
                       "--zone=us-central2-b", "rest-pod:restem_jax.tar.gz", "--worker=all"]
    assert [c[4] for c in cmds[1:]] == ["scp", "ssh", "ssh"]
    assert all("--worker=all" in c for c in cmds[1:])


@pytest.mark.parametrize("worker", [None, "3"])
def test_logs_tails_the_chosen_workers(env, worker):
    extra = [f"--worker={worker}"] if worker else []
    cmds, _ = _dry_run(TPU, "logs", *POD, *extra, env=env)
    (cmd,) = cmds
    assert _flag(cmd, "worker") == (worker or "all")
    assert _flag(cmd, "command") == "tail -n 100 -F restem_jax_logs/job-*.log"


def _run_command(env, workdir, overrides):
    cmds, _ = _dry_run(TPU, "run", *POD, "--config=configs/toy_arith.py", f"--workdir={workdir}",
                       "--", *overrides, env=env)
    (cmd,) = cmds
    assert cmd[4] == "ssh" and "--worker=all" in cmd
    return _flag(cmd, "command")


def _fake_worker_home(tmp_path):
    home = tmp_path / "home"
    (home / "restem_jax" / ".venv" / "bin").mkdir(parents=True)
    _write_exe(home / "restem_jax" / ".venv" / "bin" / "python", FAKE_JOB_PYTHON)
    return home


def _wait_for(path, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    time.sleep(0.05)  # let the writer finish the file
    return json.loads(path.read_text())


@pytest.mark.parametrize("workdir", ["gs://bucket/run 1", "/tmp/it's \"here\" $USER"])
def test_run_command_reaches_main_verbatim_through_a_shell(env, tmp_path, workdir):
    remote = _run_command(env, workdir, NASTY_OVERRIDES)
    home = _fake_worker_home(tmp_path)
    out = tmp_path / "job.json"
    # Like `ssh worker "$remote"`: the worker's login shell parses the string.
    shell = subprocess.run(["bash", "-c", remote], cwd=home, capture_output=True, text=True,
                           env=dict(env, FAKE_JOB_OUT=str(out)), timeout=10)
    assert shell.returncode == 0, shell.stderr
    assert _wait_for(out)["argv"] == ["-m", "restem_jax.main", "--config=configs/toy_arith.py",
                                      f"--workdir={workdir}", "--jax_distributed",
                                      *NASTY_OVERRIDES]
    logs = home / "restem_jax_logs"
    assert (logs / f"job-{socket.gethostname()}.log").exists()
    assert (logs / "job.pid").read_text().strip().isdigit()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_run_refuses_a_second_job_until_stop(env, tmp_path):
    remote = _run_command(env, "gs://bucket/run", [])
    (stop_cmd,), _ = _dry_run(TPU, "stop", *POD, env=env)
    assert "--worker=all" in stop_cmd
    home = _fake_worker_home(tmp_path)
    out = tmp_path / "job.json"
    worker_env = dict(env, FAKE_JOB_OUT=str(out), FAKE_JOB_SLEEP="10")

    def on_worker(command):
        return subprocess.run(["bash", "-c", command], cwd=home, env=worker_env,
                              capture_output=True, text=True, timeout=10)

    first = on_worker(remote)
    pid = int((home / "restem_jax_logs" / "job.pid").read_text())
    try:
        assert first.returncode == 0, first.stderr
        _wait_for(out)
        second = on_worker(remote)
        assert second.returncode == 1 and "already running" in second.stderr, second
        assert on_worker(_flag(stop_cmd, "command")).returncode == 0
        deadline = time.monotonic() + 5
        while _alive(pid):
            assert time.monotonic() < deadline, "stop left the job running"
            time.sleep(0.05)
        assert not (home / "restem_jax_logs" / "job.pid").exists()
    finally:
        if _alive(pid):
            os.kill(pid, 9)


@pytest.mark.parametrize("args,flag", [
    (["create", "--zone=z", "--accelerator=v4-8"], "--name"),
    (["create", "--name=n", "--accelerator=v4-8"], "--zone"),
    (["create", "--name=n", "--zone=z"], "--accelerator"),
    (["all", "--name=n", "--zone=z", "--config=c.py", "--workdir=w"], "--accelerator"),
    (["run", "--name=n", "--zone=z", "--workdir=w"], "--config"),
    (["run", "--name=n", "--zone=z", "--config=c.py"], "--workdir"),
])
def test_tpu_missing_flag_is_a_usage_error_naming_it(env, args, flag):
    result = _run(TPU, "--dry-run", *args, env=env)
    assert result.returncode == 2
    assert f"missing required flag {flag}\n" in result.stderr, result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("args,message", [
    ([*POD], "missing command"),
    (["launch", *POD], "unknown argument: launch"),
    (["create", *POD, "--accelerator=v4-8", "--spot", "--preemptible"], "mutually exclusive"),
    (["delete", *POD, "--", "--config.x=1"], "only go with run or all"),
    (["logs", *POD, "--worker=one"], "bad --worker"),
])
def test_tpu_bad_arguments_are_usage_errors(env, args, message):
    result = _run(TPU, "--dry-run", *args, env=env)
    assert result.returncode == 2 and message in result.stderr, result.stderr


# --- gpu_single_host.sh ---------------------------------------------------------


def test_gpu_dry_run_sets_up_then_runs_without_jax_distributed(env):
    cmds, lines = _dry_run(GPU, "--config=configs/toy_arith.py", "--workdir=runs/a b", "--",
                           *NASTY_OVERRIDES, env=env)
    assert cmds[0] == ["cd", str(REPO)]
    assert cmds[1] == ["bash", "launch/setup_worker.sh", "--extras=gpu"]
    assert cmds[2] == ["mkdir", "-p", "runs/a b"]
    assert len(cmds) == 4, lines
    assert "jax_distributed" not in lines[-1]
    assert cmds[3] == ["env", "XLA_PYTHON_CLIENT_MEM_FRACTION=0.9", ".venv/bin/python", "-m",
                       "restem_jax.main", "--config=configs/toy_arith.py", "--workdir=runs/a b",
                       *NASTY_OVERRIDES, "2>&1", "|", "tee", "-a", "runs/a b/job.log"]


def test_gpu_job_line_reaches_main_verbatim_through_a_shell(env, tmp_path):
    _, lines = _dry_run(GPU, "--config=configs/toy_arith.py", "--workdir=runs/it's here",
                        "--mem-fraction=.85", "--skip-setup", "--", *NASTY_OVERRIDES, env=env)
    assert not any("setup_worker" in l for l in lines)
    root = tmp_path / "root"
    (root / ".venv" / "bin").mkdir(parents=True)
    _write_exe(root / ".venv" / "bin" / "python", FAKE_JOB_PYTHON)
    (root / "runs" / "it's here").mkdir(parents=True)
    out = tmp_path / "job.json"
    shell = subprocess.run(["bash", "-c", lines[-1][2:]], cwd=root, capture_output=True,
                           text=True, env=dict(env, FAKE_JOB_OUT=str(out)), timeout=10)
    assert shell.returncode == 0, shell.stderr
    job = json.loads(out.read_text())
    assert job["argv"] == ["-m", "restem_jax.main", "--config=configs/toy_arith.py",
                           "--workdir=runs/it's here", *NASTY_OVERRIDES]
    assert job["mem_fraction"] == ".85"
    assert (root / "runs" / "it's here" / "job.log").exists()


def test_gpu_log_dir_defaults_to_workdir_or_runs_logs_for_gcs(env):
    cmds, lines = _dry_run(GPU, "--config=c.py", "--workdir=gs://b/r", "--gpus=0,1", env=env)
    assert cmds[2] == ["mkdir", "-p", "runs/logs"]
    assert lines[-1].endswith("| tee -a runs/logs/job.log")
    assert "CUDA_VISIBLE_DEVICES=0,1" in cmds[3]


@pytest.mark.parametrize("args,message", [
    (["--workdir=w"], "missing required flag --config\n"),
    (["--config=c.py"], "missing required flag --workdir\n"),
    (["--config=c.py", "--workdir=w", "--mem-fraction=90%"], "bad --mem-fraction"),
    (["--config=c.py", "--workdir=w", "--config.x=1"], "job arguments go after --"),
])
def test_gpu_bad_arguments_are_usage_errors(env, args, message):
    result = _run(GPU, "--dry-run", *args, env=env)
    assert result.returncode == 2 and message in result.stderr, result.stderr


# --- setup_worker.sh ------------------------------------------------------------


@pytest.fixture
def fake_root(tmp_path, env):
    """A repo root with launch/, a pyproject.toml, and a fake python3 on PATH."""
    root = tmp_path / "root"
    shutil.copytree(LAUNCH, root / "launch")
    (root / "pyproject.toml").write_text('[project]\nname = "restem_jax"\n')
    fake_bin = tmp_path / "py_bin"
    fake_bin.mkdir()
    _write_exe(fake_bin / "python3", FAKE_PYTHON3)
    log = tmp_path / "python_calls.jsonl"
    env.update(PATH=f"{fake_bin}:{env['PATH']}", FAKE_PY_LOG=str(log))

    def setup(*args):
        log.unlink(missing_ok=True)
        result = _run(root / "launch" / "setup_worker.sh", *args, env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        calls = [json.loads(l) for l in log.read_text().splitlines()]
        return [c for c in calls if c != ["python3", "--version"]], result

    return root, setup


def test_setup_worker_installs_once_per_install_hash(fake_root):
    root, setup = fake_root
    calls, _ = setup("--extras=tpu")
    assert calls == [["python3", "-m", "venv", ".venv"],
                     ["venv", "-m", "pip", "install", "--upgrade", "pip"],
                     ["venv", "-m", "pip", "install", "-e", ".[tpu]"]]
    assert (root / ".venv" / ".restem_setup_hash").exists()

    calls, result = setup("--extras=tpu")
    assert calls == [] and "skipping" in result.stderr

    (root / "pyproject.toml").write_text('[project]\nname = "restem_jax"\nversion = "2"\n')
    calls, _ = setup("--extras=tpu")
    assert calls[-1] == ["venv", "-m", "pip", "install", "-e", ".[tpu]"]
    assert ["python3", "-m", "venv", ".venv"] not in calls, "an existing venv was recreated"

    calls, _ = setup("--extras=gpu")
    assert calls[-1] == ["venv", "-m", "pip", "install", "-e", ".[gpu]"]
    calls, _ = setup("--extras=gpu", "--force")
    assert calls[-1] == ["venv", "-m", "pip", "install", "-e", ".[gpu]"]


def test_setup_worker_dry_run_changes_nothing(fake_root):
    root, setup = fake_root
    calls, result = setup("--extras=gpu", "--dry-run")
    assert calls == []
    assert not (root / ".venv").exists()
    assert result.stdout.splitlines()[:4] == [
        f"+ cd {shlex.quote(str(root))}",
        "+ python3 -m venv .venv",
        "+ .venv/bin/python -m pip install --upgrade pip",
        "+ .venv/bin/python -m pip install -e .\\[gpu\\]",
    ]
    assert result.stdout.splitlines()[4].endswith("> .venv/.restem_setup_hash")


@pytest.mark.parametrize("args,message", [
    ([], "missing required flag --extras\n"),
    (["--extras=tpu", "--bogus"], "unknown argument: --bogus"),
    (["--extras=tpu;rm -rf /"], "bad --extras"),
])
def test_setup_worker_bad_arguments_are_usage_errors(env, args, message):
    result = _run(LAUNCH / "setup_worker.sh", "--dry-run", *args, env=env)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_setup_worker_refuses_python_older_than_3_11(fake_root, env):
    root, _ = fake_root
    env["FAKE_PY_VERSION"] = "3.10.12"  # stock TPU VM image (Ubuntu 22.04)
    result = _run(root / "launch" / "setup_worker.sh", "--extras=tpu", env=env, cwd=root)
    assert result.returncode == 1, result.stderr
    assert "is Python 3.10; restem_jax needs >= 3.11" in result.stderr
    assert "--system-packages" in result.stderr
    assert not (root / ".venv").exists()


def test_setup_worker_system_packages_installs_bubblewrap_and_python311(fake_root, env):
    root, _ = fake_root
    env["FAKE_PY_VERSION"] = "3.10.12"
    result = _run(root / "launch" / "setup_worker.sh", "--extras=tpu", "--system-packages",
                  "--dry-run", env=env, cwd=root)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    installs = [l for l in lines if "apt-get install -y -q" in l]
    assert installs[0].endswith("apt-get install -y -q bubblewrap")
    assert installs[-1].endswith("apt-get install -y -q python3.11 python3.11-venv")
    assert "+ python3.11 -m venv .venv" in lines  # the venv is built on the new Python
    assert lines.index("+ python3.11 -m venv .venv") > lines.index(installs[-1])


def test_setup_worker_system_packages_keeps_a_new_enough_python(fake_root, env):
    root, _ = fake_root
    result = _run(root / "launch" / "setup_worker.sh", "--extras=tpu", "--system-packages",
                  "--dry-run", env=env, cwd=root)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(l.endswith("apt-get install -y -q bubblewrap") for l in lines)
    assert not any("python3.11" in l for l in lines) and "+ python3 -m venv .venv" in lines


def test_every_config_file_named_in_launch_scripts_and_docs_exists():
    texts = {p: p.read_text() for p in [*LAUNCH.glob("*.sh"), REPO / "docs" / "launch.md"]}
    named = {(p.name, m) for p, t in texts.items()
             for m in re.findall(r"configs/[\w./-]+?\.py", t)}
    assert {p for p, _ in named} >= {"tpu_pod.sh", "gpu_single_host.sh", "launch.md"}
    missing = sorted((p, m) for p, m in named if not (REPO / m).is_file())
    assert not missing, f"config files named but absent: {missing}"
