"""Text of a PDF report, page by page; pages without a text layer are read by OCR.

Ruled tables on text-layer pages are read as row sentences (assistant.pdf_tables); such a
page's text, rows included, is also its raw page text, so a row's chunk finds its page.

Encrypted and corrupt files are refused, and so is a PDF in which neither the text layer nor
OCR (assistant.ocr) finds any text.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from assistant import ocr, pdf_tables
from assistant.loading import Loaded, LoadError

PAGED = True  # load_document passes `on_page` and `ocr_cache`: this reader may run OCR

# A text layer with fewer visible characters than this holds at most a page number or a
# stamp: such a page is read by OCR too, and keeps whichever reading has more text. Real
# text pages have hundreds of characters, so OCR never replaces them.
SPARSE_CHARS = 16

log = logging.getLogger(__name__)

_CORRUPT = "不是有效的 PDF 文件,或文件已损坏。请用 PDF 阅读器打开确认后重新导出再上传。"


def read(
    name: str,
    data: bytes,
    *,
    max_chars: int,
    max_bytes: int,
    on_page: ocr.PageProgress | None = None,
    ocr_cache: ocr.OcrCache | None = None,
) -> Loaded:
    """`data` (the bytes of file `name`) loaded; raises LoadError with a Chinese reason."""
    layer, sizes = _text_layer(name, data, max_chars=max_chars)
    pages = list(layer)
    notes: list[str] = []
    todo = [
        ocr.PageRequest(i + 1, *sizes[i])
        for i, text in enumerate(layer)
        if _visible(text) < SPARSE_CHARS
    ]
    if todo:
        if len(todo) > ocr.MAX_PAGES:
            raise LoadError(
                name,
                f"有 {len(todo)} 页是扫描图片,超过文字识别(OCR)的上限 {ocr.MAX_PAGES} 页。"
                "请拆分后再上传,或上传文字版。",
            )
        try:
            results = ocr.read_pages(data, todo, on_page, ocr_cache)
        except ocr.OcrUnavailable as exc:
            if not any(_visible(t) for t in layer):
                raise LoadError(
                    name, f"PDF 中没有可提取的文字(可能是扫描图片),{exc}。或者上传文字版。"
                ) from exc
            empty = [p.number for p in todo if not _visible(layer[p.number - 1])]
            if empty:
                notes.append(f"第 {_numbers(empty)} 页是扫描图片,未识别:{exc}")
        else:
            failed: dict[str, list[int]] = {}
            for page in results:
                if _visible(page.text) > _visible(pages[page.number - 1]):
                    pages[page.number - 1] = page.text
                elif page.problem and not _visible(pages[page.number - 1]):
                    failed.setdefault(page.problem, []).append(page.number)
            recognised = [p.number for p in results if pages[p.number - 1] == p.text and p.text]
            if recognised:
                notes.append(f"第 {_numbers(recognised)} 页由文字识别(OCR)得到,可能有个别错字")
            for problem, numbers in failed.items():
                notes.append(f"第 {_numbers(numbers)} 页{problem}")
    if not any(_visible(t) for t in pages):
        why = "；".join(n for n in notes if ocr.NO_TEXT not in n) or "可能是空白页或图片不清晰"
        raise LoadError(
            name,
            f"PDF 中没有可提取的文字,文字识别(OCR)也没有识别出文字({why})。"
            "请上传文字版或更清晰的扫描件。",
        )
    if sum(len(t) for t in pages) > max_chars:
        raise LoadError(name, f"文字太长(超过 {max_chars} 字)。请拆分后再上传。")
    # after the length check: a table's rows repeat its caption and column names, which must
    # not get a file refused that the user sees as short enough
    scanned = {p.number - 1 for p in todo}
    tabled = pdf_tables.table_pages(data, layer, [i for i in range(len(layer)) if i not in scanned])
    for i, text in tabled.items():
        pages[i] = text
    body = strip_page_furniture(pages)
    return Loaded("\n\n".join(body), "pdf", tuple(pages), tuple(notes))


# "— 3 —", "- 3 -", "3", "第 3 页", "第3页 共12页", "3/12", "Page 3": a line that is only a page
# number, printed as the first or last line of a page. A bare number has at most 3 digits, so
# a year alone on a line ("2023") is kept.
_DASH = r"[\-—–‐_·•]"
_PAGE_NUMBER = re.compile(
    r"^\s*\d{1,3}\s*$"
    rf"|^\s*{_DASH}+\s*\d{{1,4}}\s*{_DASH}+\s*$"
    r"|^\s*第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?\s*$"
    r"|^\s*\d{1,4}\s*(?:/|／|of)\s*\d{1,4}\s*$"
    r"|^\s*(?:page|p\.)\s*\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?\s*$",
    re.IGNORECASE,
)
_EDGE_LINES = 2  # headers and footers sit in the first or last two lines of a page
# A line repeated at the edge of this many pages (and at least half of them) is a running
# header or footer, not text: a report's body does not repeat a line at the same place.
_RUNNING_MIN_PAGES = 3


def strip_page_furniture(pages: list[str]) -> list[str]:
    """Page texts without page-number lines and running headers/footers at their edges.

    Only the PDF has the page structure that shows a line is furniture; the cleaner that
    runs later sees one text. The raw pages are kept apart for page provenance.
    """
    lines = [text.split("\n") for text in pages]
    counts: dict[str, int] = {}
    for page in lines:
        for key in {_furniture_key(page[i]) for i in _edge_indices(page)}:
            if key:
                counts[key] = counts.get(key, 0) + 1
    needed = max(_RUNNING_MIN_PAGES, (len(pages) + 1) // 2)
    running = {key for key, n in counts.items() if n >= needed}
    out = []
    for page in lines:
        edges = _edge_indices(page)
        drop = {i for i in edges if _furniture_key(page[i]) in running}
        drop |= {i for i in edges[:1] + edges[-1:] if _PAGE_NUMBER.match(page[i])}
        out.append("\n".join(line for i, line in enumerate(page) if i not in drop))
    return out


def _edge_indices(page: list[str]) -> list[int]:
    """Indices of the first and last `_EDGE_LINES` non-blank lines."""
    nonblank = [i for i, line in enumerate(page) if line.strip()]
    return sorted(set(nonblank[:_EDGE_LINES] + nonblank[-_EDGE_LINES:]))


def _furniture_key(line: str) -> str:
    """A line with its digits and spaces removed (headers often carry the page number)."""
    return re.sub(r"[\s\d]+", "", line)


def _visible(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


def _numbers(numbers: list[int]) -> str:
    """1, 2, 3, 5 -> "1–3、5"."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return "、".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else "、".join(map(str, r)) for r in runs)


def _text_layer(
    name: str, data: bytes, *, max_chars: int
) -> tuple[list[str], list[tuple[float, float]]]:
    """Each page's extracted text and its size in points; refuses encrypted and corrupt PDFs."""
    if b"%PDF-" not in data[:1024]:
        raise LoadError(name, _CORRUPT)
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError(name, "PDF 已加密(设置了密码或权限保护)。请先解除加密后再上传。")
        pages: list[str] = []
        sizes: list[tuple[float, float]] = []
        total = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            total += len(text)
            if total > max_chars:
                raise LoadError(name, f"文字太长(超过 {max_chars} 字)。请拆分后再上传。")
            pages.append(text)
            sizes.append(_size(page))
    except LoadError:
        raise
    except Exception as exc:  # pypdf can fail in many ways on hostile input
        raise LoadError(name, _CORRUPT) from exc
    if not pages:
        raise LoadError(name, _CORRUPT)
    garbled = [i for i, text in enumerate(pages) if "\x00" in text]
    if garbled:
        pages = _poppler_pages(data, pages, garbled)
    return pages, sizes


def _poppler_pages(data: bytes, pages: list[str], garbled: list[int]) -> list[str]:
    """Pages pypdf decoded with NULs between characters, read again by poppler's pdftotext.

    A NUL never occurs in real text: it means pypdf read a font's two-byte codes one byte at
    a time (fpdf2's CJK fonts, for one: once a subset passes 255 glyphs every later
    character comes out wrong; pdftotext reads the same page right). Without pdftotext the
    NULs are dropped, as before.
    """
    exe = shutil.which("pdftotext")
    if exe is None:
        return pages
    with tempfile.TemporaryDirectory(prefix="pdf-") as tmp:
        path = Path(tmp) / "in.pdf"
        path.write_bytes(data)
        try:
            out = subprocess.run(
                [exe, "-enc", "UTF-8", str(path), "-"], capture_output=True, timeout=120, check=True
            )
        except (OSError, subprocess.SubprocessError) as exc:
            log.info("pdftotext failed: %s", type(exc).__name__)
            return pages
    texts = out.stdout.decode("utf-8", "replace").split("\f")
    if len(texts) < len(pages):
        return pages
    return [texts[i] if i in garbled else text for i, text in enumerate(pages)]


def _size(page) -> tuple[float, float]:
    try:
        box = page.mediabox
        return abs(float(box.width)), abs(float(box.height))
    except Exception:  # a broken box only costs the resolution cap
        return 0.0, 0.0
