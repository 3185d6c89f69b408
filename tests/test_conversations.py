"""Saved conversations: real answers stored in SQLite and read back after a restart."""

from __future__ import annotations

import re
import sqlite3
import threading

import pytest

from assistant.conversations import (
    ConversationStore,
    answer_from_record,
    answer_record,
    conversation_brief,
    conversation_docx,
    conversation_markdown,
    store_path,
    title_from,
)

pytestmark = pytest.mark.unit

GRID = "大连全市建立了多少个网格？"


@pytest.fixture(scope="module")
def answers(indexed_assistant):
    """A cited answer, its follow-up and a comparison from the real offline chain."""
    first = indexed_assistant.ask(GRID, offline=True)
    follow = indexed_assistant.ask(
        "那薛城区呢？",
        history=[
            {"role": "user", "content": GRID, "standalone_question": first.standalone_question},
            {"role": "assistant", "content": first.answer},
        ],
        offline=True,
    )
    compare = indexed_assistant.ask("发挥党员先锋模范作用", mode="compare", offline=True)
    assert first.citations and compare.regions
    return first, follow, compare


def test_answers_survive_a_restart_with_citations_and_regions(tmp_path, answers):
    first, follow, compare = answers
    path = tmp_path / "c.sqlite3"
    store = ConversationStore(path)
    cid = store.create()
    ids = [
        store.add_turn(cid, GRID, first),
        store.add_turn(cid, "那薛城区呢？", follow),
        store.add_turn(cid, compare.question, compare),
    ]
    assert ids == sorted(ids) and len(set(ids)) == 3

    reopened = ConversationStore(path)  # a new process reads the same file
    turns = reopened.turns(cid)
    assert [t.id for t in turns] == ids
    assert [t.question for t in turns] == [GRID, "那薛城区呢？", compare.question]
    for turn, original in zip(turns, answers, strict=True):
        assert answer_record(turn.answer) == answer_record(original)
        assert turn.answer.citations == original.citations
    restored = turns[2].answer
    assert [r.region for r in restored.regions] == [r.region for r in compare.regions]
    assert restored.regions[0].citations == compare.regions[0].citations
    assert restored.regions[0].figures == compare.regions[0].figures
    assert restored.standalone_question == compare.standalone_question
    assert not restored.retrieved  # the passages shown are the citations, not the hits


def test_title_comes_from_the_first_question_and_can_be_renamed(tmp_path, answers):
    store = ConversationStore(tmp_path / "c.sqlite3")
    cid = store.create()
    assert store.get(cid).title == ""
    store.add_turn(cid, "  " + GRID + "\n", answers[0])
    store.add_turn(cid, "那薛城区呢？", answers[1])
    assert store.get(cid).title == GRID
    assert store.get(cid).turns == 2
    assert store.rename(cid, "  网格  情况 ")
    assert store.get(cid).title == "网格 情况"
    assert not store.rename(cid, "   ")  # an empty title is refused, the old one kept
    assert store.get(cid).title == "网格 情况"
    long = "问" * 100
    assert len(title_from(long)) == 30 and title_from(long).endswith("…")
    assert title_from("") == "新对话"


def test_list_is_newest_first_and_search_reads_titles_questions_and_answers(tmp_path, answers):
    first, follow, compare = answers
    store = ConversationStore(tmp_path / "c.sqlite3")
    a = store.create()
    store.add_turn(a, GRID, first)
    b = store.create()
    store.add_turn(b, compare.question, compare)
    assert [c.id for c in store.list()] == [b, a]
    store.add_turn(a, "那薛城区呢？", follow)  # a newer turn moves it up
    assert [c.id for c in store.list()] == [a, b]

    assert [c.id for c in store.list(GRID)] == [a]  # in a question
    figure = "6331"
    assert figure in first.answer and figure not in compare.answer
    assert [c.id for c in store.list(figure)] == [a]  # only in an answer's text
    store.rename(b, "Party Members")
    assert [c.id for c in store.list("party")] == [b]  # title, Latin case ignored
    assert store.list("100%") == [] and store.list("_") == []  # wildcards are literal
    assert store.list("没有这样的词语组合") == []


def test_delete_removes_turns_and_feedback(tmp_path, answers):
    path = tmp_path / "c.sqlite3"
    store = ConversationStore(path)
    cid = store.create()
    turn = store.add_turn(cid, GRID, answers[0])
    store.set_feedback(turn, -1, "引用不对")
    assert store.delete(cid)
    assert store.get(cid) is None and store.turns(cid) == [] and store.feedback(turn) is None
    assert not store.delete(cid)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM turns").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM feedback").fetchone() == (0,)


def test_feedback_is_kept_with_its_question_and_replaced_by_a_later_one(tmp_path, answers):
    store = ConversationStore(tmp_path / "c.sqlite3")
    cid = store.create()
    turn = store.add_turn(cid, GRID, answers[0])
    assert store.feedback(turn) is None
    store.set_feedback(turn, 1)
    assert store.feedback(turn).rating == 1 and store.feedback(turn).comment == ""
    store.set_feedback(turn, -1, "  数字和原文不一致 ")
    kept = store.all_feedback()
    assert len(kept) == 1
    assert (kept[0].rating, kept[0].comment, kept[0].question) == (-1, "数字和原文不一致", GRID)
    assert "6331" in kept[0].answer_text
    assert (kept[0].answerer, kept[0].conversation_id) == (answers[0].answerer, cid)
    with pytest.raises(ValueError):
        store.set_feedback(turn, 0)


def test_sessions_write_at_once_without_losing_a_turn(tmp_path, answers):
    store = ConversationStore(tmp_path / "c.sqlite3")
    ids = [store.create() for _ in range(4)]
    errors: list[BaseException] = []

    def session(cid: str) -> None:
        try:
            own = ConversationStore(store.path)
            for i in range(10):
                own.add_turn(cid, f"问题{i}", answers[i % 3])
                own.list("问题")
                own.turns(cid)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(cid,)) for cid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert [len(store.turns(cid)) for cid in ids] == [10, 10, 10, 10]
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_conversation_exports_as_one_markdown_file(tmp_path, answers):
    first, follow, _ = answers
    store = ConversationStore(tmp_path / "c.sqlite3")
    cid = store.create()
    store.add_turn(cid, GRID, first)
    store.add_turn(cid, "那薛城区呢？", follow)
    md = conversation_markdown("网格情况", store.turns(cid), reports=5)
    lines = md.splitlines()
    assert lines[0] == "# 网格情况"
    assert f"## 问题1：{GRID}" in lines and "## 问题2：那薛城区呢？" in lines
    assert lines.count("### 参考资料") == 2 and lines.count("### 说明") == 2
    assert not [ln for ln in lines if ln.startswith("# ") and ln != "# 网格情况"]
    assert "6331" in md and "[1]" in md and "[^1]" not in md


def test_old_records_load_and_the_file_sits_beside_the_store(indexed_assistant, answers):
    record = answer_record(answers[0])
    record["citations"][0].pop("page", None)  # written before citations had pages
    record["field_of_a_newer_version"] = 1
    restored = answer_from_record(record)
    assert restored.citations[0].page == 0
    assert restored.answer == answers[0].answer
    assert store_path(indexed_assistant.settings).parent == indexed_assistant.settings.store_dir


def test_conversation_exports_as_one_word_document_numbered_on(tmp_path, answers):
    import io

    import docx

    first, follow, _ = answers
    store = ConversationStore(tmp_path / "c.sqlite3")
    cid = store.create()
    store.add_turn(cid, GRID, first)
    store.add_turn(cid, "那薛城区呢？", follow)
    turns = store.turns(cid)
    brief = conversation_brief("网格情况", turns, reports=5)
    n_first, n_follow = len(first.citations), len(follow.citations)
    assert [r.n for r in brief.references] == list(range(1, n_first + n_follow + 1))
    second = [
        b.text
        for b in brief.blocks[
            brief.blocks.index(next(b for b in brief.blocks if b.text == "问题2：那薛城区呢？")) :
        ]
    ]
    cited = {int(m) for t in second for m in re.findall(r"\[(\d+)\]", t)}
    assert cited and min(cited) == n_first + 1  # the follow-up's [1] is numbered on

    document = docx.Document(io.BytesIO(conversation_docx("网格情况", turns, reports=5)))
    text = "\n".join(p.text for p in document.paragraphs)
    assert f"问题1：{GRID}" in text and "问题2：那薛城区呢？" in text
    assert "6331" in text and "参考资料" in text and text.count("说明") >= 1
    section = document.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297  # A4
