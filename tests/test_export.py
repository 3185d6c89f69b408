"""Brief export: .docx in official format (A4, 仿宋 三号, fixed 28 pt, GB/T 9704 margins), Markdown
with [n] and a reference list, plain text for Word/WPS; report text stays inert."""

from __future__ import annotations

import io
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Pt
from markdown_it import MarkdownIt

from assistant.answer_offline import squash_spaces
from assistant.answers import Answer, Citation, Unsupported, neutralize_markdown
from assistant.chain import answer_question
from assistant.export import (
    APP_NAME,
    LONG_SENTENCE,
    ExportError,
    brief_of,
    export,
    to_docx,
    to_markdown,
    to_text,
)
from assistant.prompts import SHIPPED_DIR
from assistant.settings import explicit_settings
from tests.test_answers_fakes import FakeRetriever, StaticRetriever, make_chunk, passage

pytestmark = pytest.mark.unit

EVIL = (
    "社区网格党组织30个。<script>alert(1)</script><img src=x onerror=alert(2)>"
    "[点我](javascript:alert(3)) ![](http://127.0.0.1:9/leak?q=1)"
)
# A passage of several sentences: a reference quotes only the one the answer cites.
LONG_PASSAGE = (
    "全区坚持党建引领基层治理。共召开会议7次，研究部署重点任务。"
    "各街道建立网格党组织30个，配备专职网格员120名。下一步将继续完善考核机制。"
)


def evil_answer() -> Answer:
    p1 = passage(make_chunk(EVIL, n=1, title="报告<b>标题</b>", section="一、网格"))
    p2 = passage(make_chunk(LONG_PASSAGE, n=2, region="大连市", title="综述", doc_id="000_3076"))
    c1, c2 = Citation.from_passage(1, p1), Citation.from_passage(2, p2)
    c2.page = 3  # the page field of PDF citations (read with getattr)
    return Answer(
        question="网格<script>x</script>有多少？",
        standalone_question="网格有多少？",
        answerer="llm:qwen",
        answer=neutralize_markdown(
            "建立网格党组织30个[1]。<script>alert(4)</script>[x](javascript:alert(5))\n\n"
            "共召开会议8次[2]。"
        ),
        found=True,
        citations=[c1, c2],
        unsupported=[Unsupported("共召开会议8次。", "数字 8 不在所引摘录 [2] 中。")],
        retrieved=[p1, p2],
    )


def structured_answer() -> Answer:
    """A model's answer with two heading levels, a list and a numbered point."""
    p = passage(make_chunk(LONG_PASSAGE, n=1, region="大连市", title="综述"))
    text = (
        "## 一、总体情况\n\n全区坚持党建引领基层治理[1]。\n\n"
        "### （一）网格建设\n\n- 各街道建立网格党组织30个[1]。\n1. 配备专职网格员120名[1]。"
    )
    return Answer(
        question="网格建设情况如何？",
        answerer="llm:qwen",
        answer=text,
        found=True,
        citations=[Citation.from_passage(1, p)],
    )


def rendered(md: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(md)


def body_of(doc) -> list:
    """Paragraphs with text between the title and the 参考资料 heading."""
    out = []
    for p in doc.paragraphs[1:]:
        if p.style.name.startswith("Heading") and p.text in ("参考资料", "说明"):
            break
        if p.text:
            out.append(p)
    return out


def east_asia(run) -> str:
    return run.font.element.rPr.rFonts.get(qn("w:eastAsia"))


# ---- Word ---------------------------------------------------------------------------------


def test_docx_page_is_a4_with_official_margins_and_page_numbers() -> None:
    doc = Document(io.BytesIO(to_docx(evil_answer())))
    s = doc.sections[0]
    assert (round(s.page_width.mm), round(s.page_height.mm)) == (210, 297)
    margins = [s.top_margin, s.bottom_margin, s.left_margin, s.right_margin]
    assert [round(m.mm) for m in margins] == [37, 35, 28, 26]
    for footer in (s.footer, s.even_page_footer):
        xml = footer.paragraphs[0]._p.xml
        assert 'w:instrText xml:space="preserve"> PAGE </w:instrText>' in xml
        assert footer.paragraphs[0].text.startswith("— ")
    assert doc.settings.odd_and_even_pages_header_footer


def test_docx_body_is_fangsong_sanhao_at_a_fixed_28pt() -> None:
    doc = Document(io.BytesIO(to_docx(structured_answer())))
    body = [p for p in body_of(doc) if p.text and not p.style.name.startswith("Heading")]
    assert len(body) == 3
    for p in body:
        assert p.paragraph_format.line_spacing_rule == WD_LINE_SPACING.EXACTLY
        assert p.paragraph_format.line_spacing == Pt(28)
        assert p.paragraph_format.first_line_indent == Pt(32)
        for run in p.runs:
            assert east_asia(run) == "仿宋_GB2312" and run.font.name == "Times New Roman"
            assert run.font.size == Pt(16)
    assert body[2].text == "1. 配备专职网格员120名[1]。"
    markers = [r for p in body for r in p.runs if r.text == "[1]"]
    assert markers and all(r.font.superscript for r in markers)
    # The styles say the same, so text typed into the document matches.
    normal = doc.styles["Normal"]
    assert normal.element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert normal.font.size == Pt(16)


def test_docx_headings_are_heiti_then_kaiti() -> None:
    doc = Document(io.BytesIO(to_docx(structured_answer())))
    title = doc.paragraphs[0]
    assert title.style.name == "Title" and title.text == "网格建设情况如何？"
    assert east_asia(title.runs[0]) == "方正小标宋简体" and title.runs[0].font.size == Pt(22)
    headings = {p.text: p for p in doc.paragraphs if p.style.name.startswith("Heading")}
    one, two = headings["一、总体情况"], headings["（一）网格建设"]
    assert one.style.name == "Heading 1" and east_asia(one.runs[0]) == "黑体"
    assert two.style.name == "Heading 2" and east_asia(two.runs[0]) == "楷体_GB2312"
    assert one.runs[0].font.size == two.runs[0].font.size == Pt(16)
    assert one.runs[0].font.color.rgb == two.runs[0].font.color.rgb is None  # black by style
    assert headings["参考资料"].style.name == headings["说明"].style.name == "Heading 1"


def test_docx_font_table_names_fallbacks() -> None:
    with zipfile.ZipFile(io.BytesIO(to_docx(evil_answer()))) as z:
        fonts = z.read("word/fontTable.xml").decode("utf-8")
    for name, alt in (("仿宋_GB2312", "仿宋,FangSong"), ("楷体_GB2312", "楷体,KaiTi")):
        assert f'<w:font w:name="{name}"><w:altName w:val="{alt}"/>' in fonts


def test_docx_references_quote_only_the_cited_sentence() -> None:
    doc = Document(io.BytesIO(to_docx(evil_answer())))
    texts = [p.text for p in doc.paragraphs]
    start = texts.index("参考资料")
    refs = texts[start + 1 : texts.index("说明")]
    assert len(refs) == 2
    assert refs[0].startswith("[1] 薛城区 · 《报告<b>标题</b>》 · 一、网格：“社区网格党组织30个。")
    assert (
        refs[1] == "[2] 大连市 · 《综述》 · 测试章节 · 第3页：“共召开会议7次，研究部署重点任务。”"
    )
    text = "\n".join(texts)
    assert "网格员120名" not in text and "000_3076" not in text and "test:0002" not in text


def test_docx_properties_name_the_app_and_the_question() -> None:
    doc = Document(io.BytesIO(to_docx(evil_answer(), reports=5)))
    cp = doc.core_properties
    assert cp.author == cp.last_modified_by == APP_NAME
    assert cp.title == "网格<script>x</script>有多少？"
    assert "大模型（qwen）" in cp.subject
    assert "大模型（qwen）" in cp.comments and "共 5 份报告" in cp.comments
    assert "python-docx" not in cp.comments and cp.keywords == "薛城区、大连市"


def test_docx_body_has_no_mode_notes_and_keeps_the_text_inert(tmp_path: Path) -> None:
    data = to_docx(evil_answer(), tmp_path / "a.docx")
    assert (tmp_path / "a.docx").read_bytes() == data
    doc = Document(io.BytesIO(data))
    body = "\n".join(p.text for p in body_of(doc))
    assert body.startswith(
        "建立网格党组织30个[1]。<script>alert(4)</script>[x](javascript:alert(5))"
    )
    assert "共召开会议8次【未核实】[2]。" in body
    assert "回答方式" not in body and "大模型" not in body
    notes = [p.text for p in doc.paragraphs]
    notes = notes[notes.index("说明") + 1 :]
    assert notes[0].startswith("回答方式：大模型（qwen）")
    assert any("1 处内容未能通过出处核对" in n for n in notes)
    assert "（1）“共召开会议8次。”：数字 8 不在所引摘录 [2] 中。" in notes
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = "".join(
            z.read(n).decode("utf-8", "ignore")
            for n in z.namelist()
            if n.endswith(".xml") or n.endswith(".rels")
        )
    assert "<script" not in xml and "<w:hyperlink" not in xml and "<w:drawing" not in xml
    assert 'TargetMode="External"' not in xml


def test_docx_drops_characters_xml_cannot_hold() -> None:
    ans = evil_answer()
    ans.question = "网格\x00有\x0b多少？"
    ans.answer = "建立网格党组织\x0130个[1]。"
    ans.citations[0].quote = "社区网格\x1f党组织30个。"
    doc = Document(io.BytesIO(to_docx(ans)))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "网格有多少？" in text and "建立网格党组织30个[1]。" in text
    assert "“社区网格党组织30个。”" in text


def test_long_questions_fit_the_document_properties() -> None:
    ans = evil_answer()
    ans.question = "网格" * 400
    cp = Document(io.BytesIO(to_docx(ans))).core_properties
    assert cp.title == ("网格" * 400)[:255]


# ---- Markdown -----------------------------------------------------------------------------


def test_markdown_has_markers_and_a_reference_list() -> None:
    md = to_markdown(evil_answer())
    assert "[^" not in md and "\\" not in md
    assert "建立网格党组织30个[1]。" in md
    assert "[1] 薛城区 · 《报告＜b＞标题＜/b＞》 · 一、网格：“社区网格党组织30个。" in md
    assert "[2] 大连市 · 《综述》 · 测试章节 · 第3页：“共召开会议7次，研究部署重点任务。”" in md
    assert "000_3076" not in md and "test:000" not in md and "网格员120名" not in md
    assert md.index("## 参考资料") < md.index("## 说明")
    assert "- 回答方式：大模型（qwen）" in md.split("## 说明")[1]
    assert "回答方式" not in md.split("## 参考资料")[0]


def test_unsupported_sentences_are_marked_in_every_format() -> None:
    ans = evil_answer()
    assert "共召开会议8次【未核实】[2]。" in to_markdown(ans)
    assert "共召开会议8次【未核实】[2]。" in to_text(ans)
    notes = to_markdown(ans).split("## 说明")[1]
    assert "数字 8 不在所引摘录 [2] 中" in notes


def test_markdown_export_is_inert_when_rendered() -> None:
    html = rendered(to_markdown(evil_answer()))
    assert "<script" not in html and "<img" not in html and "<a " not in html
    assert "javascript:" not in str(re.findall(r'href="([^"]*)"', html))
    assert "alert(4)" in html  # shown as text, not dropped
    assert "alert(1)" not in html  # in the cited passage, but not in the cited sentence


HOSTILE = [
    "<script>alert('xss')</script><img src=x onerror=alert(1)>",
    "[点此查看](javascript:alert(2)) ![](http://127.0.0.1:9/leak?q=1)",
    '<a href="javascript:alert(3)">链接</a><http://127.0.0.1:9/auto><!-- 注释 -->',
    "[ref]: http://127.0.0.1:9/def",
    "![x][ref] [y][ref] 详见 http://127.0.0.1:9/bare 或 www.example.com，邮箱 evil@example.com",
    "# 假标题",
    "> 假引用",
    "| 伪 | 表 |",
    "```",
    "<iframe src=//127.0.0.1:9/frame></iframe><svg onload=alert(4)>",
]
_SAFE_TAGS = {"h1", "h2", "h3", "p", "ul", "ol", "li", "strong", "em", "code"}
_SAFE_TAGS |= {"table", "thead", "tbody", "tr", "th", "td"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def _tags(html: str) -> list[tuple[str, list]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def hostile_answer() -> Answer:
    """A model's answer quoting hostile report text line by line, as the chain stores it."""
    chunks = [
        make_chunk(f"第{i}次入户走访居民{100 + i}户。{h}共发放资料{i}份。", n=i)
        for i, h in enumerate(HOSTILE, 1)
    ]
    lines = [f"{h}第{i}次入户走访居民{100 + i}户[{i}]。" for i, h in enumerate(HOSTILE, 1)]
    return Answer(
        question="入户走访了多少户？",
        answerer="llm:qwen",
        answer=neutralize_markdown("\n\n".join(lines)),
        found=True,
        citations=[Citation.from_passage(i, passage(c)) for i, c in enumerate(chunks, 1)],
    )


@pytest.mark.parametrize("make", [hostile_answer, evil_answer])
def test_hostile_report_text_is_inert_markdown(make) -> None:
    answer = make()
    md = to_markdown(answer)
    assert "\\" not in md, "no backslash escapes"
    html = rendered(md)
    tags = _tags(html)
    assert {t for t, _ in tags} <= _SAFE_TAGS, tags
    assert not any(attrs for _, attrs in tags), "no href, src or on* attribute"
    assert [t for t, _ in tags].count("h1") == 1 and "table" not in {t for t, _ in tags}
    # Bare URLs and e-mail addresses sit in code spans, which no linkifier touches.
    for block in MarkdownIt("commonmark").parse(md):
        for t in block.children or []:
            if t.type == "text":
                assert not re.search(r"https?://|www\.|@example", t.content), t.content
    assert "alert" in md and "＜script＞" in md


def test_markdown_has_no_backslash_noise_for_brackets() -> None:
    p = passage(make_chunk("（三）落实(三)项制度，共走访居民103户。[注]见附表*1*。", n=1))
    ans = Answer(
        question="(三)项制度是什么？",
        answerer="offline",
        answer=neutralize_markdown("（三）落实(三)项制度，共走访居民103户[1]。"),
        found=True,
        citations=[Citation.from_passage(1, p)],
    )
    md = to_markdown(ans)
    assert "\\(" not in md and "\\" not in md
    assert "# (三)项制度是什么？" in md and "落实(三)项制度" in md


def test_structured_answer_keeps_its_structure_in_markdown() -> None:
    md = to_markdown(structured_answer())
    assert "## 一、总体情况" in md and "### （一）网格建设" in md
    assert "- 各街道建立网格党组织30个[1]。\n1. 配备专职网格员120名[1]。" in md
    html = rendered(md)
    assert "<ul>" in html and "<ol>" in html


# ---- plain text ---------------------------------------------------------------------------


def test_plain_text_has_the_same_content_without_markdown() -> None:
    for answer in (evil_answer(), structured_answer()):
        text = to_text(answer)
        lines = text.splitlines()
        assert lines[0] == answer.question
        assert "**" not in text and "[^" not in text and "\\" not in text
        body = text.split("\n参考资料\n")[0]
        assert not any(re.match(r"(#{1,6} |[-*+] |> |\|)", line) for line in body.splitlines())
        assert all(f"\n[{c.n}] " in text for c in answer.citations)
        assert "\n说明\n回答方式：" in text
    text = to_text(evil_answer())
    assert "<script>alert(4)</script>" in text  # plain text is shown, never rendered
    hostile = to_text(hostile_answer())
    for h in HOSTILE:
        if not h.startswith(("#", ">")):  # those are the model's headings and quotes
            assert h in hostile, "report text is kept as written"
    assert "[2] 大连市 · 《综述》 · 测试章节 · 第3页：“共召开会议7次，研究部署重点任务。”" in text


def test_offline_answer_loses_its_mode_label() -> None:
    p = passage(make_chunk(LONG_PASSAGE, n=1, region="大连市", title="综述"))
    ans = Answer(
        question="网格党组织有多少个？",
        answer="（离线摘录：以下内容直接摘自报告原文，未经大模型生成）\n\n"
        "- **大连市**：各街道建立网格党组织30个，配备专职网格员120名。[1]",
        found=True,
        citations=[Citation.from_passage(1, p)],
    )
    text = to_text(ans)
    assert text.splitlines()[2] == "大连市：各街道建立网格党组织30个，配备专职网格员120名。[1]"
    assert "离线摘录" not in text.split("\n说明\n")[0]
    assert "回答方式：离线摘录" in text.split("\n说明\n")[1]
    md = to_markdown(ans)
    assert "- **大连市**：各街道建立网格党组织30个" in md
    assert md.count("离线摘录") == 1


# ---- warnings and odd answers -------------------------------------------------------------


def test_incomplete_answers_say_so_in_the_notes() -> None:
    ans = evil_answer()
    ans.answerer = "offline"
    ans.complete = False
    ans.notice = "大模型的回答在传输中途中断，已改用离线摘录（以下内容直接摘自报告原文）。"
    ans.answer = f"> ⚠️ {ans.notice}\n\n{ans.answer}"
    ans.partial = "残缺回答甲乙丙"
    for text in (to_markdown(ans), to_text(ans)):
        head, notes = text.split("说明\n", 1)
        assert "没有完整生成" not in head and "传输中途中断" not in head
        assert "没有完整生成" in notes and "传输中途中断" in notes
        assert "残缺回答" not in text, "the cut text is never exported"
    doc = Document(io.BytesIO(to_docx(ans)))
    texts = [p.text for p in doc.paragraphs]
    assert any("没有完整生成" in t for t in texts[texts.index("说明") :])
    assert not any("传输中途中断" in t for t in texts[: texts.index("说明")])


def test_an_answer_that_is_only_a_notice_keeps_it_in_the_body() -> None:
    ans = Answer(question="？？", answer="请输入问题。", notice="请输入问题。")
    brief = brief_of(ans)
    assert [b.text for b in brief.blocks] == ["请输入问题。"]
    assert "请输入问题。" in brief.notes
    assert Document(io.BytesIO(to_docx(ans))).paragraphs[0].text == "？？"


def test_only_cited_passages_and_checked_text_are_exported() -> None:
    ans = evil_answer()
    secret = "sk-test-DUMMY-0123456789abcdef"
    other = passage(make_chunk(f"未被引用的段落 {secret}。", n=9))
    ans.retrieved.append(other)
    ans.partial = f"残缺 {secret}"
    ans.prompt = secret
    data = to_docx(ans)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = "".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist() if ".xml" in n)
    for text in (to_markdown(ans), to_text(ans), xml):
        assert secret not in text and "未被引用的段落" not in text


def test_paraphrased_and_long_citations_quote_the_closest_words() -> None:
    long_sentence = "，".join(f"第{i}项措施落实到位" for i in range(1, 30)) + "。"
    assert len(long_sentence) > LONG_SENTENCE
    p1 = passage(make_chunk(LONG_PASSAGE, n=1, region="大连市", title="综述"))
    p2 = passage(make_chunk("开头一句。" + long_sentence, n=2))
    ans = Answer(
        question="考核机制怎样？",
        answerer="llm:qwen",
        # A paraphrase sharing no clause of 6+ characters, and a quote of one clause.
        answer="今后还要完善考核[1]。第17项措施落实到位[2]。",
        found=True,
        citations=[Citation.from_passage(1, p1), Citation.from_passage(2, p2)],
    )
    refs = brief_of(ans).references
    assert refs[0].quote == "下一步将继续完善考核机制。"
    assert refs[1].quote == "……第17项措施落实到位……"


# ---- comparisons --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compare_answer(tmp_path_factory) -> Answer:
    s = explicit_settings(prompts_dir=SHIPPED_DIR, store_dir=tmp_path_factory.mktemp("store"))
    ans = answer_question(
        "各地在整顿软弱涣散基层党组织方面有哪些做法？", retriever=FakeRetriever(), settings=s
    )
    assert ans.mode == "compare" and ans.regions
    return ans


def test_compare_answer_exports_its_table_once(compare_answer) -> None:
    ans = compare_answer
    md = to_markdown(ans)
    html = rendered(md)
    assert html.count("<table>") == 1 and "该报告未涉及" in html
    assert md.count("| 地区 | 主要做法 | 关键数据 | 证据强度 |") == 1
    assert all(f"\n[{c.n}] " in md for c in ans.citations)
    doc = Document(io.BytesIO(to_docx(ans)))
    assert len(doc.tables) == 1
    table = doc.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["地区", "主要做法", "关键数据", "证据强度"]
    assert len(table.rows) == len(ans.regions) + 1
    for region, row in zip(ans.regions, table.rows[1:], strict=True):
        cells = [c.text for c in row.cells]
        assert cells[0] == region.region
        if region.found:
            assert re.search(r"\[\d+\]", cells[1]) and re.search(r"\[\d+\]", cells[2])
            assert cells[3] in ("强", "中", "弱")
        else:
            assert cells[1] == "该报告未涉及" and cells[2] == cells[3] == "—"
    cell_run = table.rows[1].cells[1].paragraphs[0].runs[0]
    assert east_asia(cell_run) == "仿宋_GB2312" and cell_run.font.size == Pt(14)
    text = to_text(ans)
    assert "| " not in text and text.count("主要做法：") == len(ans.regions)


def test_compare_references_quote_cited_sentences_not_whole_passages(compare_answer) -> None:
    ans = compare_answer
    refs = brief_of(ans).references
    for ref, c in zip(refs, ans.citations, strict=True):
        pieces = [p for p in ref.quote.split("……") if p]
        passage_text = squash_spaces(" ".join(c.quote.split()))
        assert pieces and all(p in passage_text for p in pieces), (ref.quote, c.quote)
    # Passages hold more than the sentences their citing lines quote.
    shorter = [r for r, c in zip(refs, ans.citations, strict=True) if len(r.quote) < len(c.quote)]
    assert shorter, "no reference was cut down to its cited sentences"


def test_offline_chain_answer_over_hostile_reports_is_inert(tmp_path: Path) -> None:
    chunks = [
        make_chunk(f"第{i}次入户走访居民{100 + i}户。{h}共发放资料{i}份。", n=i)
        for i, h in enumerate(HOSTILE, 1)
    ]
    s = explicit_settings(prompts_dir=SHIPPED_DIR, store_dir=tmp_path)
    ans = answer_question("入户走访居民多少户？", retriever=StaticRetriever(chunks), settings=s)
    assert ans.citations
    md = to_markdown(ans)
    tags = _tags(rendered(md))
    assert {t for t, _ in tags} <= _SAFE_TAGS and not any(a for _, a in tags)
    assert "\\" not in md


def test_export_by_suffix(tmp_path: Path) -> None:
    ans = evil_answer()
    assert export(ans, tmp_path / "x.md").read_text(encoding="utf-8").startswith("# ")
    assert zipfile.is_zipfile(export(ans, tmp_path / "x.DOCX"))
    txt = export(ans, tmp_path / "x.txt").read_bytes()
    assert txt.startswith(b"\xef\xbb\xbf") and txt.decode("utf-8-sig") == to_text(ans)
    with pytest.raises(ExportError, match="只支持 .md、.docx 和 .txt"):
        export(ans, tmp_path / "x.html")


# ---- the UI's 复制为简报 ------------------------------------------------------------------


def _export_block(answer) -> None:
    from ui.exports import render_export

    render_export(answer, "t")


def test_ui_offers_the_plain_text_copy_and_three_downloads(indexed_assistant, isolated_env):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    from ui.state import OVERRIDE_KEY

    answer = indexed_assistant.ask("大连市两新领域新组建了多少个党组织？", offline=True)
    assert answer.citations
    at = AppTest.from_function(_export_block, args=(answer,), default_timeout=60)
    at.session_state[OVERRIDE_KEY] = indexed_assistant
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    reports = len(indexed_assistant.retriever.documents())
    copy = at.code[0]
    assert copy.language in (None, "", "text", "plaintext")
    assert copy.value.strip() == to_text(answer, reports).strip()
    assert f"共 {reports} 份报告" in copy.value
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["下载 .docx", "下载 .md", "下载 .txt"]
