"""Scanned PDFs: pages without a text layer are read by Tesseract, then indexed and searchable."""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path

import pytest
from PIL import Image

from assistant import ocr
from assistant.ingest import EMBED, OCR, collect_sources
from assistant.loading import LoadError, load_document
from assistant.pages import normalise

FIXTURES = Path(__file__).parent / "fixtures" / "pdf"
PAGES = json.loads((FIXTURES / "PAGES.json").read_text(encoding="utf-8"))

pytestmark = pytest.mark.integration


def _load(path: Path, **kw):
    return load_document(path, max_bytes=20_000_000, max_chars=200_000, **kw)


def _shared(a: str, b: str, size: int = 8) -> float:
    """Share of the `size`-character pieces of `a` (normalised) found in `b`: OCR tolerance."""
    a, b = normalise(a), normalise(b)
    pieces = [a[i : i + size] for i in range(0, max(1, len(a) - size), size)]
    return sum(p in b for p in pieces) / len(pieces)


def test_ocr_tools_are_installed() -> None:
    assert ocr.unavailable_reason() == "", "run `make install` (Makefile target `ocr`)"


def test_scanned_pdf_is_read_by_ocr_and_searchable_with_its_page(fresh_assistant, tmp_path):
    path = tmp_path / "党员教育管理条例扫描件.pdf"
    shutil.copy(FIXTURES / "scanned.pdf", path)
    events: list[tuple[str, str, int, int]] = []
    result = fresh_assistant.ingestor.ingest(
        collect_sources([path])[0],
        lambda msg, done, total: events.append((msg.stage, msg.name, done, total)),
    )[0]
    assert result.status == "indexed", result.line()
    assert "OCR" in result.reason and "1、2" in result.reason
    # Progress: every page read by OCR, then the chunks embedded, for the same file.
    ocr_events = [(d, t) for stage, _, d, t in events if stage == OCR]
    assert ocr_events == [(0, 2), (1, 2), (2, 2)]
    assert any(stage == EMBED for stage, *_ in events)
    assert {name for _, name, _, _ in events} == {path.name}

    meta, chunks = fresh_assistant.document_text(result.doc_id)
    assert meta.pages == 2 and meta.format == "pdf"
    body = [c for c in chunks if c.kind == "body"]
    assert {c.page for c in body} == {1, 2}
    for c in body:  # each chunk opens with text drawn on the page it names
        opening = normalise(c.text)[:10]
        drawn = [normalise("".join(p)) for p in PAGES["scanned.pdf"]]
        assert [i + 1 for i, d in enumerate(drawn) if opening in d] == [c.page], c.text[:20]
    everything = "".join(c.text + c.section for c in chunks)
    assert _shared("".join(sum(PAGES["scanned.pdf"], [])), everything) > 0.8

    hits = fresh_assistant.search("党员教育管理的首要政治任务是什么", k=3)
    assert hits[0].chunk.doc_id == result.doc_id and hits[0].chunk.page == 2
    assert "首要政治任务" in hits[0].chunk.text


def test_mixed_pdf_reads_only_the_pages_without_text(tmp_path):
    events: list[tuple[int, int]] = []
    loaded = _load(FIXTURES / "mixed.pdf", on_page=lambda d, t: events.append((d, t)))
    assert events[-1] == (2, 2)  # pages 2 and 3; page 1 has a text layer
    first, second, third = loaded.pages
    assert _shared("".join(PAGES["mixed.pdf"][0]), first) > 0.99  # the text layer, verbatim
    assert _shared("".join(PAGES["mixed.pdf"][1]), second) > 0.8
    assert third == ""
    assert loaded.notes == (
        "第 2 页由文字识别(OCR)得到,可能有个别错字",
        "第 3 页没有识别出文字(可能是空白页、图片或字迹不清)",
    )


def _blank_scan() -> bytes:
    buf = io.BytesIO()
    Image.new("1", (1654, 2339), 1).save(buf, "PDF", resolution=200)
    return buf.getvalue()


def test_scan_where_ocr_finds_nothing_is_refused_clearly(tmp_path):
    path = tmp_path / "blank.pdf"
    path.write_bytes(_blank_scan())
    with pytest.raises(LoadError) as err:
        _load(path)
    assert "OCR" in err.value.reason and "没有识别出文字" in err.value.reason


def test_without_the_ocr_tools_a_scan_is_refused_and_a_mixed_pdf_says_so(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # really not installed, as on a bare machine
    ocr._unavailable_reason.cache_clear()
    try:
        with pytest.raises(LoadError) as err:
            _load(FIXTURES / "scanned.pdf")
        assert "扫描图片" in err.value.reason and "make install" in err.value.reason
        loaded = _load(FIXTURES / "mixed.pdf")
        assert loaded.pages[0] and not loaded.pages[1]
        assert loaded.notes and "第 2、3 页是扫描图片" in loaded.notes[0]
    finally:
        monkeypatch.undo()
        ocr._unavailable_reason.cache_clear()


def test_cached_pages_are_not_read_again(tmp_path):
    cache = ocr.OcrCache(tmp_path / "ocr.sqlite3")
    data = (FIXTURES / "scanned.pdf").read_bytes()
    pages = [ocr.PageRequest(1, 595.0, 842.0), ocr.PageRequest(2, 595.0, 842.0)]
    t = time.perf_counter()
    first = ocr.read_pages(data, pages, cache=cache)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    again = ocr.read_pages(data, pages, cache=cache)
    warm = time.perf_counter() - t
    assert again == first and all(p.text for p in first)
    assert warm < cold / 5, (cold, warm)
    other = ocr.read_pages(data[:-1] + b" ", pages[:1], cache=cache)  # other bytes, read anew
    assert other[0].text


def test_tidy_joins_chinese_split_by_spaces_and_keeps_latin_words() -> None:
    assert ocr.tidy("党 员 教 育 ,  Party  building\n\n\n\n第 二 章\f") == (
        "党员教育 , Party building\n\n第二章"
    )


def test_huge_pages_are_rendered_at_a_lower_resolution() -> None:
    assert ocr._dpi_for(ocr.PageRequest(1, 595, 842)) == ocr.DPI  # A4
    huge = ocr.PageRequest(1, 72 * 200, 72 * 200)  # 200 x 200 inches
    assert ocr._dpi_for(huge) * 200 * ocr._dpi_for(huge) * 200 <= ocr.MAX_PIXELS


def test_pages_past_the_time_budget_say_so(monkeypatch):
    monkeypatch.setattr(ocr, "TOTAL_TIMEOUT_S", -1)  # the budget is spent before page 1
    with pytest.raises(LoadError) as err:
        _load(FIXTURES / "scanned.pdf")
    assert "OCR" in err.value.reason and ocr.OUT_OF_TIME in err.value.reason
    loaded = _load(FIXTURES / "mixed.pdf")
    assert loaded.notes == (f"第 2、3 页{ocr.OUT_OF_TIME}",)
