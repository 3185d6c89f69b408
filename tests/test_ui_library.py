"""The 资料库 page in AppTest: the report table, the chunk viewer, upload, edits, removal."""

from __future__ import annotations

import pytest

from tests.ui_helpers import all_text, open_app, texts
from ui.uploader import dropzone_css, upload_limit_mb

pytestmark = pytest.mark.unit

NEW_REPORT = (
    "测试区基层党建工作报告\n\n"
    "测试区推行“红色物业”工作法，全区组建了128支党员志愿服务队，覆盖全部住宅小区。"
    "各社区党组织每月召开一次联席会议，协调解决物业服务中的难点问题。\n\n"
    "测试区还建立了党员积分管理制度，把党员参与志愿服务的情况纳入年度评议。"
).encode()


def _click(at, label: str):
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]


def test_table_lists_reports_with_chunk_counts(indexed_assistant):
    at = open_app(indexed_assistant, page="library")
    table = at.dataframe[0].value
    assert len(table) == 5
    assert set(table["地区"]) == {"薛城区", "大连市", "青山区", "清河门区", "浮山县"}
    assert (table["段落数"] > 0).all()
    assert "共 5 份报告" in all_text(at)


def test_viewer_shows_chunk_boundaries(indexed_assistant):
    at = open_app(indexed_assistant, page="library")
    at.selectbox(key="view_doc").select("001_75dfd3e5621028d9").run()
    _, chunks = indexed_assistant.document_text("001_75dfd3e5621028d9")
    heads = [c.value for c in at.caption if c.value.startswith("段落 ")]
    assert len(heads) == min(len(chunks), 25)
    assert heads[0].startswith("段落 1 · 原文第 ")
    assert f"原文第 {chunks[0].start}–{chunks[0].end} 字" in heads[0]


def test_upload_index_edit_and_remove(fresh_assistant):
    fresh_assistant.ingest_paths([fresh_assistant.settings.reports_dir])
    at = open_app(fresh_assistant, page="library")

    at.file_uploader[0].set_value(
        [
            ("测试区报告.txt", NEW_REPORT, "text/plain"),
            ("坏文件.pdf", b"\x89PNG\r\n\x1a\n not a pdf", "application/pdf"),
        ]
    )
    at.run()
    _click(at, "开始索引")
    results = at.dataframe[-1].value
    by_name = {r["文件"]: r for _, r in results.iterrows()}
    assert by_name["测试区报告.txt"]["结果"] == "已索引"
    assert by_name["坏文件.pdf"]["结果"] == "已拒绝" and by_name["坏文件.pdf"]["说明"]
    assert "1 个成功，1 个被拒绝" in all_text(at)
    docs = {d["doc_id"]: d for d in fresh_assistant.documents()}
    uploaded = [i for i in docs if i.startswith("upload_")]
    assert len(uploaded) == 1

    # the same file again: told it is unchanged, no second copy
    at.file_uploader[0].set_value(("测试区报告.txt", NEW_REPORT, "text/plain"))
    at.run()
    _click(at, "开始索引")
    assert at.dataframe[-1].value.iloc[0]["结果"] == "未变化，已跳过"

    # edit region and title of the upload
    at.selectbox(key="edit_doc").select(uploaded[0]).run()
    next(t for t in at.text_input if t.label == "地区").input("测试区")
    next(t for t in at.text_input if t.label == "标题").input("测试区红色物业报告")
    _click(at, "保存")
    meta, chunks = fresh_assistant.document_text(uploaded[0])
    assert meta.region == "测试区" and meta.title == "测试区红色物业报告"
    assert all(c.region == "测试区" for c in chunks)
    assert "测试区" in fresh_assistant.retriever.regions()

    # removal asks for confirmation first
    at.selectbox(key="remove_doc").select(uploaded[0]).run()
    _click(at, "删除这份报告…")
    assert uploaded[0] in {d["doc_id"] for d in fresh_assistant.documents()}
    assert any("确定删除" in w.value for w in at.warning)
    _click(at, "确认删除")
    assert uploaded[0] not in {d["doc_id"] for d in fresh_assistant.documents()}
    assert len(fresh_assistant.documents()) == 5


def test_cancel_removal_keeps_the_report(fresh_assistant):
    fresh_assistant.ingest_paths([fresh_assistant.settings.reports_dir])
    at = open_app(fresh_assistant, page="library")
    _click(at, "删除这份报告…")
    _click(at, "取消")
    assert len(fresh_assistant.documents()) == 5
    assert not any("确定删除" in w.value for w in at.warning)
    assert "\n".join(texts(at.main))


def test_upload_widget_speaks_chinese_with_the_real_limit(indexed_assistant):
    at = open_app(indexed_assistant, page="library")
    uploader = at.file_uploader[0]
    limit_mb = indexed_assistant.settings.max_file_bytes // (1024 * 1024)
    assert uploader.proto.max_upload_size_mb == limit_mb  # what the widget checks and says
    assert f"不超过 {limit_mb} MB" in uploader.label and "选择报告文件" in uploader.label
    assert f"{limit_mb} MB" in uploader.help
    assert any(f"单个文件不超过 {limit_mb} MB" in c.value for c in at.caption)
    # Streamlit's own English ("Upload", "20MB per file") is replaced by our CSS, scoped to
    # this widget and carrying the same limit.
    css = "\n".join(h.proto.body for h in at.get("html"))
    assert f".st-key-{uploader.key}" in css
    assert '"选择文件"' in css and f"每个文件不超过 {limit_mb} MB" in css
    assert "松开鼠标" in css and f"超过 {limit_mb} MB 或格式不支持" in css
    assert 'div[data-testid="stTooltipErrorContent"]' in css  # a refused file's tooltip


def test_upload_limit_is_the_smaller_of_app_and_server():
    mib = 1024 * 1024
    assert upload_limit_mb(20 * mib, server_cap_mb=50) == 20
    assert upload_limit_mb(100 * mib, server_cap_mb=20) == 20  # the server refuses more
    assert upload_limit_mb(int(15.5 * mib), server_cap_mb=50) == 15  # never above the check
    assert upload_limit_mb(1000, server_cap_mb=50) == 1


def test_dropzone_css_quotes_its_text():
    css = dropzone_css("uploader_0", 20, ['.t"x\\t'])
    assert 'T\\"X\\\\T' in css
