"""Text of a Word (.docx) report, after checking the package cannot expand too far."""

from __future__ import annotations

import io
import zipfile

from assistant.loading import Loaded, LoadError

_DOCX_MAIN = "word/document.xml"


def read(name: str, data: bytes, *, max_chars: int, max_bytes: int) -> Loaded:
    """`data` (the bytes of file `name`) loaded; raises LoadError with a Chinese reason."""
    return Loaded(docx_text(name, data, max_chars=max_chars, max_bytes=max_bytes), "docx")


def docx_text(name: str, data: bytes, *, max_chars: int, max_bytes: int) -> str:
    """Paragraph and table text of a .docx, after checking the zip cannot expand too far."""
    not_docx = "不是有效的 Word(.docx)文档,或文件已损坏。请用 Word 重新另存为 .docx 后再上传。"
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise LoadError(name, not_docx) from exc
    with zf:
        infos = zf.infolist()
        main = next((i for i in infos if i.filename == _DOCX_MAIN), None)
        if main is None:
            raise LoadError(name, "这是一个压缩包,但不是 Word(.docx)文档。请上传真正的 Word 文档。")
        # XML markup is verbose but not 20 bytes per character of text; beyond that it is a bomb.
        if main.file_size > 20 * max_chars:
            raise LoadError(
                name,
                "Word 文档的正文解压后过大(可能是恶意压缩文件),已拒绝。请检查文件来源。",
            )
        total = sum(i.file_size for i in infos)
        if total > 20 * max_chars + 5 * max_bytes:
            raise LoadError(
                name,
                "Word 文档解压后总大小过大(可能是恶意压缩文件),已拒绝。请检查文件来源。",
            )
        _check_inflation(name, zf, infos, not_docx)
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(data))
        parts: list[str] = []
        for child in document.element.body.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                parts.append(Paragraph(child, document).text)
            elif tag == "tbl":
                parts.extend(_table_rows(Table(child, document)))
    except LoadError:
        raise
    except Exception as exc:  # python-docx/lxml raise many kinds on broken packages
        raise LoadError(name, not_docx) from exc
    return "\n\n".join(p for p in parts if p.strip())


def _check_inflation(name: str, zf: zipfile.ZipFile, infos, not_docx: str) -> None:
    """Inflate every part in small steps before python-docx does it in one go.

    zipfile inflates a whole member at once and only then cuts it to the size the header
    declares, so a part that lies about its size would take all of its real size in memory.
    Read in steps, a liar ends at its declared size with a CRC error instead.
    """
    for info in infos:
        try:
            with zf.open(info) as fh:
                while fh.read(1 << 20):
                    pass
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise LoadError(name, not_docx) from exc
        except NotImplementedError as exc:  # an unusual compression method
            raise LoadError(name, not_docx) from exc


def _table_rows(table) -> list[str]:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            key = id(cell._tc)  # merged cells repeat the same element
            if key in seen:
                continue
            seen.add(key)
            text = cell.text.strip()
            if text:
                cells.append(text)
        if cells:
            rows.append(" ".join(cells))
    return rows
