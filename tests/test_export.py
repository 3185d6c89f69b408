"""Brief export: Markdown with footnotes and DOCX with an endnote list; report text stays inert."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from docx import Document
from markdown_it import MarkdownIt

from assistant.answers import Answer, Citation, Unsupported
from assistant.chain import answer_question
from assistant.export import ExportError, export, to_docx, to_markdown
from assistant.prompts import SHIPPED_DIR
from assistant.settings import explicit_settings
from tests.test_answers_fakes import FakeRetriever, make_chunk, passage

pytestmark = pytest.mark.unit

EVIL = (
    "社区网格党组织30个。<script>alert(1)</script><img src=x onerror=alert(2)>"
    "[点我](javascript:alert(3)) ![](http://127.0.0.1:9/leak?q=1)"
)


def evil_answer() -> Answer:
    p1 = passage(make_chunk(EVIL, n=1, title="报告<b>标题</b>", section="一、网格"))
    p2 = passage(make_chunk("共召开会议7次。", n=2, region="大连市", title="综述"))
    return Answer(
        question="网格<script>x</script>有多少？",
        standalone_question="网格有多少？",
        answerer="llm:qwen",
        answer="建立网格党组织30个[1]。<script>alert(4)</script>[x](javascript:alert(5))\n\n共召开会议8次[2]。",
        found=True,
        citations=[Citation.from_passage(1, p1), Citation.from_passage(2, p2)],
        unsupported=[Unsupported("共召开会议8次。", "数字 8 不在所引摘录 [2] 中。")],
        retrieved=[p1, p2],
    )


def rendered(md: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(md)


def test_markdown_has_footnotes_and_a_reference_list() -> None:
    md = to_markdown(evil_answer())
    assert "建立网格党组织30个[^1]。" in md
    assert "[^1]: 薛城区 · 《报告\\<b\\>标题\\</b\\>》 · 一、网格 · “社区网格党组织30个。" in md
    assert "[^2]: 大连市 · 《综述》 · 测试章节 · “共召开会议7次。”" in md
    assert "回答方式：大模型回答（qwen）" in md


def test_unsupported_sentences_are_marked() -> None:
    md = to_markdown(evil_answer())
    assert "共召开会议8次【未核实】[^2]。" in md
    assert "## 未通过核对的内容" in md and "数字 8 不在所引摘录" in md


def test_markdown_export_is_inert_when_rendered() -> None:
    html = rendered(to_markdown(evil_answer()))
    assert "<script" not in html and "<img" not in html
    assert "javascript:" not in re.findall(r'href="([^"]*)"', html).__str__()
    assert (
        "<a " not in html
        and "http://127.0.0.1:9" not in re.findall(r'src="([^"]*)"', html).__str__()
    )
    assert "alert(1)" in html  # shown as text, not dropped


def test_docx_has_the_same_content_and_no_live_content(tmp_path: Path) -> None:
    data = to_docx(evil_answer(), tmp_path / "a.docx")
    assert (tmp_path / "a.docx").read_bytes() == data
    doc = Document(io.BytesIO(data))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "网格<script>x</script>有多少？" in text  # plain text in Word is inert
    assert "建立网格党组织30个[1]。" in text
    assert "共召开会议8次【未核实】[2]。" in text
    assert "参考资料" in text and "[1] 薛城区 · 《报告<b>标题</b>》 · 一、网格" in text
    assert "“社区网格党组织30个。<script>" in text
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = "".join(
            z.read(n).decode("utf-8", "ignore")
            for n in z.namelist()
            if n.endswith(".xml") or n.endswith(".rels")
        )
    assert (
        "<w:hyperlink" not in xml and "<w:drawing" not in xml and 'TargetMode="External"' not in xml
    )


def test_incomplete_answers_say_so(tmp_path: Path) -> None:
    ans = evil_answer()
    ans.complete = False
    ans.notice = "大模型的回答在传输中途中断，已改用离线摘录（以下内容直接摘自报告原文）。"
    md = to_markdown(ans)
    assert "没有完整生成" in md and "传输中途中断" in md
    doc = Document(io.BytesIO(to_docx(ans)))
    assert any("没有完整生成" in p.text for p in doc.paragraphs)


def test_compare_answer_exports_its_table(tmp_path: Path) -> None:
    s = explicit_settings(prompts_dir=SHIPPED_DIR, store_dir=tmp_path)
    ans = answer_question(
        "各地在整顿软弱涣散基层党组织方面有哪些做法？", retriever=FakeRetriever(), settings=s
    )
    md = to_markdown(ans)
    html = rendered(md)
    assert "<table>" in html and "该报告未涉及" in html
    assert all(f"[^{c.n}]:" in md for c in ans.citations)
    doc = Document(io.BytesIO(to_docx(ans)))
    assert len(doc.tables) == 1
    assert doc.tables[0].cell(0, 0).text == "地区"
    assert len(doc.tables[0].rows) == 6


def test_export_by_suffix(tmp_path: Path) -> None:
    ans = evil_answer()
    assert export(ans, tmp_path / "x.md").read_text(encoding="utf-8").startswith("# ")
    assert zipfile.is_zipfile(export(ans, tmp_path / "x.DOCX"))
    with pytest.raises(ExportError, match="只支持 .md 和 .docx"):
        export(ans, tmp_path / "x.html")
