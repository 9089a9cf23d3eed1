"""The one JSONL reader: line numbers, gzip, blank lines, and errors naming the line."""

import gzip

import pytest

from restem_jax.io import jsonl


def test_objects_with_line_numbers_skipping_blank_lines(tmp_path):
  p = tmp_path / "a.jsonl"
  p.write_text('{"x": 1}\n\n  \n{"x": 2}\n', encoding="utf-8")
  assert jsonl.read_objects(str(p)) == [(1, {"x": 1}), (4, {"x": 2})]


def test_gzipped_file_reads_like_plain(tmp_path):
  p = tmp_path / "a.jsonl.gz"
  p.write_bytes(gzip.compress('{"q": "é"}\n{"q": "b"}\n'.encode("utf-8")))
  assert jsonl.read_objects(str(p)) == [(1, {"q": "é"}), (2, {"q": "b"})]


@pytest.mark.parametrize("line, reason", [("{oops", "not valid JSON"),
                                          ("[1, 2]", "expected a JSON object, got list")])
def test_bad_line_names_path_line_and_reason(tmp_path, line, reason):
  p = tmp_path / "b.jsonl"
  p.write_text('{"ok": 1}\n' + line + "\n", encoding="utf-8")
  with pytest.raises(jsonl.JsonlLineError, match=rf"b\.jsonl, line 2: {reason}") as e:
    jsonl.read_objects(str(p))
  assert (e.value.line, e.value.path) == (2, str(p))
