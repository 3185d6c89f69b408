"""Brief export: the answer as Markdown with footnotes, or as DOCX with an endnote list.

Report text is data: in the Markdown it is escaped (no live HTML, links or images), and the
DOCX holds plain text runs only. Every citation is kept; unsupported sentences are marked, and
an answer that was cut off says so at the top.
"""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path
from typing import Any

from assistant.answers import Answer, Unsupported, neutralize_markdown

UNVERIFIED = "【未核实】"
_MARKER = re.compile(r"\[(\d+)\]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()<>!|#~{}])")
_UNESCAPE = re.compile(r"\\([\\`*_\[\]()<>!|#~{}:.+\-])")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


# Characters XML 1.0 cannot hold (python-docx refuses them): C0 controls but tab/newline/CR.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_safe(value: Any) -> Any:
    """A copy of an answer (or any part of it) with XML-incompatible characters removed."""
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    if isinstance(value, list):
        return [_xml_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _xml_safe(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _xml_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value


class ExportError(ValueError):
    """The export target is not .md or .docx."""


def escape_inline(text: str) -> str:
    """Report text as inert Markdown on one line: every syntax character escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _status_lines(answer: Answer) -> list[str]:
    lines = [f"回答方式：{answer.answerer_label}"]
    if answer.notice:
        lines.append(f"⚠️ {answer.notice}")
    if not answer.complete:
        lines.append("⚠️ 大模型的回答没有完整生成，以下为离线摘录；请勿当作完整的大模型回答使用。")
    if answer.unsupported:
        lines.append(
            f"⚠️ 有 {len(answer.unsupported)} 处内容未能通过出处核对，已标注“{UNVERIFIED}”。"
        )
    return lines


def _mark_unsupported(body: str, unsupported: list[Unsupported]) -> str:
    for u in unsupported:
        # The markers may sit before the final mark: "……8次[2]。"
        target = neutralize_markdown(u.sentence.strip().rstrip("。！？!?；;"))
        if target and target in body:
            body = body.replace(target, f"{target}{UNVERIFIED}", 1)
    return body


def _body(answer: Answer) -> str:
    body = neutralize_markdown(answer.answer or "")
    # The notice is shown in the header already.
    body = "\n".join(line for line in body.splitlines() if not line.startswith("> ⚠️"))
    return _mark_unsupported(body.strip(), answer.unsupported)


def _source(c) -> str:
    parts = [c.region or "未标注地区", f"《{c.title}》" if c.title else "", c.section]
    return " · ".join(p for p in parts if p)


def to_markdown(answer: Answer) -> str:
    """The answer with footnote references [^n] and the quoted passages as footnotes."""
    known = {c.n for c in answer.citations}
    body = _MARKER.sub(
        lambda m: f"[^{m.group(1)}]" if int(m.group(1)) in known else m.group(0), _body(answer)
    )
    out = [f"# {escape_inline(answer.question)}", ""]
    out += [f"> {escape_inline(line)}  " for line in _status_lines(answer)]
    out += ["", body, ""]
    if answer.unsupported:
        out += ["## 未通过核对的内容", ""]
        out += [
            f"- {escape_inline(u.sentence)}：{escape_inline(u.reason)}" for u in answer.unsupported
        ]
        out.append("")
    if answer.citations:
        out += ["## 参考资料", ""]
        for c in answer.citations:
            out.append(
                f"[^{c.n}]: {escape_inline(_source(c))} · “{escape_inline(c.quote)}”"
                f"（{escape_inline(c.doc_id)}，第 {c.start}–{c.end} 字）"
            )
        out.append("")
    return "\n".join(out)


# ---- DOCX --------------------------------------------------------------------------------


def _plain(text: str) -> str:
    return _UNESCAPE.sub(r"\1", text)


def _runs(paragraph, text: str) -> None:
    """Text with **bold**, [n] as superscript and the unverified mark in red."""
    from docx.shared import RGBColor

    pos = 0
    pattern = re.compile(r"\*\*(.+?)\*\*|\[(\d+)\]|" + re.escape(UNVERIFIED))
    for m in pattern.finditer(text):
        if m.start() > pos:
            paragraph.add_run(_plain(text[pos : m.start()]))
        if m.group(1) is not None:
            paragraph.add_run(_plain(m.group(1))).bold = True
        elif m.group(2) is not None:
            run = paragraph.add_run(f"[{m.group(2)}]")
            run.font.superscript = True
        else:
            run = paragraph.add_run(UNVERIFIED)
            run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
            run.bold = True
        pos = m.end()
    if pos < len(text):
        paragraph.add_run(_plain(text[pos:]))


def _table(document, rows: list[list[str]]) -> None:
    width = max(len(r) for r in rows)
    table = document.add_table(rows=len(rows), cols=width)
    table.style = "Table Grid"
    for i, row in enumerate(rows):
        for j in range(width):
            cell = table.cell(i, j)
            cell.text = ""
            _runs(cell.paragraphs[0], row[j].strip() if j < len(row) else "")
            if i == 0:
                for run in cell.paragraphs[0].runs:
                    run.bold = True


def to_docx(answer: Answer, path: Path | str | None = None) -> bytes:
    """The same content as `to_markdown` as a Word document (an endnote list of sources)."""
    from docx import Document
    from docx.shared import Pt

    answer = _xml_safe(answer)
    document = Document()
    document.add_heading(answer.question or "问答", level=1)
    for line in _status_lines(answer):
        p = document.add_paragraph()
        p.add_run(line).italic = True
    rows: list[list[str]] = []
    for raw in _body(answer).splitlines() + [""]:
        line = raw.strip()
        if line.startswith("|"):
            if not _TABLE_RULE.match(line):
                rows.append([c for c in line.strip("|").split("|")])
            continue
        if rows:
            _table(document, rows)
            rows = []
        if not line:
            continue
        heading = re.match(r"^(#{1,6})\s*(.+)$", line)
        if heading:
            document.add_heading(_plain(heading.group(2)), level=min(len(heading.group(1)), 4))
        elif re.match(r"^[-*+]\s+", line):
            _runs(document.add_paragraph(style="List Bullet"), re.sub(r"^[-*+]\s+", "", line))
        elif line.startswith(">"):
            p = document.add_paragraph()
            _runs(p, line.lstrip("> "))
        else:
            _runs(document.add_paragraph(), line)
    if answer.unsupported:
        document.add_heading("未通过核对的内容", level=2)
        for u in answer.unsupported:
            document.add_paragraph(f"{u.sentence}：{u.reason}", style="List Bullet")
    if answer.citations:
        document.add_heading("参考资料", level=2)
        for c in answer.citations:
            p = document.add_paragraph()
            p.add_run(f"[{c.n}] ").bold = True
            p.add_run(f"{_source(c)}（{c.doc_id}，第 {c.start}–{c.end} 字）")
            q = document.add_paragraph()
            q.paragraph_format.left_indent = Pt(18)
            q.add_run(f"“{' '.join(c.quote.split())}”").italic = True
    buffer = io.BytesIO()
    document.save(buffer)
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def export(answer: Answer, path: Path | str) -> Path:
    """Write the answer to `path`; the suffix (.md or .docx) picks the format."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".md":
        target.write_text(to_markdown(answer), encoding="utf-8")
    elif suffix == ".docx":
        to_docx(answer, target)
    else:
        raise ExportError(f"无法导出为 {target.name}：只支持 .md 和 .docx。")
    return target
