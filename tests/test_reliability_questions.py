"""Issue 5, questions: empty, whitespace, 20,000 characters, only punctuation, English, mixed
scripts and other odd input through `Assistant.ask` (offline): a clear answer or message,
never a crash."""

from __future__ import annotations

import json
import re
import time

import pytest

from assistant.export import to_docx, to_markdown
from tests.reliability_helpers import docx_text, run_cli

NO_TEXT = {
    "empty": "",
    "whitespace": " \t\n\u3000 \r\n",
    "punctuation": "？？？！！。，、……——“”《》()[]{}<>?!.,;:'\"",
    "control-characters": "\x00\x01\x02\x1b\x7f",
    "emoji-only": "🤔🤔🤔",
}

ODD = {
    "english": "How many grids did Dalian set up, and how many grid Party organisations?",
    "mixed": "Dalian 大连 grid 网格 how many 个？",
    "long": "大连市建立了多少个网格？" + "请详细说明。" * 3400,  # > 20,000 characters
    "sql": "'; DROP TABLE reports; -- 大连网格",
    "regex": "(.*)+[a-z]{1,}\\d+ 网格？",
    "html": "<script>alert(1)</script>大连建立了多少个网格？",
    "nul-inside": "大连建立了\x00多少个网格？",
    "unknown-region": "北京市朝阳区建立了多少个网格？",
    "rtl-override": "\u202e大连建立了多少个网格？",
    "traditional": "大連市建立了多少個網格？",
    "fullwidth": "ＤＡＬＩＡＮ　網格　６３３１",
    "one-char": "网",
}


def _is_user_text(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text)) and "Traceback" not in text


@pytest.mark.unit
@pytest.mark.parametrize("mode", ["auto", "compare"])
@pytest.mark.parametrize(
    "question",
    [pytest.param(q, id=name) for name, q in NO_TEXT.items()],
)
def test_questions_without_text_get_a_clear_message(indexed_assistant, question, mode):
    answer = indexed_assistant.ask(question, offline=True, mode=mode)
    assert answer.found is False and answer.citations == [] and answer.retrieved == []
    assert _is_user_text(answer.answer) and answer.notice
    assert "请" in answer.answer  # says what to do
    assert answer.to_json()["answer"] == answer.answer
    to_markdown(answer)
    to_docx(answer)


@pytest.mark.unit
@pytest.mark.parametrize("mode", ["auto", "compare"])
@pytest.mark.parametrize("question", list(ODD.values()), ids=list(ODD))
def test_odd_questions_get_an_answer_never_a_crash(indexed_assistant, question, mode):
    t = time.monotonic()
    answer = indexed_assistant.ask(question, offline=True, mode=mode)
    assert time.monotonic() - t < 30
    assert _is_user_text(answer.answer), answer.answer[:200]
    assert "\x00" not in answer.answer and "\u202e" not in answer.answer
    data = answer.to_json()
    json.dumps(data, ensure_ascii=False)
    assert len(data["question"]) <= indexed_assistant.settings.max_question_chars
    md = to_markdown(answer)
    assert "<script>" not in md
    assert "<script>" not in docx_text(to_docx(answer)).replace("&lt;script&gt;", "")
    for c in answer.citations:
        assert c.quote and c.doc_id


@pytest.mark.unit
def test_long_question_is_cut_and_says_so(indexed_assistant):
    answer = indexed_assistant.ask(ODD["long"], offline=True)
    assert "问题过长" in answer.notice and "问题过长" in answer.answer
    assert len(answer.standalone_question) <= indexed_assistant.settings.max_question_chars


@pytest.mark.unit
def test_unknown_region_is_not_answered_with_another_region(indexed_assistant):
    answer = indexed_assistant.ask(ODD["unknown-region"], offline=True)
    if answer.found:  # if anything is quoted, it must say whose figures they are
        assert all(c.region for c in answer.citations)
    assert "北京" not in "".join(c.region for c in answer.citations)


@pytest.mark.unit
def test_odd_questions_keep_a_conversation_going(indexed_assistant):
    """The history as the chat page keeps it: every turn, including refused questions."""
    history: list[dict] = []
    for q in ["", "大连市建立了多少个网格？", "？？？", "那薛城呢？", ODD["english"]]:
        answer = indexed_assistant.ask(q, offline=True, history=history)
        assert _is_user_text(answer.answer)
        history += [
            {"role": "user", "content": q, "standalone_question": answer.standalone_question},
            {"role": "assistant", "content": answer.answer},
        ]
    follow = [h for h in history if h.get("content") == "那薛城呢？"][0]
    assert "薛城" in follow["standalone_question"] and "网格" in follow["standalone_question"]


@pytest.mark.integration
@pytest.mark.parametrize(
    "question, code",
    [("", 2), ("   ", 2), ("？？？", 0), (ODD["long"], 0), (ODD["english"], 0)],
    ids=["empty", "blank", "punctuation", "long", "english"],
)
def test_odd_questions_through_the_command(indexed_assistant, question, code):
    out = run_cli(["ask", question, "--offline", "--json"], indexed_assistant.settings.store_dir)
    assert out.returncode == code, out.stderr
    assert "Traceback" not in out.stderr
    if code == 0:
        assert _is_user_text(json.loads(out.stdout)["answer"])
    else:
        assert "请输入问题" in out.stderr
