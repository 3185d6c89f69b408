"""Text of scanned PDF pages: each page rendered by pdftoppm and read by Tesseract (chi_sim).

Both run as subprocesses (Debian's poppler-utils, tesseract-ocr, tesseract-ocr-chi-sim; the
`ocr` target of the Makefile installs them), so a hostile PDF that crashes the renderer ends
one child process, never the app, and a page that hangs is stopped by a timeout.

Why these, with numbers from bench/ocr.py (bench/notes.md, "OCR of scanned pages"): on this
2-core machine Tesseract reads an A4 page in 4–6 s with 98–99 % of the characters right;
RapidOCR (PP-OCRv4) gets 99.9 % but needs 20–90 s a page and a reading-order step of our
own for two-column pages.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

LANGUAGE = "chi_sim"  # Simplified Chinese; its model also reads digits and Latin letters
# 200 dpi: at 150 dpi 8-pt print lost 1 more character in 100 (0.970 vs 0.981), at 300 dpi
# pages took 20–40 % longer for at most 0.7 points more (bench/ocr.py).
DPI = 200
MAX_PIXELS = 16_000_000  # a page larger than A3 at 290 dpi is rendered at a lower resolution
MAX_PAGES = 200  # about 20 minutes of OCR on this machine; longer scans must be split
RENDER_TIMEOUT_S = 60
READ_TIMEOUT_S = 180
# One document's OCR stops after this long (a hostile PDF could make every page slow);
# the pages not reached say so. 200 ordinary pages take about 20 minutes here.
TOTAL_TIMEOUT_S = 40 * 60
# Tesseract's OpenMP threads made a page 3–5x slower on 2 busy cores (4.7 s vs 24 s).
_ENV = {"OMP_THREAD_LIMIT": "1"}

# (done, total): pages read so far out of the pages this document needs read.
PageProgress = Callable[[int, int], None]

NO_TEXT = "没有识别出文字(可能是空白页、图片或字迹不清)"
OUT_OF_TIME = "未识别(整份文件的文字识别时间超过上限,请拆分后再上传)"

_CJK = "\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}]) +(?=[{_CJK}])")
_SPACES = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class PageRequest:
    """A page to read: its number (1-based) and size in PDF points (0 when unknown)."""

    number: int
    width_pt: float = 0.0
    height_pt: float = 0.0


@dataclass(frozen=True)
class PageText:
    """What OCR made of one page; `problem` (Chinese) says why it has no text, if it failed."""

    number: int
    text: str
    problem: str = ""


def unavailable_reason() -> str:
    """Why OCR cannot run on this machine, in Chinese ("" when it can)."""
    return _unavailable_reason()


@functools.cache
def _unavailable_reason() -> str:
    missing = [exe for exe in ("pdftoppm", "tesseract") if shutil.which(exe) is None]
    if not missing:
        try:
            out = subprocess.run(
                ["tesseract", "--list-langs"], capture_output=True, timeout=30, check=False
            )
            langs = out.stdout.decode("utf-8", "replace").split()
        except (OSError, subprocess.SubprocessError):
            langs = []
        if LANGUAGE not in langs:
            missing.append("tesseract-ocr-chi-sim")
    if not missing:
        return ""
    return f"本机没有安装文字识别(OCR)组件({'、'.join(missing)}),请运行 make install 安装"


def available() -> bool:
    return not unavailable_reason()


def tidy(text: str) -> str:
    """OCR output as plain text: no spaces between Chinese characters, no blank-only lines."""
    lines = []
    for line in text.replace("\f", "\n").split("\n"):
        line = _SPACE_BETWEEN_CJK.sub("", _SPACES.sub(" ", line)).strip()
        lines.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def read_image(image, dpi: int = DPI) -> str:
    """Text of a PIL image (used by bench/ocr.py to score exactly what ingest runs)."""
    with tempfile.TemporaryDirectory(prefix="ocr-") as tmp:
        path = Path(tmp) / "page.png"
        image.save(path, dpi=(dpi, dpi))
        return tidy(_tesseract(path, dpi))


def read_pages(
    data: bytes,
    pages: Sequence[PageRequest],
    on_page: PageProgress | None = None,
    cache: OcrCache | None = None,
) -> list[PageText]:
    """OCR of `pages` of the PDF `data`, in order; a page that fails says why and the rest go on.

    Pages found in `cache` (same file bytes, page, resolution and engine) are not read again,
    so re-indexing an unchanged scan is quick. Raises OcrUnavailable when the tools are missing.
    """
    reason = unavailable_reason()
    if reason:
        raise OcrUnavailable(reason)
    digest = hashlib.sha256(data).hexdigest()
    results: list[PageText] = []
    total = len(pages)
    if on_page:
        on_page(0, total)
    deadline = time.monotonic() + TOTAL_TIMEOUT_S
    with tempfile.TemporaryDirectory(prefix="ocr-") as tmp:
        pdf = Path(tmp) / "in.pdf"
        pdf.write_bytes(data)
        for done, page in enumerate(pages, start=1):
            key = f"{digest}:{page.number}:{_dpi_for(page)}:{_engine_id()}"
            result = cache.get(key, page.number) if cache else None
            if result is None and time.monotonic() > deadline:
                result = PageText(page.number, "", OUT_OF_TIME)
            elif result is None:
                result = _read_page(pdf, page, Path(tmp))
                if cache and result.problem in ("", NO_TEXT):  # failures may pass next time
                    cache.put(key, result)
            results.append(result)
            if on_page:
                on_page(done, total)
    return results


class OcrCache:
    """Page texts in SQLite, keyed by the PDF's sha256, the page, the resolution and engine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None  # opened when a scan is first read

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS pages (key TEXT PRIMARY KEY, text TEXT, problem TEXT)"
            )
            db.commit()
            self._db = db
        return self._db

    # A cache that cannot be read or written costs time, never the document.
    def get(self, key: str, number: int) -> PageText | None:
        try:
            with self._lock:
                row = (
                    self._conn()
                    .execute("SELECT text, problem FROM pages WHERE key=?", (key,))
                    .fetchone()
                )
        except sqlite3.Error as exc:
            log.warning("OCR cache not readable: %s", type(exc).__name__)
            return None
        return PageText(number, row[0], row[1]) if row else None

    def put(self, key: str, page: PageText) -> None:
        try:
            with self._lock:
                db = self._conn()
                db.execute(
                    "INSERT OR REPLACE INTO pages (key, text, problem) VALUES (?, ?, ?)",
                    (key, page.text, page.problem),
                )
                db.commit()
        except sqlite3.Error as exc:
            log.warning("OCR cache not writable: %s", type(exc).__name__)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


@functools.cache
def _engine_id() -> str:
    """Tesseract's version and language: a new engine reads pages anew."""
    try:
        out = subprocess.run(["tesseract", "--version"], capture_output=True, timeout=30)
        version = (out.stdout or out.stderr).decode("utf-8", "replace").split("\n")[0].strip()
    except (OSError, subprocess.SubprocessError):
        version = "unknown"
    return f"{version}/{LANGUAGE}"


class OcrUnavailable(Exception):
    """The OCR tools are not installed; the message is Chinese and says what to do."""


def _dpi_for(page: PageRequest) -> int:
    area_in2 = (page.width_pt / 72) * (page.height_pt / 72)
    if area_in2 <= 0:
        return DPI
    return max(1, min(DPI, int(math.sqrt(MAX_PIXELS / area_in2))))


def _read_page(pdf: Path, page: PageRequest, tmp: Path) -> PageText:
    dpi = _dpi_for(page)
    root = tmp / f"p{page.number}"
    n = str(page.number)
    try:
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-gray", "-f", n, "-l", n, "-singlefile"]
            + [str(pdf), str(root)],
            capture_output=True,
            timeout=RENDER_TIMEOUT_S,
            check=True,
            env={**os.environ, **_ENV},
        )
    except subprocess.TimeoutExpired:
        return PageText(page.number, "", "页面渲染超时(页面可能过于复杂)")
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("pdftoppm failed on page %d: %s", page.number, type(exc).__name__)
        return PageText(page.number, "", "页面无法渲染成图片(文件可能已损坏)")
    image = root.with_suffix(".pgm")
    if not image.is_file():
        return PageText(page.number, "", "页面无法渲染成图片(文件可能已损坏)")
    try:
        text = tidy(_tesseract(image, dpi))
    except subprocess.TimeoutExpired:
        return PageText(page.number, "", "文字识别超时")
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("tesseract failed on page %d: %s", page.number, type(exc).__name__)
        return PageText(page.number, "", "文字识别程序出错")
    finally:
        image.unlink(missing_ok=True)
    if not any(ch.isalnum() for ch in text):
        return PageText(page.number, "", NO_TEXT)
    return PageText(page.number, text)


def _tesseract(image: Path, dpi: int) -> str:
    # --dpi matters: without it Tesseract guesses the resolution and its layout analysis
    # failed on whole pages (1 - CER 0.25 instead of 0.99 on a 200-dpi serif page).
    out = subprocess.run(
        ["tesseract", str(image), "stdout", "-l", LANGUAGE, "--psm", "3", "--dpi", str(dpi)],
        capture_output=True,
        timeout=READ_TIMEOUT_S,
        check=True,
        env={**os.environ, **_ENV},
    )
    return out.stdout.decode("utf-8", "replace")
