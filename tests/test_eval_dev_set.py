"""The development evaluation set in data/eval/dev/ passes its own checks."""

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

VERIFY = Path(__file__).resolve().parents[1] / "data" / "eval" / "dev" / "verify.py"


def _load_verify():
    spec = importlib.util.spec_from_file_location("eval_dev_verify", VERIFY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dev_set_has_no_problems():
    verify = _load_verify()
    problems, summary = verify.check()
    assert problems == [], "\n".join(problems)
    assert summary[-1].startswith("total:")


@pytest.mark.parametrize("name", ["dev2", "dev3", "dev4", "dev5", "dev6"])
def test_later_dev_sets_have_no_problems(name):
    """Each development set carries its own checker (evidence in the gold document, keys
    in the evidence, a none question's detail and a place question's place absent)."""
    path = VERIFY.parents[1] / name / "verify.py"
    spec = importlib.util.spec_from_file_location(f"eval_{name}_verify", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    problems, summary = module.check()
    assert problems == [], "\n".join(problems)
    assert summary[-1].startswith("total:")


def test_dev_set_kind_counts():
    verify = _load_verify()
    rows, problems = verify.load_questions()
    assert problems == []
    kinds = {}
    for row in rows:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    assert kinds.get("fact", 0) >= 26
    assert kinds.get("para", 0) >= 14
    assert kinds.get("cross", 0) >= 8
    assert kinds.get("none", 0) >= 6
    assert kinds.get("place", 0) >= 5


def test_every_document_has_questions():
    verify = _load_verify()
    docs = verify.load_docs()
    rows, _ = verify.load_questions()
    per_doc = {d: 0 for d in docs}
    for row in rows:
        if row["kind"] in ("fact", "para"):
            for g in row["gold_docs"]:
                per_doc[g] += 1
    assert all(n >= 3 for n in per_doc.values()), per_doc


def test_checker_catches_a_bad_record(tmp_path):
    verify = _load_verify()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "d1.txt").write_text("全县新建党群服务中心23个。", encoding="utf-8")
    q = tmp_path / "questions.jsonl"
    q.write_text(
        '{"id": "x1", "question": "建了多少个？", "kind": "fact", "gold_docs": ["d1"], '
        '"answer_keys": [["24个"]], "evidence": "新建党群服务中心23个", "split": "calib"}\n'
        '{"id": "x1", "question": "无", "kind": "none", "gold_docs": ["d1"], '
        '"answer_keys": [], "evidence": "", "split": "other"}\n',
        encoding="utf-8",
    )
    problems, _ = verify.check(q, docs)
    text = "\n".join(problems)
    assert "used 2 times" in text
    assert "no alternative of answer key" in text
    assert "split 'other'" in text
    assert "must have no gold docs" in text
