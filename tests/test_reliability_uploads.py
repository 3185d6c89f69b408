"""Issue 5, bad input: hostile uploads, size limits, file names and duplicates, through
`Assistant.ingest_upload` (the UI's path) and `assistant ingest` (the CLI's path)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from assistant.service import Assistant
from tests.conftest import REPORTS_DIR, make_settings
from tests.reliability_helpers import (
    BAD_REASONS,
    REPORT_TEXT,
    bad_files,
    docx_bytes,
    good_files,
    run_cli,
    tree_hash,
)

GENERATED = re.compile(r"^upload_[0-9a-f]{16}(\.[a-z0-9]{1,9})?$")


def assert_store_consistent(assistant: Assistant) -> None:
    """Every stored chunk belongs to a fully indexed report, and each report has all of its own."""
    records = assistant.store.records()
    assert [r.doc_id for r in records if r.status != "indexed"] == []
    chunks = list(assistant.store.all_chunks())
    ids = [c.chunk_id for c in chunks]
    assert len(ids) == len(set(ids)), "a chunk is stored twice"
    by_doc: dict[str, int] = {}
    for c in chunks:
        by_doc[c.doc_id] = by_doc.get(c.doc_id, 0) + 1
    assert by_doc == {r.doc_id: r.n_chunks for r in records if r.n_chunks}
    assert assistant.store.count() == sum(r.n_chunks for r in records)


# ---- bad and oddly encoded files ------------------------------------------------------------


@pytest.mark.unit
def test_uploads_each_indexed_or_rejected_with_a_reason(fresh_assistant, isolated_env):
    results = {}
    for name, data in {**bad_files(), **{n: d for n, (d, _) in good_files().items()}}.items():
        results[name] = fresh_assistant.ingest_upload(name, data)

    for name, keyword in BAD_REASONS.items():
        r = results[name]
        assert r.status == "rejected", (name, r)
        assert keyword in r.reason, (name, r.reason)
        assert re.search(r"[\u4e00-\u9fff]", r.reason) and "Traceback" not in r.reason
    for name, (_, marker) in good_files().items():
        r = results[name]
        assert r.status == "indexed", (name, r.reason)
        text = "".join(c.text for c in fresh_assistant.store.chunks_of(r.doc_id))
        assert marker in text and "\ufffd" not in text and "\ufeff" not in text
        assert "群众满意率达到98%" in text, name
    # Only accepted uploads are kept, each under its generated name; no leftovers.
    kept = sorted(p.name for p in (isolated_env / "uploads").iterdir())
    expected = sorted(f"{results[n].doc_id}{Path(n).suffix}" for n in good_files())
    assert kept == expected
    assert_store_consistent(fresh_assistant)
    assert {d["doc_id"] for d in fresh_assistant.documents()} == {
        results[n].doc_id for n in good_files()
    }
    hit = fresh_assistant.search("朝阳社区档案用什么编码保存", k=3)
    assert any("䶮" in p.chunk.text for p in hit)


@pytest.mark.integration
def test_cli_batch_with_bad_files_indexes_the_rest(seeded_cache, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    for name, data in bad_files().items():
        (folder / name).write_bytes(data)
    for name, (data, _) in good_files().items():
        (folder / name).write_bytes(data)
    shutil.copy(REPORTS_DIR / "002_99405c1be57e5253.txt", folder)

    out = run_cli(["ingest", "--json", str(folder)], seeded_cache)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    for name, keyword in BAD_REASONS.items():
        assert rows[name]["status"] == "rejected" and keyword in rows[name]["reason"], rows[name]
    for name in [*good_files(), "002_99405c1be57e5253.txt"]:
        assert rows[name]["status"] == "indexed", rows[name]

    out = run_cli(["ingest", str(folder)], seeded_cache)  # the plain text lines say the same
    lines = dict(line.split("\t", 1) for line in out.stdout.splitlines())
    assert lines["encrypted.pdf"].startswith("rejected\t已拒绝：PDF 已加密")
    assert lines["gbk.txt"].startswith("unchanged")

    status = json.loads(run_cli(["status", "--json"], seeded_cache).stdout)
    assert status["documents"] == 6 and status["incomplete"] == []


@pytest.mark.unit
def test_failed_write_leaves_no_partial_chunks(fresh_assistant, tmp_path, monkeypatch):
    """The store fails halfway through a report: nothing of it stays, the batch goes on."""
    import assistant.store as store_mod

    monkeypatch.setattr(store_mod, "_ADD_BATCH", 2)
    calls = {"n": 0}
    original = fresh_assistant.store.add_chunks

    def flaky_add(chunks, ids):
        calls["n"] += 1
        if any("第二份" in c.text for c in chunks) and calls["n"] % 2 == 0:
            raise RuntimeError("disk I/O error")
        return original(chunks, ids)

    monkeypatch.setattr(fresh_assistant.store, "add_chunks", flaky_add)
    folder = tmp_path / "two"
    folder.mkdir()
    long_report = "\n\n".join(
        f"第二份报告第{i}段。" + "社区党组织开展服务活动。" * 30 for i in range(8)
    )
    (folder / "a_first.txt").write_text(REPORT_TEXT, encoding="utf-8")
    (folder / "b_second.txt").write_text(long_report, encoding="utf-8")
    results = {r.name: r for r in fresh_assistant.ingest_paths([folder])}
    assert results["a_first.txt"].status == "indexed"
    assert results["b_second.txt"].status == "rejected" and results["b_second.txt"].reason
    assert fresh_assistant.store.record("b_second") is None
    assert fresh_assistant.store.chunks_of("b_second") == []
    assert_store_consistent(fresh_assistant)


@pytest.mark.unit
def test_failed_replace_keeps_the_old_version(fresh_assistant, tmp_path, monkeypatch):
    import assistant.store as store_mod

    path = tmp_path / "东风社区.txt"
    path.write_text(REPORT_TEXT, encoding="utf-8")
    first = fresh_assistant.ingest_paths([path])[0]
    assert first.status == "indexed"
    before = sorted(c.chunk_id for c in fresh_assistant.store.chunks_of(first.doc_id))

    monkeypatch.setattr(store_mod, "_ADD_BATCH", 1)
    original = fresh_assistant.store.add_chunks
    calls = {"n": 0}

    def flaky_add(chunks, ids):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk I/O error")
        return original(chunks, ids)

    monkeypatch.setattr(fresh_assistant.store, "add_chunks", flaky_add)
    v2 = "\n\n".join(f"第{i}段：新版本补充了社区党组织的服务活动情况。" * 12 for i in range(6))
    path.write_text(REPORT_TEXT.replace("126个", "200个") + "\n\n" + v2, encoding="utf-8")
    again = fresh_assistant.ingest_paths([path])[0]
    assert again.status == "rejected"
    record = fresh_assistant.store.record(first.doc_id)
    assert record.status == "indexed"
    assert sorted(c.chunk_id for c in fresh_assistant.store.chunks_of(first.doc_id)) == before
    assert any("126个" in p.chunk.text for p in fresh_assistant.search("认领微心愿多少个", k=3))
    assert_store_consistent(fresh_assistant)


# ---- size limits ----------------------------------------------------------------------------


@pytest.mark.unit
def test_oversized_upload_is_refused_before_it_is_written(isolated_env, seeded_cache):
    assistant = Assistant.from_settings(make_settings(isolated_env, max_file_bytes=64 * 1024))
    result = assistant.ingest_upload("big.txt", ("社区网格。" * 20000).encode("utf-8"))
    assert result.status == "rejected" and "大小上限" in result.reason
    assert not (isolated_env / "uploads").exists() or not any((isolated_env / "uploads").iterdir())
    assert assistant.store.count() == 0


@pytest.mark.unit
def test_huge_file_on_disk_is_refused_without_reading_it(fresh_assistant, tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as fh:  # sparse: 4 GB on paper, nothing on disk
        fh.truncate(4 * 1024**3)
    tracemalloc.start()
    try:
        result = fresh_assistant.ingest_paths([path])[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == "rejected" and "太大" in result.reason
    assert peak < 50 * 1024**2


def _docx_bomb(path: Path, xml_bytes: int, lie_about_size: bool = False) -> None:
    """A real .docx whose document.xml inflates to `xml_bytes` of repeated paragraphs."""
    template = zipfile.ZipFile(io.BytesIO(docx_bytes(["模板"])))
    para = "<w:p><w:r><w:t>" + "党建引领基层治理" * 64 + "</w:t></w:r></w:p>"
    para_b = para.encode("utf-8")
    head = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body>"
    )
    tail = b"</w:body></w:document>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in template.infolist():
            if info.filename == "word/document.xml":
                with out.open(info.filename, "w") as fh:
                    fh.write(head)
                    block = para_b * 2048
                    written = len(head)
                    while written < xml_bytes:
                        fh.write(block)
                        written += len(block)
                    fh.write(tail)
            else:
                out.writestr(info, template.read(info.filename))
    if lie_about_size:
        # Claim the part is tiny: the loader must not trust the header and inflate it all.
        data = bytearray(path.read_bytes())
        pos = data.find(b"PK\x01\x02")
        while pos >= 0:
            name_len = int.from_bytes(data[pos + 28 : pos + 30], "little")
            if bytes(data[pos + 46 : pos + 46 + name_len]) == b"word/document.xml":
                data[pos + 24 : pos + 28] = (1000).to_bytes(4, "little")
            pos = data.find(b"PK\x01\x02", pos + 4)
        path.write_bytes(bytes(data))


@pytest.mark.unit
@pytest.mark.parametrize("lie", [False, True], ids=["honest-header", "lying-header"])
def test_docx_bomb_is_refused_before_inflating(fresh_assistant, tmp_path, lie):
    path = tmp_path / "bomb.docx"
    _docx_bomb(path, 200 * 1024**2, lie_about_size=lie)
    assert path.stat().st_size < 2 * 1024**2  # small on disk ...
    tracemalloc.start()
    try:
        result = fresh_assistant.ingest_paths([path])[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == "rejected", result  # ... but 200 MB of XML inside
    assert "Word" in result.reason
    assert peak < 64 * 1024**2, f"peak {peak / 1024**2:.0f} MB"
    assert fresh_assistant.store.count() == 0


@pytest.mark.unit
def test_text_and_chunk_limits_come_from_settings(isolated_env, seeded_cache, tmp_path):
    assistant = Assistant.from_settings(
        make_settings(isolated_env, max_chars=50_000, max_chunks_per_file=20)
    )
    long_docx = tmp_path / "长文.docx"
    long_docx.write_bytes(docx_bytes(["社区党组织开展志愿服务。" * 100] * 60))  # 72,000 chars
    many = tmp_path / "多段.txt"
    many.write_text(
        "\n\n".join(f"第{i}段：社区党组织开展志愿服务。" * 20 for i in range(60)), "utf-8"
    )
    results = {r.name: r for r in assistant.ingest_paths([long_docx, many])}
    assert results["长文.docx"].status == "rejected" and "上限" in results["长文.docx"].reason
    assert results["多段.txt"].status == "rejected" and "片段超过上限" in results["多段.txt"].reason
    assert assistant.store.count() == 0 and assistant.store.records() == []


# ---- names ----------------------------------------------------------------------------------

HOSTILE_NAMES = [
    "../../prompts/system.md",
    "../../../../../../tmp/evil.txt",
    "/etc/cron.d/job.txt",
    "C:\\Windows\\System32\\drivers\\etc\\hosts.txt",
    "report\x00.txt",
    "a\x00/../../b.md",
    "报" * 100 + ".txt",  # 300 bytes of name before the suffix
    "a" * 300 + ".txt",
    "东风社区“双报到”工作报告（2023年）.txt",
    "<img src=x onerror=alert(1)>.md",
    ".hidden.txt",
]


@pytest.mark.unit
def test_hostile_names_stay_inside_the_upload_folder(fresh_assistant, isolated_env, tmp_path):
    # Decoys where a path-following implementation would write.
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "system.md").write_text("decoy", encoding="utf-8")
    uploads = isolated_env / "uploads"
    store = isolated_env / "vectorstore"
    before = tree_hash(tmp_path, exclude=(uploads, store))
    shipped = tree_hash(REPORTS_DIR.parent.parent / "prompts")

    results = []
    for i, name in enumerate(HOSTILE_NAMES):
        data = REPORT_TEXT.replace("126个", f"{100 + i}个").encode("utf-8")
        results.append(fresh_assistant.ingest_upload(name, data))

    assert tree_hash(tmp_path, exclude=(uploads, store)) == before
    assert tree_hash(REPORTS_DIR.parent.parent / "prompts") == shipped
    assert all(r.status == "indexed" for r in results), [r.line() for r in results]
    assert len({r.doc_id for r in results}) == len(HOSTILE_NAMES)
    kept = sorted(p.name for p in uploads.iterdir())
    assert all(GENERATED.match(n) for n in kept), kept
    assert len(kept) == len(HOSTILE_NAMES)
    for p in uploads.iterdir():
        assert p.resolve().parent == uploads.resolve() and p.is_file() and not p.is_symlink()

    sources = {r.doc_id: fresh_assistant.store.record(r.doc_id).meta.source for r in results}
    for r in results:
        source = sources[r.doc_id]
        assert source == r.name
        assert not re.search(r"[/\\\x00-\x1f<>]", source), source
        assert ".." not in source.split("/") and len(source) <= 120
        assert not os.path.isabs(source)
    assert sources[results[8].doc_id] == "东风社区“双报到”工作报告（2023年）.txt"
    # Chunks carry no path either.
    for c in fresh_assistant.store.all_chunks():
        assert "/" not in c.doc_id and "\x00" not in c.title


@pytest.mark.unit
@pytest.mark.parametrize("name", ["", "..", "../", "/", "\x00", "   "])
def test_nameless_uploads_are_refused_clearly(fresh_assistant, isolated_env, name):
    result = fresh_assistant.ingest_upload(name, REPORT_TEXT.encode("utf-8"))
    assert result.status == "rejected" and "文件类型" in result.reason
    assert fresh_assistant.store.count() == 0
    leftovers = list((isolated_env / "uploads").iterdir())
    assert leftovers == []


@pytest.mark.unit
def test_names_that_map_to_one_document_id_are_not_silently_merged(fresh_assistant, tmp_path):
    folder = tmp_path / "同名"
    folder.mkdir()
    (folder / "东风社区（2023）.txt").write_text(REPORT_TEXT, encoding="utf-8")
    (folder / "东风社区(2023).txt").write_text(
        REPORT_TEXT.replace("东风", "西风"), encoding="utf-8"
    )
    results = fresh_assistant.ingest_paths([folder])
    indexed = [r for r in results if r.status == "indexed"]
    others = [r for r in results if r.status != "indexed"]
    assert len(indexed) == 1 and len(others) == 1
    assert others[0].status == "rejected" and "改名" in others[0].reason
    assert indexed[0].name in others[0].reason
    assert_store_consistent(fresh_assistant)


# ---- duplicates -----------------------------------------------------------------------------


@pytest.mark.unit
def test_upload_duplicates_keep_exactly_one_set_of_chunks(fresh_assistant, isolated_env):
    a = fresh_assistant.ingest_upload("东风社区.txt", REPORT_TEXT.encode("utf-8"))
    assert a.status == "indexed"
    n = fresh_assistant.store.count()

    same = fresh_assistant.ingest_upload("东风社区.txt", REPORT_TEXT.encode("utf-8"))
    assert same.status == "unchanged" and same.doc_id == a.doc_id
    assert "未变化" in same.line()

    twin = fresh_assistant.ingest_upload("副本.txt", REPORT_TEXT.encode("gbk"))  # same text
    assert twin.status == "duplicate" and twin.doc_id == a.doc_id
    assert "东风社区.txt" in twin.reason, twin.reason  # named as the user knows it
    assert "内容重复" in twin.line()
    assert fresh_assistant.store.count() == n

    v2 = REPORT_TEXT.replace("126个", "150个")
    new = fresh_assistant.ingest_upload("东风社区.txt", v2.encode("utf-8"))
    assert new.status == "replaced" and new.doc_id == a.doc_id
    assert "替换旧版本" in new.line()
    text = "".join(c.text for c in fresh_assistant.store.chunks_of(a.doc_id))
    assert "150个" in text and "126个" not in text
    assert [d["doc_id"] for d in fresh_assistant.documents()] == [a.doc_id]
    assert_store_consistent(fresh_assistant)
    kept = [p.name for p in (isolated_env / "uploads").iterdir()]
    assert kept == [f"{a.doc_id}.txt"]
    assert (isolated_env / "uploads" / kept[0]).read_text(encoding="utf-8") == v2


@pytest.mark.integration
def test_cli_duplicates_are_named_for_the_user(seeded_cache, tmp_path):
    folder = tmp_path / "dups"
    folder.mkdir()
    src = REPORTS_DIR / "002_99405c1be57e5253.txt"
    shutil.copy(src, folder / "青山区.txt")
    shutil.copy(src, folder / "青山区（副本）.txt")  # same content in the same batch

    def ingest() -> dict[str, list[str]]:
        out = run_cli(["ingest", str(folder)], seeded_cache)
        assert "Traceback" not in out.stderr
        return {line.split("\t")[0]: line.split("\t")[1:] for line in out.stdout.splitlines()}

    first = ingest()
    assert first["青山区.txt"][0] == "indexed"
    assert first["青山区（副本）.txt"][0] == "duplicate"
    assert (
        "内容重复" in first["青山区（副本）.txt"][1]
        and "青山区.txt" in first["青山区（副本）.txt"][1]
    )

    second = ingest()
    assert second["青山区.txt"][0] == "unchanged"
    assert second["青山区（副本）.txt"][0] == "duplicate"

    text = src.read_text(encoding="utf-8")
    (folder / "青山区.txt").write_text(text.replace("1100", "1200"), encoding="utf-8")
    third = ingest()
    assert third["青山区.txt"][0] == "replaced" and "替换旧版本" in third["青山区.txt"][1]
    # The copy now differs from the stored version: it is a report of its own.
    assert third["青山区（副本）.txt"][0] == "indexed"

    status = json.loads(run_cli(["status", "--json"], seeded_cache).stdout)
    assert status["documents"] == 2 and status["incomplete"] == []
