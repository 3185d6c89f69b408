"""The Answer record: the JSON contract of `assistant ask --json`, and inert Markdown."""

from __future__ import annotations

import json

import pytest

from assistant.answers import (
    JSON_KEYS,
    Answer,
    Citation,
    RegionSummary,
    Unsupported,
    neutralize_markdown,
)
from tests.test_answers_fakes import make_chunk, passage

pytestmark = pytest.mark.unit


def test_json_has_exactly_the_contract_fields() -> None:
    p = passage(make_chunk("共召开会议7次。", n=1), score=0.1234567)
    ans = Answer(
        question="薛城区召开了几次会议？",
        standalone_question="薛城区召开了几次会议？",
        mode="qa",
        answerer="llm:qwen",
        answer="共召开会议7次[1]。",
        found=True,
        citations=[Citation.from_passage(1, p)],
        unsupported=[Unsupported("x", "没有标注出处。")],
        regions=[
            RegionSummary("薛城区", True, "共召开会议7次[1]。", [Citation.from_passage(1, p)])
        ],
        retrieved=[p],
        timings_ms={"retrieve": 1.23, "answer": 4.56, "total": 7.0, "extra": 1.0},
        notice="not in json",
        complete=False,
    )
    data = ans.to_json()
    assert tuple(data) == JSON_KEYS
    assert set(data["citations"][0]) == {
        "n",
        "chunk_id",
        "doc_id",
        "region",
        "title",
        "section",
        "start",
        "end",
        "quote",
    }
    assert data["unsupported"] == [{"sentence": "x", "reason": "没有标注出处。"}]
    assert set(data["regions"][0]) == {"region", "found", "summary", "citations"}
    assert data["retrieved"] == [
        {
            "chunk_id": "test:0001",
            "doc_id": "test_doc",
            "region": "薛城区",
            "score": 0.123457,
            "text": "共召开会议7次。",
        }
    ]
    assert data["timings_ms"] == {"retrieve": 1.2, "answer": 4.6, "total": 7.0}
    text = json.dumps(data, ensure_ascii=False)
    assert "薛城区召开了几次会议" in text and "not in json" not in text


def test_defaults_and_labels() -> None:
    ans = Answer(question="问")
    assert ans.to_json()["standalone_question"] == "问"
    assert ans.answerer == "offline" and "离线摘录" in ans.answerer_label
    assert "qwen" in Answer(question="q", answerer="llm:qwen").answerer_label


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("<script>alert(1)</script>", "\\<script>alert(1)\\</script>"),
        ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert(1)>"),
        ("[x](javascript:alert(1))", "[x]\\(javascript\\:alert(1))"),
        ("![](http://127.0.0.1:9/leak?q=1)", "!\\[]\\(http://127.0.0.1:9/leak?q=1)"),
        ("\\\\<b>", "\\\\\\<b>"),
        ("面积 1<2 的比较", "面积 1<2 的比较"),
        ("成效显著![1]。", "成效显著![1]。"),
        ("![1](http://x/y.png)", "!\\[1]\\(http://x/y.png)"),
        ("[1]: http://x/y.png", "\\[1]: http://x/y.png"),
    ],
)
def test_neutralize_markdown(raw: str, safe: str) -> None:
    assert neutralize_markdown(raw) == safe
    assert neutralize_markdown(safe) == safe  # idempotent
