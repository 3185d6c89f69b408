"""复制为简报: the answer as plain text to paste into Word/WPS, and .docx / .md / .txt files
(the same exports as `assistant ask --export`)."""

from __future__ import annotations

import logging
import re

import streamlit as st

from assistant.answers import Answer

log = logging.getLogger(__name__)
_UNSAFE_FILE = re.compile(r"[^\w\u4e00-\u9fff-]+")
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def markdown_of(answer: Answer, reports: int | None = None) -> str:
    from assistant.export import to_markdown

    return to_markdown(answer, reports)


def docx_of(answer: Answer, reports: int | None = None) -> bytes:
    from assistant.export import to_docx

    return to_docx(answer, reports=reports)


def text_of(answer: Answer, reports: int | None = None) -> str:
    from assistant.export import to_text

    return to_text(answer, reports)


def file_stem(answer: Answer) -> str:
    """A download name from the question: 简报-<first words>."""
    words = _UNSAFE_FILE.sub("_", answer.question or "").strip("_")[:24]
    return f"简报-{words}" if words else "简报"


def library_size() -> int | None:
    """How many reports the library holds now (for the brief's 说明), None if unknown."""
    from ui.state import get_assistant

    try:
        return len(get_assistant().retriever.documents()) or None
    except Exception:  # noqa: BLE001 - the count is a note in the brief, never worth a failure
        log.warning("library size unavailable for the brief", exc_info=True)
        return None


def render_export(answer: Answer, key: str) -> None:
    """The plain text in a code block (its copy button pastes cleanly into Word/WPS), and the
    brief as .docx (official format), .md and .txt downloads."""
    if not answer.answer:
        return
    reports = library_size()
    with st.expander("复制为简报", icon=":material/content_copy:"):
        st.caption(
            "右上角按钮可复制纯文本，直接粘贴到 Word/WPS，引用来源和说明附在文末；"
            "也可下载：.docx 为公文格式（A4、仿宋三号），.md 供 Markdown 编辑器使用。"
        )
        text = text_of(answer, reports)
        st.code(text, language=None, wrap_lines=True)
        stem = file_stem(answer)
        docx_col, md_col, txt_col = st.columns(3)
        docx_col.download_button(
            "下载 .docx",
            data=lambda: docx_of(answer, reports),
            file_name=f"{stem}.docx",
            mime=DOCX_MIME,
            key=f"docx_{key}",
            on_click="ignore",
            icon=":material/description:",
        )
        md_col.download_button(
            "下载 .md",
            data=markdown_of(answer, reports).encode("utf-8"),
            file_name=f"{stem}.md",
            mime="text/markdown",
            key=f"md_{key}",
            on_click="ignore",
            icon=":material/download:",
        )
        txt_col.download_button(
            "下载 .txt",
            # With a byte-order mark Word and Notepad open it as UTF-8 without asking.
            data=text.encode("utf-8-sig"),
            file_name=f"{stem}.txt",
            mime="text/plain",
            key=f"txt_{key}",
            on_click="ignore",
            icon=":material/article:",
        )
