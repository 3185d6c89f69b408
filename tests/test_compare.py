"""Cross-district questions: per-region retrieval, cited summaries, “该报告未涉及”, the table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant import compare as cmp
from assistant.answers import NOT_COVERED
from assistant.chain import answer_question
from assistant.prompts import SHIPPED_DIR, PromptLibrary
from assistant.settings import Settings, explicit_settings
from tests.test_answers_fakes import FakeRetriever, RecordingChatModel, region_names

pytestmark = pytest.mark.unit

REGIONS = ["薛城区", "大连市", "青山区", "清河门区", "浮山县"]


def settings(tmp_path: Path, **kw) -> Settings:
    return explicit_settings(**kw, prompts_dir=SHIPPED_DIR, store_dir=tmp_path)


@pytest.mark.parametrize(
    ("question", "named", "cross"),
    [
        ("各地在整顿软弱涣散基层党组织方面有哪些做法？", [], True),
        ("哪些地区建立了党群服务中心？", [], True),
        ("比较一下各区的网格化管理", [], True),
        ("对比薛城区和大连市的双报到工作", ["薛城区", "大连市"], True),
        ("薛城区和浮山县是怎样建设服务阵地的？", ["薛城区", "浮山县"], True),
        ("薛城区怎样整顿软弱涣散党组织？", ["薛城区"], False),
        ("哪个城市率先建立了三档38级的社区工作者职业化薪酬体系？", [], False),
    ],
)
def test_detection(question: str, named: list[str], cross: bool) -> None:
    assert cmp.is_cross_question(question, named) is cross


def test_every_region_is_searched_separately() -> None:
    retriever = FakeRetriever()
    plan = cmp.plan(
        "各地在整顿软弱涣散基层党组织方面有哪些做法？",
        retriever=retriever,
        regions=REGIONS,
        region_names=region_names(),
        k=3,
    )
    assert [c["regions"] for c in retriever.calls] == [[r] for r in REGIONS]
    assert all(c["k"] == 3 for c in retriever.calls)
    for part in plan.parts:
        assert all(p.chunk.region == part.region for p in part.passages)


def test_regions_without_the_theme_say_not_covered(tmp_path: Path) -> None:
    ans = answer_question(
        "各地在整顿软弱涣散基层党组织方面有哪些做法？",
        retriever=FakeRetriever(),
        settings=settings(tmp_path),
    )
    assert ans.mode == "compare" and ans.answerer == "offline" and ans.found
    by_region = {r.region: r for r in ans.regions}
    assert list(by_region) == REGIONS
    assert by_region["薛城区"].found and by_region["大连市"].found
    assert not by_region["青山区"].found and by_region["青山区"].summary == NOT_COVERED
    assert by_region["青山区"].citations == []
    assert "46个" in by_region["薛城区"].summary and "115个" in by_region["大连市"].summary
    for summary in ans.regions:
        assert all(c.region == summary.region for c in summary.citations)
    assert ans.unsupported == []


def test_the_table_has_a_cited_row_per_region(tmp_path: Path) -> None:
    ans = answer_question(
        "各地是怎样推动机关党组织和在职党员到社区“双报到”的？",
        retriever=FakeRetriever(),
        settings=settings(tmp_path),
    )
    table = ans.answer[ans.answer.index("### 对比表") :]
    rows = [r for r in table.splitlines() if r.startswith("| ") and "---" not in r][1:]
    assert [r.split("|")[1].strip() for r in rows] == REGIONS
    cited = {c.n: c for c in ans.citations}
    for row in rows:
        region, practice, figures = (cell.strip() for cell in row.strip("|").split("|"))
        if practice == NOT_COVERED:
            assert figures == "—"
            continue
        for cell in (practice, figures):
            if cell != "—":
                numbers = [int(n) for n in re.findall(r"\[(\d+)\]", cell)]
                assert numbers, cell
                assert all(cited[n].region == region for n in numbers)
    assert "1300余名" in table


def test_explicit_regions_limit_the_comparison(tmp_path: Path) -> None:
    retriever = FakeRetriever()
    ans = answer_question(
        "双报到工作",
        retriever=retriever,
        settings=settings(tmp_path),
        mode="compare",
        regions=["青山区", "浮山县"],
    )
    assert [r.region for r in ans.regions] == ["青山区", "浮山县"]
    assert {c["regions"][0] for c in retriever.calls} == {"青山区", "浮山县"}
    two = answer_question(
        "薛城区和青山区是怎样推动双报到的？", retriever=FakeRetriever(), settings=settings(tmp_path)
    )
    assert two.mode == "compare" and [r.region for r in two.regions] == ["薛城区", "青山区"]


def test_llm_compare_gets_only_relevant_passages_and_is_split_by_region(tmp_path: Path) -> None:
    reply = (
        "### 薛城区\n薛城区累计排查整顿软弱涣散基层党组织46个[1]。\n\n"
        "### 大连\n大连市推动115个软弱涣散村全部完成整顿[{d}]。\n\n"
        "### 青山区\n该报告未涉及\n\n### 清河门区\n该报告未涉及\n\n### 浮山县\n该报告未涉及\n\n"
        "### 对比表\n| 地区 | 主要做法 | 关键数据 |\n| --- | --- | --- |\n"
        "| 薛城区 | “四个一”整顿措施[1] | 46个[1] |\n| 大连市 | “四个一”举措[{d}] | 115个[{d}] |\n"
    )
    retriever = FakeRetriever()
    plan = cmp.plan(
        "各地在整顿软弱涣散基层党组织方面有哪些做法？",
        retriever=retriever,
        regions=REGIONS,
        region_names=region_names(),
        k=4,
    )
    dalian = next(p for p in plan.parts if p.region == "大连市")
    d = next(
        n
        for n, p in zip(dalian.numbering, dalian.passages, strict=True)
        if "115个软弱涣散村" in p.chunk.text
    )
    fake = RecordingChatModel(replies=[reply.format(d=d)])
    ans = answer_question(
        "各地在整顿软弱涣散基层党组织方面有哪些做法？",
        retriever=FakeRetriever(),
        settings=settings(tmp_path, context_tokens=100_000),  # same numbering
        chat_model=fake,
    )
    human = fake.calls[-1][1].content
    assert "报告中没有相关内容的地区：青山区、清河门区" in human
    assert 'region="青山区"' not in human and 'region="薛城区"' in human
    assert ans.answerer == "llm:fake-recorder" and ans.unsupported == []
    by_region = {r.region: r for r in ans.regions}
    assert by_region["大连市"].found and by_region["大连市"].citations[0].region == "大连市"
    assert not by_region["青山区"].found


def test_compare_prompt_renders(tmp_path: Path) -> None:
    plan = cmp.plan(
        "各地是如何建设党群服务中心等服务阵地的？",
        retriever=FakeRetriever(),
        regions=REGIONS,
        region_names=region_names(),
    )
    messages = cmp.compare_messages(plan, PromptLibrary(SHIPPED_DIR))
    assert (
        "### 对比表" in messages[1].content and "地区 | 主要做法 | 关键数据" in messages[1].content
    )
