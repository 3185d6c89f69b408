"""ui/text.py: untrusted text made inert for st.markdown, also when streamed piece by piece."""

from __future__ import annotations

import random
import re

import pytest

from assistant.citations import citing_sentences, quoted_spans
from ui.answer_view import _unsupported_spans, answer_markdown
from ui.text import highlight, inert_label, inert_markdown, inert_stream, inert_text

pytestmark = pytest.mark.unit

HOSTILE = (
    "见[1]。<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3)) "
    "![](http://127.0.0.1:9/leak?q=1) www.evil.com a@b.org :red[假] $x^2$ \\<已转义 末尾\\"
)


def _active(md: str) -> list[str]:
    """Constructs that would still act: unescaped <, [, !, $, : outside code spans, bare URLs."""
    outside = re.sub(r"`[^`]*`", "", md)
    found = re.findall(r"(?<!\\)(?:\\\\)*[<\[\]!$:]", outside)
    found += re.findall(r"(?i)https?://|www\.|@\w", outside)
    return found


@pytest.mark.parametrize("escape", [inert_markdown, inert_text, inert_label])
def test_hostile_text_has_nothing_active(escape):
    assert _active(escape(HOSTILE)) == []


def test_markdown_keeps_emphasis_lists_and_tables():
    md = "- **大连市**：全市6331个网格[1]\n\n| 地区 | 数据 |\n| --- | --- |\n| 大连市 | 6331个[1] |"
    out = inert_markdown(md)
    assert out.startswith("- **大连市**：")
    assert "| 地区 | 数据 |" in out and "\\[1\\]" in out


def test_existing_escapes_are_not_doubled():
    assert inert_markdown("a \\<b> !\\[x\\]") == "a \\<b> \\!\\[x\\]"


def test_plain_text_escapes_formatting_and_keeps_line_breaks():
    out = inert_text("# 标题\n1. 不是列表 *也不是强调*\n\n新段落")
    assert out.startswith("\\# 标题  \n1\\. 不是列表 \\*也不是强调\\*")
    assert out.endswith("\n\n新段落")


def test_urls_and_emails_become_code_spans():
    out = inert_markdown("访问http://x.cn/a?b=1网站，或 www.y.com，邮件 a.b@c.org。")
    assert "`http://x.cn/a?b=1`网站" in out and "`www.y.com`" in out and "`a.b@c.org`" in out


def test_streaming_gives_the_same_text_as_escaping_whole():
    rng = random.Random(7)
    for text in [HOSTILE, "看http://a.com/x—y 和 ww w.abc.com a@b.cn结束 mailto:x@y.z", "x\\\\\\"]:
        for _ in range(200):
            pieces, i = [], 0
            while i < len(text):
                j = i + rng.randint(1, 4)
                pieces.append(text[i:j])
                i = j
            assert "".join(inert_stream(pieces)) == inert_markdown(text)


def test_quoted_clauses_are_highlighted_in_the_passage():
    passage = "党员大会共召开7次，参会人员1300余名。其他内容不相关。"
    spans = quoted_spans(passage, ["- **青山区**：党员大会共召开7次,参会人员1300余名。[1]"])
    assert spans == [(0, passage.index("。"))]
    out = highlight(passage, spans)
    assert out.startswith(":orange-background[党员大会共召开7次，参会人员1300余名]")


def test_sentences_citing_a_passage():
    answer = "甲做法很好[1]。乙做法[2]。\n\n| 地区 | 做法 |\n| --- | --- |\n| 丙 | 丙做法[1] |"
    assert citing_sentences(answer, 1) == ["甲做法很好[1]。", " 丙做法[1] "]


def test_unsupported_sentence_found_despite_removed_markers():
    from assistant.answers import Answer, Unsupported

    text = "大连全市已建立6331个网格[1]。\n- 全市共有9999个网格[1]。"
    spans = _unsupported_spans(text, ["- 全市共有9999个网格。"])
    assert [text[s:e] for s, e in spans] == ["全市共有9999个网格[1]。"]
    md = answer_markdown(
        Answer(question="q", answer=text, unsupported=[Unsupported("- 全市共有9999个网格。", "x")])
    )
    assert "\n- :red-background[全市共有9999个网格\\[1\\]。] :red[⚠ 未核实]" in md


def test_answer_markers_link_to_their_sources_and_nothing_else():
    from markdown_it import MarkdownIt

    from assistant.answers import Answer, Citation, Unsupported
    from ui.answer_view import anchor_id

    cited = Citation(1, "c1", "d1", "大连市", "标题", "章节", 0, 4, "6331")
    text = "大连全市已建立6331个网格[1]。另见[2]。" + HOSTILE + "\n- 全市共有9999个网格[1]。"
    answer = Answer(
        question="q",
        answer=text,
        citations=[cited],
        unsupported=[Unsupported("- 全市共有9999个网格。", "x")],
    )
    html = MarkdownIt("commonmark").render(answer_markdown(answer, key="turn 7<"))
    hrefs = re.findall(r'href="([^"]*)"', html)
    # [1] in the text and in HOSTILE link to source 1; [2] cites nothing; the [1] inside the
    # marked unsupported sentence stays text (a link would break the colour directive).
    assert hrefs == ["#cite-turn-7--1", "#cite-turn-7--1"] == ["#" + anchor_id("turn 7<", 1)] * 2
    assert "另见[2]" in html and "javascript" not in "".join(hrefs)
    assert ":red-background[全市共有9999个网格\\[1\\]。]" in answer_markdown(answer, key="k")
    assert "](#" not in answer_markdown(answer)  # without a key: no links (exports, tests)
