"""Load an untrusted report file (.txt .md .docx .pdf) into plain text, or refuse it clearly."""

from __future__ import annotations

import codecs
import io
import re
import unicodedata
import zipfile
from pathlib import Path

SUPPORTED_SUFFIXES: tuple[str, ...] = (".txt", ".md", ".docx", ".pdf")

# Control characters that never appear in real prose (tab, newline, CR, FF, VT are fine).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_NEWLINE_RE = re.compile(r"\r\n?")


class LoadError(Exception):
    """A file we refuse to index; `reason` is Chinese and tells the user what to do."""

    def __init__(self, path_name: str, reason: str) -> None:
        self.path_name = path_name
        self.reason = reason
        super().__init__(f"{path_name}: {reason}")

    def __str__(self) -> str:
        return f"{self.path_name}: {self.reason}"


def load_text(path: Path, *, max_bytes: int, max_chars: int) -> str:
    """Decoded text of `path` with "\\n" newlines and no NULs; raises LoadError otherwise."""
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(
            name,
            f"不支持的文件类型“{path.suffix or '无扩展名'}”。"
            f"请上传以下格式之一: {' '.join(SUPPORTED_SUFFIXES)}",
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadError(
            name, f"无法读取文件({exc.strerror or exc})。请确认文件存在且可读。"
        ) from exc
    if size == 0:
        raise LoadError(name, "文件是空的。请检查是否上传了正确的文件。")
    if size > max_bytes:
        raise LoadError(
            name,
            f"文件太大({_human(size)}),上限是 {_human(max_bytes)}。请拆分后再上传。",
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(name, f"无法读取文件({exc.strerror or exc})。请确认文件可读。") from exc
    if len(data) > max_bytes:  # the file grew between stat and read
        raise LoadError(name, f"文件太大,上限是 {_human(max_bytes)}。请拆分后再上传。")

    if suffix in (".txt", ".md"):
        text = _decode_plain(name, data)
    elif suffix == ".docx":
        text = _docx_text(name, data, max_chars=max_chars, max_bytes=max_bytes)
    else:
        text = _pdf_text(name, data, max_chars=max_chars)

    text = _NEWLINE_RE.sub("\n", text).replace("\x00", "")
    if not text.strip():
        raise LoadError(name, "文件中没有文字内容。请检查是否上传了正确的文件。")
    if len(text) > max_chars:
        raise LoadError(
            name,
            f"文字太长({len(text)} 字),上限是 {max_chars} 字。请拆分后再上传。",
        )
    return text


def _human(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} 字节"


# --- plain text -----------------------------------------------------------------------------


def _decode_plain(name: str, data: bytes) -> str:
    """Decode with BOM detection, then strict UTF-8, strict GB18030, then charset-normalizer."""
    text: str | None = None
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        text = _strict(data, "utf-32")
    elif data.startswith(codecs.BOM_UTF8):
        text = _strict(data[len(codecs.BOM_UTF8) :], "utf-8")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _strict(data, "utf-16")  # the codec consumes the BOM
    else:
        if b"\x00" in data:
            raise LoadError(name, _BINARY_REASON)
        text = _strict(data, "utf-8")
        if text is None:
            text = _strict(data, "gb18030")
            if text is not None and _rare_hanzi_share(text) > 0.2:
                # Big5 and other double-byte encodings also decode as GB18030, into rare
                # characters; ask the detector, and refuse if it has no strict answer.
                text = _charset_normalizer(data)
                if text is None:
                    raise LoadError(name, _UNSURE_REASON)
        if text is None:
            text = _charset_normalizer(data)
    if text is None:
        raise LoadError(name, _UNSURE_REASON)
    text = text.lstrip("\ufeff")
    _reject_garbled(name, text)
    return text


_UNSURE_REASON = "无法可靠识别文件的文字编码。请用 UTF-8 编码另存为 .txt 文件后再上传。"
_BINARY_REASON = "文件内容看起来不是文字(可能是图片或其他二进制文件改了扩展名)。请上传真正的文本、Word 或 PDF 文件。"


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding, errors="strict")
    except (UnicodeDecodeError, LookupError):
        return None


def _rare_hanzi_share(text: str) -> float:
    """Share of common-block Chinese characters outside GB2312 (high for mis-decoded bytes)."""
    hanzi = [ch for ch in text if "\u4e00" <= ch <= "\u9fff"]
    if len(hanzi) < 5:
        return 0.0
    rare = 0
    for ch in hanzi:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            rare += 1
    return rare / len(hanzi)


def _charset_normalizer(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        return None
    try:
        return data.decode(best.encoding, errors="strict")
    except (UnicodeDecodeError, LookupError):
        return None


def _reject_garbled(name: str, text: str) -> None:
    """Refuse text that is binary or already full of replacement characters."""
    if not text:
        return
    if "\x00" in text:
        raise LoadError(name, _BINARY_REASON)
    controls = len(_CONTROL_RE.findall(text))
    if controls > max(8, len(text) // 200):
        raise LoadError(name, _BINARY_REASON)
    bad = text.count("\ufffd")
    if bad > max(3, len(text) // 1000):
        raise LoadError(
            name,
            "文件中有大量无法识别的字符(乱码)。请用 UTF-8 编码重新保存原文件后再上传。",
        )
    # Private-use or unassigned code points in bulk mean a wrong guess of the encoding.
    odd = sum(1 for ch in text if unicodedata.category(ch) in ("Co", "Cn"))
    if odd > max(8, len(text) // 100):
        raise LoadError(
            name,
            "文件的文字编码无法可靠识别(解码结果是乱码)。请用 UTF-8 编码另存后再上传。",
        )


# --- docx -----------------------------------------------------------------------------------

_DOCX_MAIN = "word/document.xml"


def _docx_text(name: str, data: bytes, *, max_chars: int, max_bytes: int) -> str:
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


# --- pdf ------------------------------------------------------------------------------------


def _pdf_text(name: str, data: bytes, *, max_chars: int) -> str:
    """Text of every page; refuses encrypted, corrupt and image-only PDFs."""
    corrupt = "不是有效的 PDF 文件,或文件已损坏。请用 PDF 阅读器打开确认后重新导出再上传。"
    if b"%PDF-" not in data[:1024]:
        raise LoadError(name, corrupt)
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError(name, "PDF 已加密(设置了密码或权限保护)。请先解除加密后再上传。")
        pages: list[str] = []
        total = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            total += len(text)
            if total > max_chars:
                raise LoadError(name, f"文字太长(超过 {max_chars} 字)。请拆分后再上传。")
            pages.append(text)
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise LoadError(name, corrupt) from exc
    except Exception as exc:  # pypdf can fail in many ways on hostile input
        raise LoadError(name, corrupt) from exc
    text = "\n\n".join(pages)
    if not text.strip():
        raise LoadError(
            name,
            "PDF 中没有可提取的文字(可能是扫描图片)。请先做文字识别(OCR)或上传文字版。",
        )
    return text
