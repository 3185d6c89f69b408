"""How one Answer is shown: text with [n], marked unsupported sentences, 来源, copy/export."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import pandas as pd
import streamlit as st

from assistant.answers import NOT_COVERED, Answer, Citation
from assistant.citations import citing_sentences, quoted_spans
from assistant.types import Chunk
from ui import exports
from ui.text import highlight, inert_label, inert_markdown, inert_text, mark

NOT_COVERED_SHORT = "未涉及"
ChunkLookup = Callable[[str], list[Chunk]]  # doc_id -> the report's chunks in order
_MARKER = re.compile(r"\[(\d+)\]")
_LIST_PREFIX = re.compile(r"\s*(?:[-*+]\s+|\d{1,2}[.)、]\s*|#{1,6}\s+|>\s*)")
_SENTENCE = re.compile(r"[^。！？!?\n]+(?:[。！？!?]+|$)(?:\s*\[\d+\])*")
# A citation marker as inert_markdown writes it: `[1]` becomes `\[1\]`.
_ESCAPED_MARKER = re.compile(r"\\\[(\d+)\\\]")
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")


def render_answer(
    answer: Answer,
    key: str,
    *,
    chart: bool = False,
    chunks: ChunkLookup | None = None,
) -> None:
    """The whole answer block inside a chat message (or a page); `chunks` reads a report's
    indexed chunks (for 第N段 and 查看原文), without it the cited passage stands alone."""
    if answer.notice and answer.notice not in (answer.answer or ""):
        st.warning(inert_text(answer.notice), icon=":material/warning:")
    if answer.mode == "compare" and answer.regions:
        render_compare_table(answer)
        if chart:
            render_evidence_chart(answer)
        with st.expander("逐地区说明（报告原文摘录）", expanded=not chart):
            st.markdown(answer_markdown(answer, key))
    else:
        st.markdown(answer_markdown(answer, key))
    render_citation_links(answer, key, chunks)
    show_context(answer, key, chunks)
    render_unsupported(answer)
    if not answer.complete and answer.partial:
        with st.expander("模型中断前的输出（不完整、未核对，请勿引用）"):
            st.markdown(inert_text(answer.partial))
    render_sources(answer, key, chunks)
    render_export(answer, key)


def anchor_id(key: str, n: int) -> str:
    """The HTML id of source [n] of the answer shown under `key` (our own characters only)."""
    return f"cite-{_UNSAFE_ID.sub('-', key)}-{int(n)}"


def _linked(markdown: str, key: str | None, numbers: set[int]) -> str:
    """Each [n] of a cited source as a link to that source below the answer: the browser
    scrolls there and opens its (closed) expander. Only `#cite-…` hrefs we build."""
    if key is None or not numbers:
        return markdown

    def link(m: re.Match) -> str:
        n = int(m.group(1))
        return f"[{m.group(0)}](#{anchor_id(key, n)})" if n in numbers else m.group(0)

    return _ESCAPED_MARKER.sub(link, markdown)


def answer_markdown(answer: Answer, key: str | None = None) -> str:
    """The answer text made inert, with sentences the citation check could not back marked;
    with `key`, each [n] links to its source under the answer."""
    text = answer.answer or ""
    numbers = {c.n for c in answer.citations}
    spans = _unsupported_spans(text, [u.sentence for u in answer.unsupported])
    if not spans:
        return _linked(inert_markdown(text), key, numbers)
    out: list[str] = []
    pos = 0
    for start, end in spans:
        out.append(_linked(inert_markdown(text[pos:start]), key, numbers))
        # Inside a colour directive a link's brackets could end it early: no links there.
        out.append(mark(inert_markdown(text[start:end]), "red") + " :red[⚠ 未核实]")
        pos = end
    out.append(_linked(inert_markdown(text[pos:]), key, numbers))
    return "".join(out)


def _unsupported_spans(text: str, sentences: Iterable[str]) -> list[tuple[int, int]]:
    """Where the flagged sentences are in the answer (the check reports them without [n])."""
    plain_chars: list[str] = []
    origin: list[int] = []  # position in `text` of each character of the marker-free text
    pos = 0
    for m in _MARKER.finditer(text):
        plain_chars.extend(text[pos : m.start()])
        origin.extend(range(pos, m.start()))
        pos = m.end()
    plain_chars.extend(text[pos:])
    origin.extend(range(pos, len(text)))
    plain = "".join(plain_chars)
    spans: list[tuple[int, int]] = []
    for sentence in sentences:
        sentence = _MARKER.sub("", sentence).strip()
        start = plain.find(sentence) if sentence else -1
        if start == -1:
            continue
        end = start + len(sentence)
        span_start, span_end = origin[start], origin[end - 1] + 1
        # Keep a list bullet or heading mark outside the mark, so the line stays a list item.
        prefix = _LIST_PREFIX.match(text, span_start)
        if prefix and (span_start == 0 or text[span_start - 1] == "\n"):
            span_start = min(prefix.end(), span_end)
        spans.append((span_start, span_end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _without_bullet(line: str) -> str:
    m = _LIST_PREFIX.match(line)
    return line[m.end() :] if m else line


def render_unsupported(answer: Answer) -> None:
    if not answer.unsupported:
        return
    lines = [
        f"- {inert_markdown(_without_bullet(u.sentence))} —— {inert_text(u.reason)}"
        for u in answer.unsupported
    ]
    st.warning(
        f"**{len(answer.unsupported)} 处内容未能与所引原文核对**，写入简报前请对照来源：\n\n"
        + "\n".join(lines),
        icon=":material/fact_check:",
    )


# ---- 来源 ---------------------------------------------------------------------------------


def source_title(c: Citation) -> str:
    region = c.region or "未标注地区"
    return f"[{c.n}] {inert_label(region, 20)} · {inert_label(c.title or c.doc_id, 60)}"


def _chunk(c: Citation, lookup: ChunkLookup | None) -> tuple[int | None, list[Chunk]]:
    """The indexed chunk a citation points at, or None (report removed or re-indexed)."""
    if lookup is None:
        return None, []
    try:
        chunks = lookup(c.doc_id)
    except Exception:  # noqa: BLE001 - the citation itself still shows its passage
        return None, []
    for i, chunk in enumerate(chunks):
        if chunk.chunk_id == c.chunk_id:
            return i, chunks
    return None, chunks


def location(c: Citation, paragraph: int | None = None) -> str:
    """报告 · 章节 · 第N页 (paged sources) or 第N段, as plain text; never character offsets."""
    from assistant.export import source_of

    where = source_of(c)
    page = getattr(c, "page", 0) or 0
    if not (isinstance(page, int) and page > 0) and paragraph is not None:
        where += f" · 第{paragraph + 1}段"
    return where


def _location_of(c: Citation, lookup: ChunkLookup | None) -> str:
    index, chunks = _chunk(c, lookup)
    paragraph = chunks[index].paragraph if index is not None else None
    return location(c, paragraph)


def cited_spans(c: Citation, answer_text: str) -> list[tuple[int, int]]:
    return quoted_spans(c.quote, citing_sentences(answer_text, c.n))


def render_citation_links(answer: Answer, key: str, lookup: ChunkLookup | None = None) -> None:
    """A row of [n] right under the answer: each opens the quoted words, where they are, and
    a button to the passage in its report."""
    from assistant.export import cited_words

    if not answer.citations:
        return
    text = (
        (answer.answer or "")
        + "\n"
        + "\n".join(
            [r.practice for r in answer.regions] + [f for r in answer.regions for f in r.figures]
        )
    )
    with st.container(horizontal=True, gap="small"):
        st.caption("核对引用：")
        for c in answer.citations:
            with st.popover(
                f"[{c.n}] {inert_label(c.region or c.title or '来源', 10)}",
                help="查看这处引用的原话和出处",
            ):
                st.caption(inert_label(_location_of(c, lookup), 200))
                words = cited_words(c, text) or c.quote
                st.markdown(highlight(words, [(0, len(words))], bold=True))
                st.button(
                    "查看原文",
                    key=f"ctx_{key}_{c.n}",
                    on_click=_open_context,
                    args=(key, c.n),
                    icon=":material/article:",
                )


def _open_context(key: str, n: int) -> None:
    st.session_state["context_of"] = (key, n)


def show_context(answer: Answer, key: str, lookup: ChunkLookup | None = None) -> None:
    """The 查看原文 dialog, if one of this answer's [n] asked for it on this run."""
    wanted = st.session_state.get("context_of")
    if not wanted or wanted[0] != key:
        return
    st.session_state.pop("context_of", None)
    c = next((c for c in answer.citations if c.n == wanted[1]), None)
    if c is not None:
        _context_dialog(c, answer.answer or "", lookup)


@st.dialog("查看原文", width="large")
def _context_dialog(c: Citation, answer_text: str, lookup: ChunkLookup | None) -> None:
    index, chunks = _chunk(c, lookup)
    st.caption(inert_label(_location_of(c, lookup), 200))
    spans = cited_spans(c, answer_text)
    if index is None:
        st.info("报告已更新或已删除，下面是回答时引用的段落。", icon=":material/info:")
        st.markdown(highlight(c.quote, spans, bold=True))
        return
    # The passage between its neighbours: the quoted span is on screen without scrolling.
    if index > 0:
        st.markdown(":gray[" + inert_text(chunks[index - 1].text) + "]")
    with st.container(border=True):
        st.markdown(highlight(c.quote, spans, bold=True))
    if index + 1 < len(chunks):
        st.markdown(":gray[" + inert_text(chunks[index + 1].text) + "]")


def render_sources(answer: Answer, key: str, lookup: ChunkLookup | None = None) -> None:
    if not answer.citations:
        if answer.found is False:
            st.caption("未引用报告原文。")
        return
    st.markdown(f"**来源**（{len(answer.citations)} 段报告原文）")
    for c in answer.citations:
        with st.expander(source_title(c)):
            # The target of the answer's [n] link; navigating to it opens the expander.
            st.html(f'<span id="{anchor_id(key, c.n)}"></span>')
            render_passage(c, answer.answer, lookup)


def render_passage(c: Citation, answer_text: str, lookup: ChunkLookup | None = None) -> None:
    st.caption(inert_label(_location_of(c, lookup), 200))
    st.markdown(highlight(c.quote, cited_spans(c, answer_text), bold=True))


# ---- 复制为简报 ---------------------------------------------------------------------------


def render_export(answer: Answer, key: str) -> None:
    exports.render_export(answer, key)


# ---- 跨地区比较 ---------------------------------------------------------------------------

COLUMNS = ["地区", "主要做法", "关键数据", "证据强度"]


def compare_rows(answer: Answer) -> pd.DataFrame:
    """One row per region: the main measure and key figures with their [n], and the
    evidence strength, read from the answer's per-region records (never from its text)."""
    rows = []
    for r in answer.regions:
        if not r.found:
            practice, figures = NOT_COVERED_SHORT, "—"
        else:
            practice = r.practice or _first_line(r.summary) or "（见引用段落）"
            figures = "；".join(r.figures) or "—"
        rows.append(
            {
                "地区": r.region,
                "主要做法": practice,
                "关键数据": figures,
                "证据强度": round(max(0.0, r.strength), 2) if r.found else 0.0,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _first_line(summary: str) -> str:
    lines = [ln.lstrip("-*• ").strip() for ln in summary.splitlines() if ln.strip()]
    return lines[0] if lines else ""


def render_compare_table(answer: Answer) -> None:
    frame = compare_rows(answer)
    if frame.empty:
        return
    shown = frame.drop(columns=["证据强度"]).copy()
    for column in shown.columns:
        shown[column] = shown[column].map(lambda v: _cell(str(v)))
    st.table(shown, hide_index=True)
    missing = [r.region for r in answer.regions if not r.found]
    if missing:
        st.caption(
            "未涉及：" + "、".join(inert_label(m, 20) for m in missing) + f"（{NOT_COVERED}此主题）"
        )


def _cell(value: str) -> str:
    if value == NOT_COVERED_SHORT or value.startswith(NOT_COVERED):
        return f":gray-background[{NOT_COVERED_SHORT}]"
    return inert_markdown(value).replace("\n", " ")


def evidence_frame(answer: Answer) -> pd.DataFrame:
    """Evidence strength per region, for the bar chart (regions not covered show 0)."""
    frame = compare_rows(answer)
    return frame.set_index("地区")[["证据强度"]]


def render_evidence_chart(answer: Answer) -> None:
    frame = evidence_frame(answer)
    if frame.empty:
        return
    st.markdown("**各地区证据强度**（报告内容与主题的吻合程度；为 0 的地区报告未涉及此主题）")
    st.bar_chart(
        frame,
        y="证据强度",
        # With horizontal bars Streamlit puts x_label on the category (region) axis.
        x_label="",
        y_label="证据强度",
        horizontal=True,
        sort=False,
        color="#b8322a",
        height=60 + 36 * len(frame),
    )
