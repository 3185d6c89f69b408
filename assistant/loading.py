"""Load an untrusted report file into plain text, or refuse it clearly.

This module checks the file (type, size, readability) and decodes plain text; each other
format has its own reader module (`load_docx`, `load_pdf`, …) that returns a `Loaded`.
"""

from __future__ import annotations

import codecs
import importlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Suffix → module whose `read(name, data, *, max_chars, max_bytes) -> Loaded` loads the format.
_READERS: dict[str, str] = {
    ".docx": "assistant.load_docx",
    ".pdf": "assistant.load_pdf",
    ".html": "assistant.html_loading",
    ".htm": "assistant.html_loading",
    ".mhtml": "assistant.html_loading",
}
SUPPORTED_SUFFIXES: tuple[str, ...] = (".txt", ".md", *_READERS)

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


@dataclass(frozen=True)
class Loaded:
    """A loaded file: its text, the format it came from and, for paged sources, each page."""

    text: str
    format: str  # "txt", "md", "docx", "pdf"…
    pages: tuple[str, ...] = ()  # raw text of page 1, 2, …; empty when the source has no pages
    notes: tuple[str, ...] = ()  # what the user should know (pages read by OCR…), Chinese


def load_text(path: Path, *, max_bytes: int, max_chars: int) -> str:
    """Decoded text of `path` with "\\n" newlines and no NULs; raises LoadError otherwise."""
    return load_document(path, max_bytes=max_bytes, max_chars=max_chars).text


def load_document(
    path: Path,
    *,
    max_bytes: int,
    max_chars: int,
    on_page: Callable[[int, int], None] | None = None,
    ocr_cache: Any = None,
) -> Loaded:
    """`path` loaded as a `Loaded`; raises LoadError with a Chinese reason otherwise.

    For readers that may OCR scanned pages (`PAGED`): `on_page(done, total)` follows the
    pages read, and `ocr_cache` (an `assistant.ocr.OcrCache`) keeps their text.
    """
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
        from assistant.tables import text_tables

        # Tables typed or exported into text ("乡镇｜贫困村｜人口", tabs, Markdown) become row
        # paragraphs like those of a Word or HTML table, so a row is one retrievable unit.
        loaded = Loaded(text_tables(_decode_plain(name, data)), suffix.lstrip("."))
    else:
        reader = importlib.import_module(_READERS[suffix])
        extra = (
            {"on_page": on_page, "ocr_cache": ocr_cache} if getattr(reader, "PAGED", False) else {}
        )
        loaded = reader.read(name, data, max_chars=max_chars, max_bytes=max_bytes, **extra)

    text = _NEWLINE_RE.sub("\n", loaded.text).replace("\x00", "")
    if not text.strip():
        raise LoadError(name, "文件中没有文字内容。请检查是否上传了正确的文件。")
    if len(text) > max_chars:
        raise LoadError(
            name,
            f"文字太长({len(text)} 字),上限是 {max_chars} 字。请拆分后再上传。",
        )
    return Loaded(text, loaded.format, loaded.pages, loaded.notes)


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
            if text is not None:
                # GBK editors write the full-width indent as A3A0, which GB18030 maps to a
                # private-use code point; browsers show it as an ideographic space.
                text = text.replace("\ue5e5", "\u3000")
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
