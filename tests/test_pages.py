"""Page provenance: chunks of a paged PDF know their page, and so do search results and citations."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.answers import Citation
from assistant.api import citation_dict
from assistant.pages import assign_pages, normalise
from assistant.types import Chunk

FIXTURES = Path(__file__).parent / "fixtures" / "pdf"
PAGES = json.loads((FIXTURES / "PAGES.json").read_text(encoding="utf-8"))
HEADER = "中共中央 国务院关于做好2023年全面推进乡村振兴重点工作的意见"  # on every page of paged.pdf


def _chunk(text: str, i: int = 0, kind: str = "body") -> Chunk:
    return Chunk(f"c{i}", "d", text, "", "", "", i, i, i + len(text), kind)


# ---- locating chunks in raw pages ----------------------------------------------------------


@pytest.mark.unit
def test_chunks_are_found_although_cleaning_rewrote_whitespace_and_punctuation() -> None:
    pages = [
        "第一部分 总体要求\n加强基层党组织建设，\n推进组织\n",
        "— 2 —\n振兴。各级党委要  把党建\n工作摆在突出位置, 抓好落实。",
        "第三部分\n完善工作机制。",
    ]
    chunks = [
        _chunk("第一部分总体要求", 0),
        _chunk("加强基层党组织建设，推进组织振兴。", 1),  # joined across the page break
        _chunk("各级党委要把党建工作摆在突出位置，抓好落实。", 2),
        _chunk("完善工作机制。", 3),
    ]
    assert [c.page for c in assign_pages(chunks, pages)] == [1, 1, 2, 3]


@pytest.mark.unit
def test_a_repeated_sentence_is_found_after_the_previous_chunk() -> None:
    pages = ["坚持问题导向。第一项任务。", "其他内容。", "坚持问题导向。第二项任务。"]
    chunks = [
        _chunk("第一项任务。", 0),
        _chunk("其他内容。", 1),
        _chunk("坚持问题导向。第二项任务。", 2),
    ]
    assert [c.page for c in assign_pages(chunks, pages)] == [1, 2, 3]


@pytest.mark.unit
def test_text_not_on_any_page_gets_page_zero_and_unpaged_sources_keep_zero() -> None:
    chunks = [_chunk("完全不在页面中的句子。", 0), _chunk("图片说明文字", 1, kind="caption")]
    out = assign_pages(chunks, ["第一页的正文。", "图片说明文字出现在第二页。"])
    assert [c.page for c in out] == [0, 2]
    assert [c.page for c in assign_pages(chunks, [])] == [0, 0]


@pytest.mark.unit
def test_an_altered_opening_is_located_by_a_later_window() -> None:
    body = "推动党建工作与业务工作深度融合，形成了一批可复制可推广的经验做法，取得明显成效。"
    pages = ["前言部分。", "【页眉】" + body]
    chunk = _chunk("（续）" + body.replace("推动", "推进", 1), 0)
    assert assign_pages([chunk], pages)[0].page == 2


@pytest.mark.unit
def test_normalise_keeps_only_letters_and_digits() -> None:
    assert normalise("（一）党员 1,300 名；ＡＢ\n") == "一党员1300名ab"


@pytest.mark.unit
def test_chunk_page_round_trips_and_old_records_load() -> None:
    chunk = Chunk("c1", "d", "正文。", "某区", "标题", "", 0, 0, 3, page=4)
    md = chunk.metadata()
    assert md["page"] == 4 and Chunk.from_metadata(chunk.text, md) == chunk
    old = {k: v for k, v in md.items() if k != "page"}  # stored before pages existed
    assert Chunk.from_metadata(chunk.text, old).page == 0
    assert Chunk.from_metadata(chunk.text, {**md, "page": "x"}).page == 0


# ---- a real three-page PDF through ingest ------------------------------------------------


def _page_of(text: str, pages: list[list[str]]) -> int:
    """The page (1-based) of the fixture whose paragraphs contain `text`, by construction."""
    key = normalise(text)[:20]
    found = [i + 1 for i, paras in enumerate(pages) if key in normalise("".join(paras))]
    assert len(found) == 1, text
    return found[0]


@pytest.fixture
def paged(fresh_assistant, tmp_path: Path):
    path = tmp_path / "乡村振兴意见.pdf"
    shutil.copy(FIXTURES / "paged.pdf", path)
    result = fresh_assistant.ingest_paths([path])[0]
    assert result.status == "indexed", result.line()
    return fresh_assistant, result.doc_id


@pytest.mark.integration
def test_chunks_of_a_text_pdf_carry_the_page_they_start_on(paged) -> None:
    assistant, doc_id = paged
    meta, chunks = assistant.document_text(doc_id)
    assert meta.pages == 3 and meta.format == "pdf"
    body = [c for c in chunks if c.kind == "body"]
    assert {c.page for c in body} == {1, 2, 3}
    for c in body:
        assert c.page == _page_of(c.text, PAGES["paged.pdf"]), c.text[:30]
    # The paragraph cut by the break between pages 2 and 3 is one chunk, on page 2.
    before, after = PAGES["paged.pdf"][1][-1], PAGES["paged.pdf"][2][0]
    [spanning] = [c for c in body if normalise(after)[:12] in normalise(c.text)]
    assert normalise(before)[:12] in normalise(spanning.text) and spanning.page == 2
    # Running header and page numbers ("— 2 —") are page furniture, not indexed text.
    every = "".join(c.text for c in chunks)
    assert HEADER not in every and "—" not in every


@pytest.mark.integration
def test_search_json_and_citations_show_the_page(paged) -> None:
    assistant, doc_id = paged
    target = PAGES["paged.pdf"][2][1]  # （三十）加强农村精神文明建设……, on page 3
    question = "如何加强农村精神文明建设"
    out = subprocess.run(
        [sys.executable, "-m", "assistant", "search", question, "--k", "3", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "ASSISTANT_STORE_DIR": str(assistant.settings.store_dir)},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)
    assert hits[0]["doc_id"] == doc_id
    assert normalise(target)[:12] in normalise(hits[0]["text"])
    assert hits[0]["page"] == 3
    assert all(isinstance(h["page"], int) and 1 <= h["page"] <= 3 for h in hits)

    answer = assistant.ask(question, offline=True)
    assert answer.citations, answer.answer
    for c in answer.citations:
        chunk = next(ch for ch in assistant.store.chunks_of(doc_id) if ch.chunk_id == c.chunk_id)
        assert c.page == chunk.page >= 1
        assert citation_dict(c)["page"] == c.page
    assert 3 in {c.page for c in answer.citations}


@pytest.mark.unit
def test_a_citation_of_an_unpaged_source_has_no_page() -> None:
    from assistant.types import Passage

    c = Citation.from_passage(1, Passage(_chunk("没有页码的文本。"), 1.0))
    assert c.page == 0 and citation_dict(c)["page"] is None


@pytest.mark.unit
def test_page_numbers_and_running_headers_are_stripped_at_page_edges_only() -> None:
    from assistant.load_pdf import strip_page_furniture

    heads = ["一、总体情况。", "二、主要做法。", "三、存在问题。", "四、下一步打算。"]
    tails = ["情况良好。", "成效明显。", "仍有不足。", "继续努力。"]
    pages = [
        f"关于基层治理的调研报告\n{h}\n2023\n本页正文的第{n}段。\n{t}\n— {n} —"
        for n, (h, t) in enumerate(zip(heads, tails, strict=True), start=1)
    ]
    pages[1] = "第 2 页 共 4 页\n" + pages[1].replace("关于基层治理的调研报告\n", "")
    out = strip_page_furniture(pages)
    assert out[0] == "一、总体情况。\n2023\n本页正文的第1段。\n情况良好。"
    assert out[1] == "二、主要做法。\n2023\n本页正文的第2段。\n成效明显。"
    # Two pages are too few to call a repeated first line a running header.
    assert strip_page_furniture(pages[:2])[0].startswith("关于基层治理的调研报告\n")
