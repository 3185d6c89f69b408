"""The bulk write path reads the report records once per batch and keeps them current; its
decisions must still see reports written earlier in the batch and by other store instances,
and a failed write must leave nothing half indexed."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest import DUPLICATE, INDEXED, REJECTED, UNCHANGED, collect_sources
from assistant.store import STATUS_INDEXING, DocRecord, chunk_key
from assistant.types import Chunk
from tests.conftest import make_settings

pytestmark = pytest.mark.unit


def _text(n: int) -> str:
    return f"第{n}号社区工作报告。社区建立了{n + 10}个网格，成立了{n + 3}个网格党组织。" * 3


def _files(folder: Path, contents: dict[str, str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in contents.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / name for name in contents]


def _prepared(assistant, paths: list[Path]):
    """Prepared reports with their vectors in the cache, ready for `Ingestor.write`."""
    sources, problems = collect_sources(paths)
    assert not problems
    ingestor = assistant.ingestor
    prepared = [ingestor.prepare(s) for s in sources]
    for p in prepared:
        assistant.store.embeddings.embed_documents([c.text for c in p.chunks])
    return prepared


def _other(isolated_env: Path):
    """A second Assistant on the same store folder (as another process would have)."""
    from assistant.service import Assistant

    return Assistant.from_settings(make_settings(isolated_env))


def test_a_copy_of_a_report_written_earlier_in_the_batch_is_a_duplicate(fresh_assistant, tmp_path):
    paths = _files(tmp_path / "r", {"a.txt": _text(1), "b.txt": _text(2), "c.txt": _text(1)})
    results = {r.name: r for r in fresh_assistant.ingest_paths(paths)}
    assert results["a.txt"].status == INDEXED and results["b.txt"].status == INDEXED
    assert results["c.txt"].status == DUPLICATE and results["c.txt"].doc_id == "a"
    assert fresh_assistant.store.record("c") is None


def test_reports_written_by_another_store_between_two_of_ours_are_seen(
    fresh_assistant, isolated_env, tmp_path, monkeypatch
):
    monkeypatch.setattr("assistant.store._ADD_BATCH", 1)  # one report per lock
    ours = _files(
        tmp_path / "ours",
        {"a.txt": _text(1), "b.txt": _text(2), "c.txt": _text(3), "d.txt": _text(4)},
    )
    theirs = _files(tmp_path / "theirs", {"x.txt": _text(3), "d.txt": _text(4)})
    prepared = _prepared(fresh_assistant, ours)
    other = _other(isolated_env)
    calls = []

    def between() -> None:
        calls.append(1)
        if len(calls) == 1:  # after our first report, before our second
            done = other.ingest_paths(theirs)
            assert [r.status for r in done] == [INDEXED, INDEXED]

    results = {r.name: r for r in fresh_assistant.ingestor.write(prepared, on_written=between)}
    assert results["a.txt"].status == INDEXED and results["b.txt"].status == INDEXED
    assert results["c.txt"].status == DUPLICATE and results["c.txt"].doc_id == "x"
    assert results["d.txt"].status == UNCHANGED  # the other wrote the same version of d
    assert {r.doc_id for r in fresh_assistant.store.records()} == {"a", "b", "x", "d"}


def test_a_record_left_by_a_writer_that_died_is_seen_and_its_chunks_replaced(
    fresh_assistant, isolated_env, tmp_path, monkeypatch
):
    """A new report's "indexing" record makes no new generation; a writer killed after it
    leaves the record and some chunks, which the next write of that report must find."""
    monkeypatch.setattr("assistant.store._ADD_BATCH", 1)  # one report per lock
    paths = _files(tmp_path / "r", {"a.txt": _text(1), "b.txt": _text(2)})
    prepared = _prepared(fresh_assistant, paths)
    other = _other(isolated_env).store
    b = prepared[1]
    stale = Chunk("stale-chunk", "b", "旧版本残留的段落。", "", "", "", 0, 0, 9)

    def between() -> None:
        if other.record("b") is None:
            with other.write_lock():
                other._put_record(DocRecord(b.meta, "older", STATUS_INDEXING, 0, 0.0), bump=False)
                other.add_chunks([stale], [chunk_key("b", "stale-chunk")])

    results = fresh_assistant.ingestor.write(prepared, on_written=between)
    assert [r.status for r in results] == [INDEXED, INDEXED]
    texts = [c.text for c in fresh_assistant.store.chunks_of("b")]
    assert stale.text not in texts and len(texts) == len(b.chunks)


def test_a_failed_write_mid_batch_leaves_nothing_half_indexed(fresh_assistant, tmp_path):
    paths = _files(
        tmp_path / "r", {"a.txt": _text(1), "b.txt": _text(2), "c.txt": _text(3), "d.txt": _text(2)}
    )
    prepared = _prepared(fresh_assistant, paths)
    store = fresh_assistant.store
    original = store.add_chunks

    def add_texts(chunks, ids):
        if any(c.doc_id == "b" for c in chunks):  # with the others, or alone
            original(chunks[:1], ids[:1])  # half written
            raise RuntimeError("disk full")
        return original(chunks, ids)

    store.add_chunks = add_texts
    results = {r.name: r for r in fresh_assistant.ingestor.write(prepared)}
    assert results["b.txt"].status == REJECTED
    assert store.record("b") is None and store.chunks_of("b") == []
    assert results["a.txt"].status == INDEXED and results["c.txt"].status == INDEXED
    # d has b's content: b never got in, so d is no copy of it
    assert results["d.txt"].status == INDEXED
    assert store.count() == sum(len(p.chunks) for p in prepared if p.source.doc_id != "b")


def test_a_failed_new_version_keeps_the_old_one(fresh_assistant, tmp_path):
    (path,) = _files(tmp_path / "r", {"a.txt": _text(1)})
    assert fresh_assistant.ingest_paths([path])[0].status == INDEXED
    before = sorted(c.text for c in fresh_assistant.store.chunks_of("a"))
    path.write_text(_text(5), encoding="utf-8")
    prepared = _prepared(fresh_assistant, [path])
    store = fresh_assistant.store

    def add_texts(*args, **kw):
        raise RuntimeError("disk full")

    store.add_chunks = add_texts
    assert [r.status for r in fresh_assistant.ingestor.write(prepared)] == [REJECTED]
    record = store.record("a")
    assert record.status == "indexed" and record.content_hash != prepared[0].content_hash
    assert sorted(c.text for c in store.chunks_of("a")) == before


def test_new_reports_go_in_together_under_one_lock_and_one_generation(fresh_assistant, tmp_path):
    paths = _files(tmp_path / "r", {f"{n}.txt": _text(n) for n in range(1, 6)})
    prepared = _prepared(fresh_assistant, paths)
    store = fresh_assistant.store
    bumps, locks = [], []
    bump, lock = store._bump, store.write_lock

    def counting_bump():
        bumps.append(1)
        return bump()

    def counting_lock():
        locks.append(1)
        return lock()

    store._bump, store.write_lock = counting_bump, counting_lock
    results = fresh_assistant.ingestor.write(prepared)
    assert [r.status for r in results] == [INDEXED] * 5
    assert len(locks) == 1 and len(bumps) == 1
    for p in prepared:
        record = store.record(p.source.doc_id)
        assert record.status == "indexed" and record.n_chunks == len(p.chunks)
        assert sorted(c.text for c in store.chunks_of(p.source.doc_id)) == sorted(
            c.text for c in p.chunks
        )
    # a copy in the same group is a duplicate of the report before it
    again = _files(tmp_path / "s", {"x.txt": _text(7), "y.txt": _text(7)})
    results = fresh_assistant.ingestor.write(_prepared(fresh_assistant, again))
    assert [r.status for r in results] == [INDEXED, DUPLICATE]
