"""The path layer on local and in-memory (ram://) filesystems; atomic writes with many writers."""

import json
import os
import threading

import pytest

from restem_jax import io

io.register_gfile_scheme("ram")


@pytest.mark.parametrize("root_kind", ["local", "ram"])
def test_operations_round_trip(tmp_path, root_kind, monkeypatch):
  monkeypatch.chdir(tmp_path)
  root = str(tmp_path / "r") if root_kind == "local" else "ram://paths_test/r"
  d = io.join(root, "a", "b")
  io.makedirs(d)
  assert io.isdir(d) and io.exists(d)
  io.write_json_atomic(io.join(d, "x.json"), {"k": [1, 2]}, indent=2)
  io.write_text(io.join(d, "y.txt"), "hello")
  io.write_bytes_atomic(io.join(root, "z.bin"), b"\x00\x01")
  assert io.read_json(io.join(d, "x.json")) == {"k": [1, 2]}
  assert io.read_text(io.join(d, "y.txt")) == "hello"
  assert io.read_bytes(io.join(root, "z.bin")) == b"\x00\x01"
  assert io.listdir(d) == ["x.json", "y.txt"]  # no temporary file left behind
  assert io.listdir(io.join(root, "missing")) == []
  copy = io.join(root, "copy")
  io.copy_tree(io.join(root, "a"), copy)
  assert io.read_text(io.join(copy, "b", "y.txt")) == "hello"
  io.rmtree(io.join(root, "a"))
  assert not io.exists(d) and io.exists(copy)
  io.rmtree(io.join(root, "a"))  # absent: no error
  if root_kind == "ram":
    assert d.startswith("ram://")
    assert os.listdir(tmp_path) == []  # nothing named "ram:" created locally


def test_unknown_scheme_is_a_clear_error():
  with pytest.raises(ValueError, match="unsupported scheme 'nope://'"):
    io.exists("nope://bucket/x")


def test_atomic_json_with_concurrent_writers(tmp_path):
  """Two writers of one file (the old fixed `path + '.tmp'` lost ~5% of writes here)."""
  target = str(tmp_path / "manifest.json")
  errors = []

  def writer(w):
    try:
      for i in range(300):
        io.write_json_atomic(target, {"writer": w, "i": i, "pad": "x" * 2000})
    except Exception as e:  # pylint: disable=broad-except
      errors.append(e)

  threads = [threading.Thread(target=writer, args=(w,)) for w in range(2)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  assert not errors, errors[:3]
  assert json.loads(open(target).read())["i"] == 299
  assert os.listdir(tmp_path) == ["manifest.json"]


@pytest.mark.parametrize("root_kind", ["local", "ram"])
def test_plain_writes_replace_an_existing_file(tmp_path, root_kind):
  """ram:// (TF's RamFileSystem) appends on open-for-write; the path layer must replace."""
  base = str(tmp_path) if root_kind == "local" else "ram://replace_test"
  root, copy = io.join(base, "src"), io.join(base, "dst")
  target = io.join(root, "x.bin")
  io.write_bytes(target, b"a longer first version")
  io.write_bytes(target, b"v2")
  assert io.read_bytes(target) == b"v2"
  io.write_text(io.join(root, "y.txt"), "first version, longer")
  io.write_text(io.join(root, "y.txt"), "v2")
  assert io.read_text(io.join(root, "y.txt")) == "v2"
  io.copy_tree(root, copy)
  io.write_bytes(target, b"3")
  io.copy_tree(root, copy)  # a second copy over the first replaces its files
  assert io.read_bytes(io.join(copy, "x.bin")) == b"3"
  assert io.read_text(io.join(copy, "y.txt")) == "v2"


@pytest.mark.parametrize("root_kind", ["local", "ram"])
def test_write_tree_atomic_replaces_the_whole_tree(tmp_path, root_kind, monkeypatch):
  """A second write leaves the new files only (none of the old tree, no temporary dir)."""
  monkeypatch.chdir(tmp_path)
  root = str(tmp_path / "r") if root_kind == "local" else "ram://tree_test/r"
  target = io.join(root, "tb")
  for gen, names in enumerate((("a", "b"), ("c",))):
    local = tmp_path / f"local{gen}"
    (local / "sub").mkdir(parents=True)
    for name in names:
      (local / name).write_text(f"{name}{gen}")
    (local / "sub" / "x").write_text(str(gen))
    io.write_tree_atomic(target, str(local))
    assert io.listdir(target) == sorted(names + ("sub",))
    assert [io.read_text(io.join(target, n)) for n in names] == [f"{n}{gen}" for n in names]
    assert io.read_text(io.join(target, "sub", "x")) == str(gen)
    assert io.listdir(root) == ["tb"]  # the old tree and the temporary copy are gone


def test_write_tree_atomic_keeps_the_old_tree_when_the_copy_fails(tmp_path, monkeypatch):
  target = str(tmp_path / "tb")
  old = tmp_path / "old"
  old.mkdir()
  (old / "events").write_text("old")
  io.write_tree_atomic(target, str(old))
  new = tmp_path / "new"
  new.mkdir()
  (new / "events").write_text("new")

  def broken(src, dst):
    raise OSError("disk full")

  monkeypatch.setattr(io.atomic.paths, "copy_tree", broken)
  with pytest.raises(OSError, match="disk full"):
    io.write_tree_atomic(target, str(new))
  assert os.listdir(tmp_path / "tb") == ["events"]
  assert (tmp_path / "tb" / "events").read_text() == "old"
  assert sorted(os.listdir(tmp_path)) == ["new", "old", "tb"]  # no temporary copy left
