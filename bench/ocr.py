"""OCR of scanned pages: seconds per page and character accuracy of each installed engine.

Pages are drawn with Pillow from real Chinese text (the public dev-set documents, not the
sample reports) in Noto CJK, saved as image-only PDFs, rendered back with pdftoppm and read
by every engine that is installed: Tesseract (Debian's `tesseract-ocr-chi-sim`, as a
subprocess), RapidOCR (`rapidocr-onnxruntime`, models inside its wheel; not a project
dependency, install it in a scratch venv to compare) and `assistant` (assistant/ocr.py).

    python -m bench.ocr [--dpi 150 200] [--engines tesseract rapidocr] [--json out.json]

Accuracy is 1 - CER: the Levenshtein distance between the known text and the OCR text, both
with whitespace removed, divided by the known text's length. Table and two-column pages are
also scored order-free (share of the known characters found, as a multiset), because a
reading order other than ours is not an error a reader of the text would notice.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
DEV_DOCS = ROOT / "data" / "eval" / "dev" / "docs"
FONT_DIR = Path("/usr/share/fonts/opentype/noto")
SANS = FONT_DIR / "NotoSansCJK-Regular.ttc"
SERIF = FONT_DIR / "NotoSerifCJK-Regular.ttc"
A4_INCHES = (8.27, 11.69)


# ---- pages ---------------------------------------------------------------------------------


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines of at most `width` pixels; paragraphs ("\\n") start new lines."""
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for ch in para:
            if font.getlength(line + ch) > width and line:
                lines.append(line)
                line = ""
            line += ch
        lines.append(line)
    return lines


def _font(path: Path, pt: float, dpi: int) -> ImageFont.FreeTypeFont:
    # Basic layout: CJK needs no shaping, and raqm fails on some strings.
    return ImageFont.truetype(str(path), int(pt * dpi / 72), layout_engine=ImageFont.Layout.BASIC)


def _canvas(dpi: int) -> Image.Image:
    return Image.new("L", (int(A4_INCHES[0] * dpi), int(A4_INCHES[1] * dpi)), 255)


def prose_page(
    text: str, dpi: int, font_path: Path = SANS, pt: float = 12
) -> tuple[Image.Image, str]:
    """One column of running text; returns the image and the text actually drawn."""
    img = _canvas(dpi)
    draw = ImageDraw.Draw(img)
    font = _font(font_path, pt, dpi)
    margin = int(dpi * 0.9)
    step = int(font.size * 1.6)
    y, drawn = margin, []
    for line in _wrap(text, font, img.width - 2 * margin):
        if y + step > img.height - margin:
            break
        draw.text((margin, y), line, font=font, fill=0)
        drawn.append(line)
        y += step
    return img, "\n".join(drawn)


def two_column_page(text: str, dpi: int, pt: float = 10.5) -> tuple[Image.Image, str]:
    """Two columns, read left column first; returns the image and the text in reading order."""
    img = _canvas(dpi)
    draw = ImageDraw.Draw(img)
    font = _font(SERIF, pt, dpi)
    margin, gutter = int(dpi * 0.8), int(dpi * 0.4)
    col_w = (img.width - 2 * margin - gutter) // 2
    step = int(font.size * 1.6)
    lines = _wrap(text, font, col_w)
    per_col = (img.height - 2 * margin) // step
    drawn: list[str] = []
    for col in range(2):
        x = margin + col * (col_w + gutter)
        for row, line in enumerate(lines[col * per_col : (col + 1) * per_col]):
            draw.text((x, margin + row * step), line, font=font, fill=0)
            drawn.append(line)
    return img, "\n".join(drawn)


def table_page(rows: list[list[str]], dpi: int, pt: float = 11) -> tuple[Image.Image, str]:
    """A ruled table, one row per line; returns the image and the cells row by row."""
    img = _canvas(dpi)
    draw = ImageDraw.Draw(img)
    font = _font(SANS, pt, dpi)
    margin = int(dpi * 0.8)
    widths = [max(font.getlength(r[i]) for r in rows) + font.size for i in range(len(rows[0]))]
    row_h = int(font.size * 2.0)
    x0, y = margin, margin
    right = x0 + int(sum(widths))
    for r in rows:
        draw.line([(x0, y), (right, y)], fill=0, width=2)
        x = x0
        for cell, w in zip(r, widths, strict=True):
            draw.line([(x, y), (x, y + row_h)], fill=0, width=2)
            draw.text((x + font.size // 2, y + row_h // 4), cell, font=font, fill=0)
            x += int(w)
        draw.line([(right, y), (right, y + row_h)], fill=0, width=2)
        y += row_h
    draw.line([(x0, y), (right, y)], fill=0, width=2)
    return img, "\n".join(" ".join(r) for r in rows)


def _table_rows(text: str) -> list[list[str]]:
    """A table built from real clauses: number, a short clause, a figure-like cell."""
    import re

    clauses = [c for c in re.split(r"[，。；、：\s]", text) if 4 <= len(c) <= 14]
    return [["序号", "事项", "完成情况"]] + [
        [str(i + 1), c, f"{(i * 37) % 90 + 10}%"] for i, c in enumerate(clauses[:18])
    ]


def pages(dpi: int) -> list[tuple[str, Image.Image, str]]:
    """(layout name, page image, known text) for the benchmark layouts."""
    docs = sorted(DEV_DOCS.glob("*.txt"))
    texts = [d.read_text(encoding="utf-8") for d in docs]
    out = []
    img, known = prose_page(texts[7][:1400], dpi)
    out.append(("prose-sans-12pt", img, known))
    img, known = prose_page(texts[9][:1400], dpi, SERIF, pt=10.5)
    out.append(("prose-serif-10.5pt", img, known))
    img, known = prose_page(texts[8][:1800], dpi, pt=8)
    out.append(("prose-sans-8pt", img, known))
    img, known = table_page(_table_rows(texts[5]), dpi)
    out.append(("table", img, known))
    img, known = two_column_page(texts[0][:2600], dpi)
    out.append(("two-column-serif", img, known))
    return out


def image_pdf(images: list[Image.Image], dpi: int) -> bytes:
    """An image-only PDF (no text layer), one image per page, as a scanner writes it."""
    buf = io.BytesIO()
    rgb = [im.convert("RGB") for im in images]
    rgb[0].save(buf, "PDF", save_all=True, append_images=rgb[1:], resolution=dpi)
    return buf.getvalue()


# ---- scoring -------------------------------------------------------------------------------


def _squash(text: str) -> str:
    return "".join(text.split())


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def accuracy(known: str, got: str) -> float:
    k, g = _squash(known), _squash(got)
    return max(0.0, 1.0 - edit_distance(k, g) / max(1, len(k)))


def bag_recall(known: str, got: str) -> float:
    k, g = Counter(_squash(known)), Counter(_squash(got))
    return sum((k & g).values()) / max(1, sum(k.values()))


# ---- engines -------------------------------------------------------------------------------


def tesseract_engine() -> Callable[[Image.Image, int], str] | None:
    exe = shutil.which("tesseract")
    if exe is None:
        return None

    def read(img: Image.Image, dpi: int) -> str:
        buf = io.BytesIO()
        img.save(buf, "PNG")
        # Without --dpi Tesseract guesses the resolution of a PNG from stdin, and its layout
        # analysis then fails on whole pages (accuracy 0.25 instead of 0.99 at 200 dpi).
        out = subprocess.run(
            [exe, "stdin", "stdout", "-l", "chi_sim", "--psm", "3", "--dpi", str(dpi)],
            input=buf.getvalue(),
            capture_output=True,
            check=True,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        )
        return out.stdout.decode("utf-8", "replace")

    return read


def rapidocr_engine() -> Callable[[Image.Image, int], str] | None:
    try:
        import numpy as np
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        return None
    engine = RapidOCR()

    def read(img: Image.Image, dpi: int) -> str:
        result, _ = engine(np.asarray(img.convert("RGB")))
        boxes = sorted(result or [], key=lambda r: (r[0][0][1], r[0][0][0]))
        return "\n".join(r[1] for r in boxes)

    return read


def assistant_engine() -> Callable[[Image.Image, int], str] | None:
    """The project's own OCR stage (assistant/ocr.py), whatever engine it picked."""
    try:
        from assistant import ocr
    except ImportError:
        return None
    if not ocr.available():
        return None
    return ocr.read_image


ENGINES = {
    "tesseract": tesseract_engine,
    "rapidocr": rapidocr_engine,
    "assistant": assistant_engine,
}


def render_pdf_pages(data: bytes, dpi: int) -> list[Image.Image]:
    """Every page rendered by pdftoppm (grey PGM), as assistant/ocr.py renders it."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "in.pdf"
        pdf.write_bytes(data)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-gray", str(pdf), str(Path(tmp) / "p")], check=True
        )
        files = sorted(Path(tmp).glob("p-*.pgm"), key=lambda p: int(p.stem.split("-")[-1]))
        return [Image.open(p).copy() for p in files]


def run(dpis: list[int], names: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {"cores": os.cpu_count(), "runs": []}
    for name in names:
        t = time.perf_counter()
        engine = ENGINES[name]()
        if engine is None:
            print(f"{name}: not installed, skipped", file=sys.stderr)
            continue
        load_s = time.perf_counter() - t
        for dpi in dpis:
            layouts = pages(dpi)
            rendered = render_pdf_pages(image_pdf([im for _, im, _ in layouts], dpi), dpi)
            for (layout, _, known), img in zip(layouts, rendered, strict=True):
                engine(img.crop((0, 0, 64, 64)), dpi)  # warm-up outside the timing
                t = time.perf_counter()
                got = engine(img, dpi)
                secs = time.perf_counter() - t
                row = {
                    "engine": name,
                    "dpi": dpi,
                    "layout": layout,
                    "chars": len(_squash(known)),
                    "seconds": round(secs, 2),
                    "accuracy": round(accuracy(known, got), 4),
                    "bag_recall": round(bag_recall(known, got), 4),
                    "load_s": round(load_s, 2),
                }
                results["runs"].append(row)
                print(json.dumps(row, ensure_ascii=False), flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dpi", type=int, nargs="+", default=[150, 200])
    parser.add_argument("--engines", nargs="+", default=["tesseract", "rapidocr"], choices=ENGINES)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = run(args.dpi, args.engines)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
