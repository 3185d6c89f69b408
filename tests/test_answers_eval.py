"""The offline answerer on the shared evaluation questions, over the real indexed corpus."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


def _has_keys(answer: str, keys: list[list[str]]) -> bool:
    return all(any(alt in answer for alt in group) for group in keys)


def test_offline_answers_meet_the_issue_targets(indexed_assistant, eval_questions) -> None:
    fact_hits, cross_recall, misses = [], [], []
    for q in eval_questions:
        ans = indexed_assistant.ask(q["question"], offline=True)
        assert ans.answerer == "offline" and ans.answer.startswith("（离线摘录")
        assert ans.unsupported == [], (q["id"], ans.unsupported)
        if q["kind"] in ("fact", "para"):
            ok = ans.found and _has_keys(ans.answer, q["answer_keys"])
            fact_hits.append(ok)
            if not ok:
                misses.append((q["id"], ans.answer))
        elif q["kind"] == "cross":
            assert ans.mode == "compare"
            cited = {c.doc_id for c in ans.citations}
            cross_recall.append(len(cited & set(q["gold_docs"])) / len(q["gold_docs"]))
        else:
            assert not ans.found, (q["id"], ans.answer)
            assert "报告中未找到" in ans.answer and ans.citations == []
    fact_rate = sum(fact_hits) / len(fact_hits)
    cross_rate = sum(cross_recall) / len(cross_recall)
    print(
        f"\nfact/para answer keys: {fact_rate:.0%} of {len(fact_hits)}; cross gold docs cited: {cross_rate:.0%}"
    )
    assert fact_rate >= 0.8, misses
    assert cross_rate >= 0.8


def test_not_found_for_terms_absent_from_the_reports(indexed_assistant) -> None:
    ans = indexed_assistant.ask("大连市2023年的地区生产总值是多少？", offline=True)
    assert not ans.found and "报告中未找到" in ans.answer, ans.answer
    assert ans.failure == "not_found" and ans.citations == []


def test_a_place_no_report_covers_gets_its_own_answer(indexed_assistant) -> None:
    ans = indexed_assistant.ask("浦东新区有多少个党群服务中心？", offline=True)
    assert not ans.found and ans.failure == "place_not_in_library"
    assert "资料库中没有关于上海市浦东新区的报告" in ans.answer and ans.citations == []


def test_a_place_named_in_english_that_no_report_covers(indexed_assistant) -> None:
    """“Shanghai” is 上海市 by its pinyin: the library has no report on it, and says so
    instead of quoting another region's passages."""
    ans = indexed_assistant.ask("How many Party members does Shanghai have?", offline=True)
    assert not ans.found and ans.failure == "place_not_in_library"
    assert "资料库中没有关于上海市的报告" in ans.answer and ans.citations == []
    # A province holding library regions is not "missing": it scopes to them.
    ans = indexed_assistant.ask("辽宁省有哪些社区党建做法？", offline=True)
    assert ans.found and {c.region for c in ans.citations} <= {"大连市", "清河门区"}


def test_follow_up_after_a_cross_question_is_about_that_region_alone(indexed_assistant) -> None:
    first = indexed_assistant.ask("各地是如何建设党群服务中心的？", offline=True)
    assert first.mode == "compare"
    history = [
        {
            "role": "user",
            "content": first.question,
            "standalone_question": first.standalone_question,
        },
        {"role": "assistant", "content": first.answer},
    ]
    ans = indexed_assistant.ask("那浮山县呢？", history=history, offline=True)
    assert ans.standalone_question == "浮山县是如何建设党群服务中心的？"
    assert ans.mode == "qa" and ans.found
    assert {c.region for c in ans.citations} == {"浮山县"}
    by_region = {r.region: r for r in first.regions}
    assert by_region["浮山县"].found  # chat and comparison agree on the same evidence


def test_follow_up_on_the_real_index(indexed_assistant) -> None:
    first = indexed_assistant.ask("薛城区怎样整顿软弱涣散党组织？", offline=True)
    history = [
        {
            "role": "user",
            "content": first.question,
            "standalone_question": first.standalone_question,
        },
        {"role": "assistant", "content": first.answer},
    ]
    ans = indexed_assistant.ask("那大连呢？", history=history, offline=True)
    assert ans.standalone_question == "大连市怎样整顿软弱涣散党组织？"
    assert ans.found and {c.region for c in ans.citations} == {"大连市"}
    assert "软弱涣散" in ans.answer
