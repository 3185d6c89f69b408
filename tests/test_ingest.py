"""Ingest is idempotent, replaces changed reports, refuses duplicates and bad files."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import REPORTS_DIR

pytestmark = pytest.mark.unit

DALIAN = "001_75dfd3e5621028d9.txt"
QINGSHAN = "002_99405c1be57e5253.txt"


def test_same_files_again_add_and_embed_nothing(fresh_assistant, tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    shutil.copy(REPORTS_DIR / DALIAN, folder)
    first = fresh_assistant.ingest_paths([folder])
    assert [r.status for r in first] == ["indexed"]
    count = fresh_assistant.store.count()
    embedded = fresh_assistant.store.embeddings.embedded_texts
    again = fresh_assistant.ingest_paths([folder])
    assert [r.status for r in again] == ["unchanged"]
    assert fresh_assistant.store.count() == count
    assert fresh_assistant.store.embeddings.embedded_texts == embedded


def test_sample_corpus_is_embedded_from_cache(fresh_assistant):
    """The seeded cache holds the corpus: indexing it again embeds no text."""
    results = fresh_assistant.ingest_paths([REPORTS_DIR])
    assert [r.status for r in results if r.name != "catalog.yaml"] == ["indexed"] * 5
    assert fresh_assistant.store.embeddings.embedded_texts == 0
    assert fresh_assistant.status()["documents"] == 5


def test_changed_file_replaces_its_chunks(fresh_assistant, tmp_path):
    path = tmp_path / "报告.txt"
    path.write_text("第一版的内容。社区建立了12个网格，成立了3个网格党组织。", encoding="utf-8")
    assert fresh_assistant.ingest_paths([path])[0].status == "indexed"
    path.write_text("第二版的内容。社区建立了15个网格，成立了4个网格党组织。", encoding="utf-8")
    result = fresh_assistant.ingest_paths([path])[0]
    assert result.status == "replaced"
    texts = [c.text for c in fresh_assistant.store.chunks_of(result.doc_id)]
    assert texts and all("第二版" in t for t in texts if "版" in t)
    assert not any("第一版" in t for t in texts)
    assert fresh_assistant.search("社区建立了多少个网格", k=3)[0].chunk.text.startswith("第二版")


def test_same_content_under_another_name_is_a_duplicate(fresh_assistant, tmp_path):
    shutil.copy(REPORTS_DIR / QINGSHAN, tmp_path / "copy_of_qingshan.txt")
    fresh_assistant.ingest_paths([REPORTS_DIR / QINGSHAN])
    count = fresh_assistant.store.count()
    result = fresh_assistant.ingest_paths([tmp_path / "copy_of_qingshan.txt"])[0]
    assert result.status == "duplicate" and "002_99405c1be57e5253" in result.reason
    assert fresh_assistant.store.count() == count


def test_bad_file_is_rejected_and_the_rest_still_indexes(fresh_assistant, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 20)
    shutil.copy(REPORTS_DIR / DALIAN, folder / DALIAN)
    results = {r.name: r for r in fresh_assistant.ingest_paths([folder])}
    assert results[DALIAN].status == "indexed"
    assert results["empty.txt"].status == "rejected" and results["empty.txt"].reason
    assert results["binary.txt"].status == "rejected"
    assert {d["doc_id"] for d in fresh_assistant.documents()} == {"001_75dfd3e5621028d9"}


def test_missing_path_is_rejected(fresh_assistant, tmp_path):
    result = fresh_assistant.ingest_paths([tmp_path / "nope.txt"])[0]
    assert result.status == "rejected" and "不存在" in result.reason


def test_remove(fresh_assistant):
    fresh_assistant.ingest_paths([REPORTS_DIR / DALIAN])
    assert fresh_assistant.retriever.regions() == ["大连市"]  # not every catalog entry
    assert fresh_assistant.remove("001_75dfd3e5621028d9") is True
    assert fresh_assistant.store.count() == 0
    fresh_assistant.retriever.refresh(force=True)
    assert fresh_assistant.retriever.regions() == []  # a removed report's region is gone
    assert fresh_assistant.search("网格", k=3) == []
    assert fresh_assistant.remove("001_75dfd3e5621028d9") is False


def test_report_without_catalog_entry_gets_inferred_metadata(fresh_assistant, tmp_path):
    path = tmp_path / "新报告.txt"
    path.write_text(
        "辽宁省鞍山市铁东区：网格党建见实效\n\n铁东区把党组织建在网格上，全区建立网格党支部120个。",
        encoding="utf-8",
    )
    result = fresh_assistant.ingest_paths([path])[0]
    assert result.status == "indexed"
    doc = next(d for d in fresh_assistant.documents() if d["doc_id"] == result.doc_id)
    assert doc["region"] == "铁东区" and doc["inferred"] is True
    fresh_assistant.update_metadata(result.doc_id, region="铁东区（鞍山）")
    assert fresh_assistant.search("网格党支部", k=1, regions=["铁东区（鞍山）"])


def test_a_text_without_a_title_line_is_listed_by_its_file_name(fresh_assistant, tmp_path):
    """A news story saved as plain text opens with its first paragraph: the report is
    listed and cited by its file name, never with an empty title."""
    path = tmp_path / "2024年滕州小区党建通讯.txt"
    path.write_text(
        "本报讯 近些年来，该市靶向发力加强居民小区党建工作，新组建216个小区党支部，"
        "下设4126个楼栋党小组。\n\n推动社区“两委”成员担任小区党支部书记，1739名社区工作者"
        "全面“定岗小区”。",
        encoding="utf-8",
    )
    result = fresh_assistant.ingest_paths([path])[0]
    assert result.status == "indexed"
    doc = next(d for d in fresh_assistant.documents() if d["doc_id"] == result.doc_id)
    assert doc["title"] == "2024年滕州小区党建通讯"
    from assistant.scope import Scope

    hit = fresh_assistant.search("小区党支部", k=1, scope=Scope(doc_ids=(result.doc_id,)))[0]
    assert hit.chunk.title == "2024年滕州小区党建通讯"


def test_upload_is_stored_under_a_generated_name(fresh_assistant, isolated_env):
    data = "关于社区“双报到”的报告。\n\n在职党员到社区报到服务，共解决问题30件。".encode("gbk")
    result = fresh_assistant.ingest_upload("../../prompts/system.md\x00.txt", data)
    assert result.status == "indexed", result.reason
    files = [p.name for p in (isolated_env / "uploads").iterdir()]
    assert files == [f"{result.doc_id}.txt"]
    assert "/" not in result.name and "\x00" not in result.name
    # The same name again with new content: a new version replaces the old one.
    data2 = "关于社区“双报到”的报告。\n\n在职党员到社区报到服务，共解决问题45件。".encode("gbk")
    again = fresh_assistant.ingest_upload("../../prompts/system.md\x00.txt", data2)
    assert again.status == "replaced" and again.doc_id == result.doc_id
    # A bad new version is rejected and the good old file stays.
    bad = fresh_assistant.ingest_upload("../../prompts/system.md\x00.txt", b"")
    assert bad.status == "rejected"
    assert (isolated_env / "uploads" / f"{result.doc_id}.txt").read_bytes() == data2


def test_every_file_of_a_folder_is_accounted_for(fresh_assistant, tmp_path):
    """Unsupported files are listed as skipped with the reason, never dropped silently;
    hidden files (editor backups, .DS_Store) are not reports."""
    folder = tmp_path / "报告"
    (folder / "子目录").mkdir(parents=True)
    shutil.copy(REPORTS_DIR / DALIAN, folder)
    (folder / "统计表.xlsx").write_bytes(b"PK\x03\x04 not really")
    (folder / "子目录" / "扫描件.tif").write_bytes(b"II*\x00")
    (folder / ".DS_Store").write_bytes(b"\x00\x01")
    results = fresh_assistant.ingest_paths([folder])
    by_name = {r.name: r for r in results}
    assert by_name[DALIAN].status == "indexed"
    for name, suffix in (("统计表.xlsx", ".xlsx"), ("子目录/扫描件.tif", ".tif")):
        r = by_name[name]
        assert r.status == "skipped" and r.ok and suffix in r.reason and ".docx" in r.reason
        assert "已跳过" in r.line()
    assert ".DS_Store" not in by_name and len(results) == 3


def test_a_case_in_a_compilation_answers_a_question_on_its_place(fresh_assistant, tmp_path):
    """A compilation takes its region from its first case; a question naming the place of
    a later case still finds, quotes and labels that case."""
    docs = tmp_path / "docs"  # not tmp_path itself: the test's store lives there too
    docs.mkdir()
    (docs / "上海流动党员.txt").write_text(
        "上海市：流动党员有了新家\n\n上海市组织部门推出流动党员报到码，实现党员抵沪一键报到。"
        "全市已有流动党员党组织120个。",
        encoding="utf-8",
    )
    (docs / "案例汇编.txt").write_text(
        "浙江省嘉兴市桐乡市：三治融合实践样本\n\n桐乡市推行自治、法治、德治融合，"
        "建立百姓议事会240个。\n\n"
        "上海市长宁区：社区云赋能基层治理\n\n长宁区依托社区云平台，6个部门业务整合，"
        "使入户重复走访减少24%，居民诉求办结率达到98%。",
        encoding="utf-8",
    )
    results = fresh_assistant.ingest_paths([docs])
    assert all(r.ok for r in results), [r.line() for r in results]
    ans = fresh_assistant.ask("上海的社区云平台让入户重复走访减少了多少？", offline=True)
    assert ans.found and "24%" in ans.answer[:200], ans.answer
    assert "**长宁区**" in ans.answer
