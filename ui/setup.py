"""Opening the Assistant and, on a fresh machine, indexing the sample reports."""

from __future__ import annotations

import logging
import threading

import streamlit as st

from assistant.catalog import CatalogError
from assistant.service import Assistant
from assistant.store import StoreError
from ui import state
from ui.text import inert_text

log = logging.getLogger(__name__)


def open_assistant() -> Assistant:
    """The shared Assistant, or a Chinese explanation and a stopped page."""
    try:
        return state.get_assistant()
    except (StoreError, CatalogError) as exc:
        st.error(f"无法打开报告库：{inert_text(str(exc))}", icon=":material/error:")
    except Exception:
        log.exception("opening the assistant failed")
        st.error(
            "无法启动问答助手。请检查 `.env` 中的存储和模型设置（参见 `.env.example`），"
            "然后刷新页面。",
            icon=":material/error:",
        )
    st.stop()
    raise AssertionError("unreachable")


@st.cache_resource
def _first_index_lock(assistant_id: int) -> threading.Lock:
    """One session indexes the sample corpus; the others wait for it."""
    return threading.Lock()


def read_status(assistant: Assistant) -> dict:
    try:
        return assistant.status()
    except StoreError as exc:
        st.error(f"报告库暂时不可用：{inert_text(str(exc))}", icon=":material/error:")
        st.stop()
        raise


def ensure_corpus(assistant: Assistant) -> dict:
    """Status of the store; an empty store is filled with the sample reports first."""
    status = read_status(assistant)
    if status["documents"]:
        return status
    reports = assistant.settings.reports_dir
    lock = _first_index_lock(id(assistant))
    box = st.container(border=True)
    box.info(
        "报告库是空的：这是第一次启动。正在索引示例报告，完成后即可提问（约需一两分钟）。",
        icon=":material/hourglass_top:",
    )
    if not lock.acquire(blocking=False):
        box.caption("另一个页面正在建立索引，请稍候……")
        with lock:
            pass
        return read_status(assistant)
    try:
        if read_status(assistant)["documents"]:
            return read_status(assistant)
        bar = box.progress(0.0, text="准备中……")

        def progress(name: str, done: int, total: int) -> None:
            share = done / total if total else 1.0
            bar.progress(min(1.0, share), text=f"正在索引 {inert_text(name)}（{done}/{total} 段）")

        try:
            results = assistant.ingest_paths([reports], progress)
        except StoreError as exc:
            box.error(f"索引失败：{inert_text(str(exc))}", icon=":material/error:")
            st.stop()
        bar.progress(1.0, text="索引完成")
        failed = [r for r in results if not r.ok]
        if not results:
            box.warning(
                f"示例报告文件夹里没有可索引的文件。请在“资料库”页上传报告，"
                f"或检查 ASSISTANT_REPORTS_DIR（当前：{inert_text(str(reports))}）。"
            )
        for r in failed:
            box.warning(f"{inert_text(r.name)}：{inert_text(r.reason)}")
    finally:
        lock.release()
    status = read_status(assistant)
    if status["documents"]:
        box.success(f"已索引 {status['documents']} 份报告。", icon=":material/check_circle:")
    return status
