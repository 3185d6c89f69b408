"""The answering chain: question checks, modes, follow-ups, streaming, failures that never crash."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from assistant.answers import Answer
from assistant.chain import answer_question, stream_answer, validate_question
from assistant.prompts import SHIPPED_DIR
from assistant.settings import Settings, explicit_settings
from tests.test_answers_fakes import FakeRetriever, RecordingChatModel

pytestmark = pytest.mark.unit


def settings(tmp_path: Path, **kw) -> Settings:
    return explicit_settings(**{"prompts_dir": SHIPPED_DIR, "store_dir": tmp_path, **kw})


@pytest.fixture(scope="module")
def retriever() -> FakeRetriever:
    return FakeRetriever()


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "请输入问题"),
        ("   \n\t ", "请输入问题"),
        ("？？！！……", "没有可检索的文字"),
        ("。。。", "没有可检索的文字"),
        (None, "请输入问题"),
    ],
)
def test_unusable_questions_get_a_clear_message(tmp_path, retriever, question, message) -> None:
    ans = answer_question(question, retriever=retriever, settings=settings(tmp_path))
    assert isinstance(ans, Answer) and not ans.found
    assert message in ans.answer and ans.citations == []
    assert ans.to_json()["mode"] in ("qa", "compare")
    assert retriever.calls == [] or all(c["query"] for c in retriever.calls)


def test_over_long_question_is_cut_with_a_notice(tmp_path, retriever) -> None:
    q = "青山区社区两室用房的平均面积有多大？" + "很" * 20_000
    ans = answer_question(
        q, retriever=retriever, settings=settings(tmp_path, max_question_chars=500)
    )
    assert len(ans.question) == 500
    assert "问题过长" in ans.notice and ans.answer.startswith("> 问题过长")
    assert "1100平方米" in ans.answer


@pytest.mark.parametrize(
    "question",
    [
        "What did Qingshan do about community party building?",
        "青山区 community 两室用房 area 多大?",
        "😀🎉",
        "<script>alert(1)</script>",
    ],
)
def test_other_questions_never_crash(tmp_path, retriever, question) -> None:
    ans = answer_question(question, retriever=retriever, settings=settings(tmp_path))
    assert isinstance(ans.to_json(), dict)
    assert "<script>" not in ans.answer


def test_validate_question() -> None:
    assert validate_question("  问题\x00？ ", 100) == ("问题？", "")
    assert validate_question("a" * 10, 5)[0] == "aaaaa"


def test_qa_answer_with_timings_and_k(tmp_path, retriever) -> None:
    r = FakeRetriever()
    ans = answer_question(
        "大连市两新领域新组建了多少个党组织？", retriever=r, settings=settings(tmp_path), k=3
    )
    assert ans.mode == "qa" and ans.found and "2975个" in ans.answer
    assert r.calls[-1]["k"] == 3 and len(ans.retrieved) <= 3
    assert set(ans.timings_ms) >= {"retrieve", "answer", "total"}
    assert ans.timings_ms["total"] >= ans.timings_ms["retrieve"]
    forced = answer_question(
        "大连市两新领域新组建了多少个党组织？",
        retriever=r,
        settings=settings(tmp_path),
        mode="compare",
    )
    assert forced.mode == "compare" and forced.regions


def test_follow_up_retrieves_the_new_region_on_the_same_topic(tmp_path) -> None:
    r = FakeRetriever()
    first = answer_question(
        "薛城区怎样整顿软弱涣散党组织？", retriever=r, settings=settings(tmp_path)
    )
    history = [
        {
            "role": "user",
            "content": first.question,
            "standalone_question": first.standalone_question,
        },
        {"role": "assistant", "content": first.answer},
    ]
    ans = answer_question("那大连呢？", retriever=r, settings=settings(tmp_path), history=history)
    assert ans.standalone_question == "大连市怎样整顿软弱涣散党组织？"
    assert r.calls[-1]["query"] == "大连市怎样整顿软弱涣散党组织？"
    assert ans.found and {c.region for c in ans.citations} == {"大连市"}
    assert "115个软弱涣散村" in ans.answer


def test_llm_condenses_with_the_condense_prompt(tmp_path) -> None:
    fake = RecordingChatModel(
        replies=["大连市怎样整顿软弱涣散基层党组织？", "大连市推动115个软弱涣散村全部完成整顿[1]。"]
    )
    history = [
        {"role": "user", "content": "薛城区怎样整顿软弱涣散党组织？"},
        {"role": "assistant", "content": "……"},
    ]
    ans = answer_question(
        "那大连呢？",
        retriever=FakeRetriever(),
        settings=settings(tmp_path),
        history=history,
        chat_model=fake,
    )
    assert "新问题：那大连呢？" in fake.calls[0][0].content
    assert ans.standalone_question == "大连市怎样整顿软弱涣散基层党组织？"
    assert ans.answerer == "llm:fake-recorder"


def test_streaming_deltas_and_final_answer(tmp_path, retriever) -> None:
    fake = RecordingChatModel(replies=["大连市新组建“两新”领域党组织2975个[1]。"], chunk_chars=3)
    items = list(
        stream_answer(
            "大连市两新领域新组建了多少个党组织？",
            retriever=retriever,
            settings=settings(tmp_path),
            chat_model=fake,
        )
    )
    *deltas, final = items
    assert isinstance(final, Answer) and final.complete
    assert all(isinstance(d, str) for d in deltas) and len(deltas) > 3
    assert "".join(deltas) == "大连市新组建“两新”领域党组织2975个[1]。"


def test_unknown_profile_answers_in_the_default_style_with_a_notice(tmp_path, retriever) -> None:
    ans = answer_question(
        "青山区社区两室用房的平均面积有多大？",
        retriever=retriever,
        settings=settings(tmp_path),
        prompt="不存在的风格",
    )
    assert "提示词配置不可用" in ans.notice and "1100平方米" in ans.answer


class _BrokenRetriever(FakeRetriever):
    def search(self, *args, **kwargs):
        raise RuntimeError("store is down; key=sk-secret-abcdefgh")


def test_retrieval_failure_is_a_message_not_a_crash(tmp_path, caplog) -> None:
    s = settings(tmp_path, openai_api_key=SecretStr("sk-secret-abcdefgh"))
    with caplog.at_level("ERROR", logger="assistant.chain"):
        ans = answer_question(
            "青山区有多少名在职党员？", retriever=_BrokenRetriever(), settings=s, offline=True
        )
    assert not ans.found and ans.failure == "error"
    # What to do, in Chinese, with a reference the log carries; no exception text on screen.
    assert "请稍后重试" in ans.answer and "RuntimeError" not in ans.answer
    ref = re.search(r"错误编号 ([0-9a-f]{8})", ans.answer).group(1)
    logged = caplog.text
    assert ref in logged and "store is down" in logged
    assert "sk-secret-abcdefgh" not in ans.answer and "sk-secret-abcdefgh" not in logged


def test_report_html_is_inert_in_the_answer(tmp_path) -> None:
    from tests.test_answers_fakes import make_chunk

    evil = make_chunk(
        "社区建立网格党组织30个<script>alert(1)</script>,详见[链接](javascript:alert(1))和![](http://127.0.0.1:9/leak)。",
        n=1,
    )
    ans = answer_question(
        "薛城区建立了多少个网格党组织？",
        retriever=FakeRetriever([evil]),
        settings=settings(tmp_path),
    )
    assert "30个" in ans.answer
    assert not re.search(r"(?<!\\)<script", ans.answer)
    assert "](javascript:" not in ans.answer and "![](" not in ans.answer
    assert ans.citations and ans.answer.rstrip().endswith("[1]")


def test_llm_prompt_is_packed_into_the_context_budget(tmp_path) -> None:
    fake = RecordingChatModel(replies=["面积1100平方米[1]。"])
    ans = answer_question(
        "青山区社区两室用房的平均面积有多大？",
        retriever=FakeRetriever(),
        settings=settings(tmp_path, context_tokens=400),
        chat_model=fake,
        k=6,
    )
    sent = fake.calls[-1][1].content.count("<passage ")
    assert len(ans.retrieved) == 6 and 1 <= sent < 6
    assert ans.citations[0].chunk_id == ans.retrieved[0].chunk.chunk_id


def test_unusable_prompt_folder_is_a_message(tmp_path) -> None:
    from assistant.prompts import PromptLibrary

    empty = tmp_path / "no-prompts"
    empty.mkdir()
    fake = RecordingChatModel(replies=["x[1]。"])
    ans = answer_question(
        "青山区社区两室用房的平均面积有多大？",
        retriever=FakeRetriever(),
        settings=settings(tmp_path),
        chat_model=fake,
        prompts=PromptLibrary(empty, fallback_dir=None),
    )
    assert not ans.found and "提示词文件有问题" in ans.answer and "prompts check" in ans.answer
    assert fake.calls == []
