"""资料库: the indexed reports, a viewer with chunk boundaries, upload, metadata edits, removal."""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from assistant.ingest import REJECTED, STATUS_LABELS, IngestResult
from assistant.loading import SUPPORTED_SUFFIXES
from assistant.service import safe_display_name
from assistant.store import StoreBusy, StoreError
from ui import state
from ui.text import inert_label, inert_text, one_line
from ui.uploader import report_uploader, upload_limit_mb

log = logging.getLogger(__name__)

CHUNKS_PER_PAGE = 25
STATUS_SHOWN = {"indexed": "已索引"}

assistant = state.get_assistant()
docs = sorted(assistant.documents(), key=lambda d: (d.get("region", ""), d["doc_id"]))
by_id = {d["doc_id"]: d for d in docs}


def _label(doc_id: str) -> str:
    d = by_id.get(doc_id, {})
    title = d.get("title") or d.get("source") or doc_id
    return f"{d.get('region') or '未标注地区'} · {title}"


st.title("资料库")
total_chunks = sum(int(d.get("chunks") or 0) for d in docs)
st.caption(f"共 {len(docs)} 份报告、{total_chunks} 个段落。上传的报告可以修改地区和标题。")

if docs:
    table = pd.DataFrame(
        [
            {
                "地区": d.get("region") or "—",
                "标题": d.get("title") or "—",
                "类型": d.get("kind") or ("上传" if d["uploaded"] else "—"),
                "段落数": int(d.get("chunks") or 0),
                "状态": STATUS_SHOWN.get(d.get("status", ""), "索引不完整"),
                "原文件": d.get("source") or "—",
                "元数据": "自动识别" if d.get("inferred") else "已确认",
                "编号": d["doc_id"],
            }
            for d in docs
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
else:
    st.info("资料库还是空的：请在下方“上传报告”中添加报告。")

view_tab, upload_tab, edit_tab, remove_tab = st.tabs(
    ["查看报告", "上传报告", "修改信息", "删除报告"]
)

# ---- viewer -------------------------------------------------------------------------------

with view_tab:
    if not docs:
        st.caption("没有可查看的报告。")
    else:
        doc_id = st.selectbox(
            "选择报告",
            list(by_id),
            format_func=lambda i: one_line(_label(i), 90),
            key="view_doc",
        )
        try:
            meta, chunks = assistant.document_text(doc_id)
        except StoreError as exc:
            st.error(f"无法读取这份报告：{inert_text(str(exc))}")
            chunks = []
            meta = None
        if meta is not None:
            facts = [
                ("标题", meta.title),
                ("副标题", meta.subtitle),
                (
                    "地区",
                    " ".join(
                        dict.fromkeys(x for x in (meta.province, meta.city, meta.region) if x)
                    ),
                ),
                ("作者", meta.authors),
                ("类型", meta.kind),
                ("原文件", meta.source),
            ]
            st.markdown(
                "  \n".join(f"**{k}**：{inert_text(v)}" for k, v in facts if v) or "（没有元数据）"
            )
            pages = max(1, -(-len(chunks) // CHUNKS_PER_PAGE))
            page = 1
            if pages > 1:
                page = st.number_input(
                    f"页码（共 {pages} 页，每页 {CHUNKS_PER_PAGE} 段）",
                    min_value=1,
                    max_value=pages,
                    value=1,
                    key=f"view_page_{doc_id}",
                )
            st.caption(
                f"共 {len(chunks)} 个段落。每个方框是一个检索段落（回答时引用的单位），"
                "标出它在原文中的字符位置和所属章节。"
            )
            first = (int(page) - 1) * CHUNKS_PER_PAGE
            for i, c in enumerate(chunks[first : first + CHUNKS_PER_PAGE], start=first + 1):
                with st.container(border=True):
                    head = [f"段落 {i}", f"原文第 {c.start}–{c.end} 字"]
                    if c.section:
                        head.append("章节：" + inert_label(c.section, 60))
                    if c.kind != "body":
                        head.append("图片说明")
                    st.caption(" · ".join(head))
                    st.markdown(inert_text(c.text))

# ---- upload -------------------------------------------------------------------------------


def _upload(files: list) -> list[IngestResult]:
    results: list[IngestResult] = []
    bar = st.progress(0.0, text="准备索引……")
    count = len(files)
    for i, f in enumerate(files):
        name = safe_display_name(f.name)

        def progress(_: str, done: int, total: int, i: int = i, name: str = name) -> None:
            share = (i + (done / total if total else 1.0)) / count
            bar.progress(min(1.0, share), text=f"正在索引 {inert_text(name)}（{done}/{total} 段）")

        bar.progress(i / count, text=f"正在读取 {inert_text(name)}……")
        try:
            results.append(assistant.ingest_upload(f.name, f.getvalue(), progress))
        except StoreBusy:
            results.append(
                IngestResult(name, REJECTED, reason="另一个进程正在写入报告库，请稍后再上传。")
            )
        except StoreError as exc:
            results.append(IngestResult(name, REJECTED, reason=str(exc)))
        except Exception:
            log.exception("upload failed")
            results.append(IngestResult(name, REJECTED, reason="处理失败，请检查文件后重试。"))
    bar.progress(1.0, text="完成")
    return results


with upload_tab:
    kinds = " ".join(SUPPORTED_SUFFIXES)
    limit_mb = upload_limit_mb(assistant.settings.max_file_bytes)
    st.caption(
        f"支持 {kinds}，单个文件不超过 {limit_mb} MB。同名文件的新版本会替换旧版本，"
        "内容完全相同的文件会跳过。"
    )
    generation = st.session_state.setdefault("upload_generation", 0)
    files = report_uploader(
        f"选择报告文件（可多选，拖放到下面的框里或点框里的按钮选择；每个不超过 {limit_mb} MB）",
        key=f"uploader_{generation}",
        kinds=list(SUPPORTED_SUFFIXES),
        limit_mb=limit_mb,
        help=f"支持 {kinds}；单个文件不超过 {limit_mb} MB，超过的文件不会被索引。",
    )
    if st.button("开始索引", type="primary", disabled=not files, icon=":material/upload:"):
        st.session_state["upload_results"] = _upload(files)
        st.session_state["upload_generation"] = generation + 1
        st.rerun()
    results: list[IngestResult] = st.session_state.get("upload_results") or []
    if results:
        ok = sum(1 for r in results if r.ok)
        (st.success if ok == len(results) else st.warning)(
            f"处理了 {len(results)} 个文件：{ok} 个成功，{len(results) - ok} 个被拒绝。"
        )
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "文件": r.name,
                        "结果": STATUS_LABELS.get(r.status, r.status),
                        "段落数": r.chunks or None,
                        "说明": r.reason or "",
                    }
                    for r in results
                ]
            ),
            hide_index=True,
            width="stretch",
        )

# ---- metadata -----------------------------------------------------------------------------

with edit_tab:
    uploaded = [d for d in docs if d["uploaded"]]
    if not uploaded:
        st.caption("还没有上传的报告。示例报告的信息来自 data/reports/catalog.yaml。")
    else:
        doc_id = st.selectbox(
            "选择上传的报告",
            [d["doc_id"] for d in uploaded],
            format_func=lambda i: one_line(_label(i), 90),
            key="edit_doc",
        )
        current = by_id[doc_id]
        if current.get("inferred"):
            st.info("地区和标题是从正文自动识别的，请核对。", icon=":material/auto_fix_high:")
        with st.form(f"edit_{doc_id}"):
            region = st.text_input(
                "地区",
                value=current.get("region", ""),
                max_chars=40,
                help="已有地区：" + "、".join(assistant.retriever.regions()),
            )
            title = st.text_input("标题", value=current.get("title", ""), max_chars=200)
            if st.form_submit_button("保存", type="primary"):
                try:
                    assistant.update_metadata(
                        doc_id, region=" ".join(region.split()), title=" ".join(title.split())
                    )
                except StoreError as exc:
                    st.error(f"保存失败：{inert_text(str(exc))}")
                else:
                    st.session_state["library_notice"] = "已保存报告信息。"
                    st.rerun()

# ---- removal ------------------------------------------------------------------------------


def _ask_remove(doc_id: str) -> None:
    st.session_state["pending_remove"] = doc_id


def _cancel_remove() -> None:
    st.session_state.pop("pending_remove", None)


with remove_tab:
    if not docs:
        st.caption("没有可删除的报告。")
    else:
        doc_id = st.selectbox(
            "选择要删除的报告",
            list(by_id),
            format_func=lambda i: one_line(_label(i), 90),
            key="remove_doc",
        )
        pending = st.session_state.get("pending_remove")
        if pending != doc_id:
            st.button(
                "删除这份报告…", on_click=_ask_remove, args=(doc_id,), icon=":material/delete:"
            )
        else:
            st.warning(
                f"确定删除“{inert_label(_label(doc_id), 90)}”吗？它的全部段落会从检索中移除，"
                "之后的回答不再引用它。",
                icon=":material/warning:",
            )
            yes, no = st.columns(2)
            if yes.button("确认删除", type="primary", width="stretch"):
                try:
                    removed = assistant.remove(doc_id)
                except StoreError as exc:
                    st.error(f"删除失败：{inert_text(str(exc))}")
                else:
                    st.session_state.pop("pending_remove", None)
                    st.session_state["library_notice"] = (
                        "已删除报告。" if removed else "这份报告已经不在资料库中。"
                    )
                    st.rerun()
            no.button("取消", on_click=_cancel_remove, width="stretch")

notice = st.session_state.pop("library_notice", None)
if notice:
    st.toast(notice, icon=":material/check_circle:")
