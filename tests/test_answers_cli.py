"""`assistant ask` and `assistant prompts check` through the real CLI entry point."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

import assistant.cli as cli
from assistant.answers import JSON_KEYS

pytestmark = pytest.mark.unit


@pytest.fixture
def run(indexed_assistant, monkeypatch, capsys):
    monkeypatch.setattr(cli, "get_assistant", lambda: indexed_assistant)

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_ask_json_follows_the_contract(run) -> None:
    code, out, _ = run("ask", "青山区社区两室用房的平均面积有多大？", "--json")
    assert code == 0
    assert "青山区" in out  # ensure_ascii=False
    data = json.loads(out)
    assert tuple(data) == JSON_KEYS
    assert data["mode"] == "qa" and data["answerer"] == "offline" and data["found"] is True
    assert "1100平方米" in data["answer"]
    assert data["citations"][0]["doc_id"] == "002_99405c1be57e5253"
    assert {"chunk_id", "doc_id", "region", "score", "text"} == set(data["retrieved"][0])


def test_ask_human_output_shows_who_answered_and_the_references(run) -> None:
    code, out, _ = run("ask", "薛城区一共划分了多少个城市社区网格？", "--offline")
    assert code == 0
    assert "298个" in out
    assert "回答方式：离线摘录模式" in out
    assert "参考资料" in out and "[1] 薛城区 · 《拧紧「动力轴」 引领新发展》" in out


def test_ask_compare_with_regions(run) -> None:
    code, out, _ = run(
        "ask",
        "双报到工作是怎样开展的？",
        "--json",
        "--mode",
        "compare",
        "--region",
        "青山区",
        "--region",
        "浮山县",
    )
    data = json.loads(out)
    assert code == 0 and data["mode"] == "compare"
    assert [r["region"] for r in data["regions"]] == ["青山区", "浮山县"]
    assert all(set(r) == {"region", "found", "summary", "citations"} for r in data["regions"])


def test_ask_batch_jsonl(run, tmp_path: Path) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "id": "f01",
                        "question": "薛城区2020年以来共召开了几次党的建设工作领导小组会议？",
                    },
                    ensure_ascii=False,
                ),
                json.dumps(
                    {
                        "id": "c03",
                        "question": "各地在整顿软弱涣散基层党组织方面有哪些做法？",
                        "mode": "compare",
                    },
                    ensure_ascii=False,
                ),
                "not json",
                json.dumps({"id": 7, "question": ""}),
                "",
            ]
        ),
        encoding="utf-8",
    )
    code, out, _ = run("ask", "--batch", str(batch), "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1  # two bad lines
    assert [line.get("id") for line in lines] == ["f01", "c03", None, 7]
    assert "7次" in lines[0]["answer"] and lines[1]["mode"] == "compare"
    assert "第 3 行无效" in lines[2]["error"] and "question" in lines[3]["error"]
    assert tuple(k for k in lines[0] if k != "id") == JSON_KEYS


def test_ask_export(run, tmp_path: Path) -> None:
    md, docx = tmp_path / "brief.md", tmp_path / "brief.docx"
    assert run("ask", "大连市两新领域新组建了多少个党组织？", "--export", str(md))[0] == 0
    text = md.read_text(encoding="utf-8")
    assert "2975个" in text and "[1] 大连市 · " in text and "[^" not in text
    assert re.search(r"2975个[^\n]*\[1\]", text), text
    assert "共 5 份报告" in text  # the library behind it, in the 说明
    assert run("ask", "大连市两新领域新组建了多少个党组织？", "--export", str(docx))[0] == 0
    assert zipfile.is_zipfile(docx)
    plain = tmp_path / "brief.txt"
    assert run("ask", "大连市两新领域新组建了多少个党组织？", "--export", str(plain))[0] == 0
    body = plain.read_text(encoding="utf-8-sig")
    assert "2975个" in body and "[1]" in body and "**" not in body


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask"], "请输入问题"),
        (["ask", "   "], "请输入问题"),
        (["ask", "问题", "--export", "x.html"], "只支持 .md、.docx 和 .txt"),
        (["ask", "问题", "--k", "0"], "--k 应在 1 到 50 之间"),
        (["ask", "问题", "--prompt", "不存在"], "没有名为 不存在 的提示词配置"),
    ],
)
def test_ask_user_errors(run, argv: list[str], message: str) -> None:
    code, out, err = run(*argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_ask_with_a_profile(run) -> None:
    code, out, _ = run(
        "ask", "青山区社区两室用房的平均面积有多大？", "--prompt", "简洁要点", "--json"
    )
    assert code == 0 and "1100平方米" in json.loads(out)["answer"]


def test_prompts_check(run, isolated_env: Path) -> None:
    code, out, _ = run("prompts", "check")
    assert code == 0 and "检查通过" in out and "简洁要点" in out
    (isolated_env / "prompts" / "compare.md").write_text("---\nname: compare\n", encoding="utf-8")
    (isolated_env / "prompts" / "profiles" / "空.md").write_text("", encoding="utf-8")
    code, _, err = run("prompts", "check")
    assert code == 1
    assert "compare.md: YAML 头没有结束行" in err and "profiles/空.md: 文件为空" in err


@pytest.mark.unit
def test_reference_excerpt_shows_the_quoted_words() -> None:
    from assistant.cli_ask import excerpt

    passage = (
        "开头的无关内容。" * 20
        + "目前全市已建立6331个网格,成立5059个网格党组织。"
        + "后面的内容。" * 40
    )
    shown = excerpt(passage, ["目前全市已建立6331个网格,成立5059个网格党组织。[1]"])
    assert "6331个网格" in shown and "5059个网格党组织" in shown
    assert shown.startswith("……") and shown.endswith("……")
    assert excerpt("短文。", []) == "短文。"
