"""`assistant ask` (answers with citations, batch, export) and `assistant prompts check`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from assistant.answers import MODES  # not assistant.chain: keeps `--help` and ingest fast
from assistant.citations import citing_sentences, quoted_spans

EXAMPLE = 'assistant ask "各地怎样整顿软弱涣散党组织？"'


def register(subparsers: Any) -> None:
    """Add the `ask` and `prompts` commands to the main parser's subparsers."""
    p = subparsers.add_parser(
        "ask",
        help="提问：回答附带经代码核对的出处（未配置大模型时为离线摘录）",
        description="回答关于党建报告的问题，每句标注出处 [n]；跨地区问题逐地区小结并给出对比表。",
    )
    p.add_argument("question", nargs="?", metavar="问题", help="要问的问题")
    p.add_argument("--json", action="store_true", help="以 JSON 输出（字段见 README）")
    p.add_argument("--mode", choices=MODES, default="auto", help="auto（默认）、qa 或 compare")
    p.add_argument("--region", action="extend", nargs="+", metavar="R", help="只看这些地区，可重复")
    add_scope_args(p)
    p.add_argument("--k", type=int, metavar="N", help="检索的段落数（跨地区时为每个地区的段落数）")
    p.add_argument("--prompt", metavar="NAME", help="回答风格：prompts/profiles/NAME.md 或 brief")
    p.add_argument("--offline", action="store_true", help="不调用大模型，只做离线摘录")
    p.add_argument(
        "--export", metavar="FILE", help="把回答导出为 FILE.docx（公文格式）、FILE.md 或 FILE.txt"
    )
    p.add_argument(
        "--batch", metavar="FILE.jsonl", help="逐行读取 {question, id, mode}，逐行输出结果"
    )
    p.set_defaults(func=cmd_ask)

    p = subparsers.add_parser("prompts", help="提示词文件（prompts/ 文件夹）")
    psub = p.add_subparsers(dest="prompts_command", required=True)
    c = psub.add_parser("check", help="校验 prompts 文件夹中的全部提示词文件")
    c.set_defaults(func=cmd_prompts_check)


def add_scope_args(p: argparse.ArgumentParser) -> None:
    """--doc/--kind/--year: limit a question or a search to chosen reports (see `documents`)."""
    p.add_argument(
        "--doc",
        action="extend",
        nargs="+",
        metavar="DOC_ID",
        help="只用这些报告（编号见 documents）",
    )
    p.add_argument(
        "--kind",
        action="extend",
        nargs="+",
        metavar="类型",
        help="只用这些类型的报告，如 条例 讲话",
    )
    p.add_argument(
        "--year", action="extend", nargs="+", metavar="年份", help="只用这些年份的报告，如 2023"
    )


def scope_of(args: argparse.Namespace) -> Any:
    """The Scope the flags ask for (regions are passed on separately, as before)."""
    from assistant.scope import Scope

    for year in args.year or []:
        if not (len(str(year)) == 4 and str(year).isdigit()):
            raise _user_error(f"--year 应是四位年份，例如 2023；收到：{year}")
    return Scope.of(args.doc, None, args.kind, args.year)


def _user_error(message: str) -> Exception:
    from assistant.cli import UserError

    return UserError(message)


def _assistant() -> Any:
    from assistant.cli import get_assistant

    return get_assistant()


def cmd_ask(args: argparse.Namespace) -> int:
    if args.k is not None and not 1 <= args.k <= 50:
        raise _user_error("--k 应在 1 到 50 之间。")
    if args.export:
        suffix = Path(args.export).suffix.lower()
        if suffix not in (".md", ".docx", ".txt"):
            raise _user_error(f"--export 只支持 .md、.docx 和 .txt 文件，收到：{args.export}")
        if args.batch:
            raise _user_error("--export 不能与 --batch 同时使用。")
    if args.batch and args.question:
        raise _user_error("请只给出问题或 --batch 文件之一。")
    if not args.batch and not (args.question or "").strip():
        raise _user_error(f"请输入问题，例如：{EXAMPLE}")
    assistant = _assistant()
    if args.prompt:
        from assistant.prompts import PromptError

        try:
            assistant.prompts.profile(args.prompt)
        except PromptError as exc:
            raise _user_error(str(exc)) from None
    if args.batch:
        return _batch(assistant, args, scope_of(args))
    ans = assistant.ask(
        args.question,
        mode=args.mode,
        regions=args.region,
        k=args.k,
        prompt=args.prompt,
        offline=args.offline,
        scope=scope_of(args),
    )
    if args.export:
        from assistant.export import export

        target = export(ans, args.export, reports=len(assistant.retriever.documents()))
        print(f"已导出：{target}", file=sys.stderr)
    if args.json:
        print(json.dumps(ans.to_json(), ensure_ascii=False, indent=2))
    else:
        print(render_text(ans))
    return 0


def _batch(assistant: Any, args: argparse.Namespace, scope: Any = None) -> int:
    path = Path(args.batch)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise _user_error(f"无法读取批量文件 {path.name}：{exc}") from None
    failures = 0
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item_id: Any = None
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError("每行应是一个 JSON 对象")
            item_id = item.get("id")
            question = item.get("question")
            if not isinstance(question, str) or not question.strip():
                raise ValueError("缺少 question")
            mode = item.get("mode") or args.mode
            if mode not in MODES:
                raise ValueError(f"mode 应为 {'/'.join(MODES)}")
            regions = item.get("regions") or item.get("region") or args.region
            if isinstance(regions, str):
                regions = [regions]
        except (json.JSONDecodeError, ValueError) as exc:
            failures += 1
            error = {"id": item_id, "line": lineno, "error": f"第 {lineno} 行无效：{exc}"}
            print(json.dumps(error, ensure_ascii=False), flush=True)
            continue
        ans = assistant.ask(
            question,
            mode=mode,
            regions=regions,
            k=args.k,
            prompt=args.prompt,
            offline=args.offline,
            scope=scope,
        )
        if args.json:
            print(json.dumps({"id": item_id, **ans.to_json()}, ensure_ascii=False), flush=True)
        else:
            print(
                f"### {item_id if item_id is not None else lineno}\n{render_text(ans)}\n",
                flush=True,
            )
    return 1 if failures else 0


def excerpt(passage: str, citing: list[str], width: int = 120) -> str:
    """The part of a passage the answer quotes, with a little context, on one line."""
    spans = quoted_spans(passage, citing)
    start = max(0, spans[0][0] - 20) if spans else 0
    end = min(len(passage), start + width)
    if spans:  # every quoted part, even of a long sentence, within reason
        end = max(end, min(spans[-1][1], start + 2 * width))
    text = " ".join(passage[start:end].split())
    return ("……" if start > 0 else "") + text + ("……" if end < len(passage) else "")


def render_text(ans: Any) -> str:
    """The answer for a terminal: text, who answered, flags, then the references."""
    out = [ans.answer.strip(), "", f"—— 回答方式：{ans.answerer_label}"]
    if ans.mode == "compare":
        out.append(
            "—— 跨地区比较："
            + "、".join(f"{r.region}{'' if r.found else '（未涉及）'}" for r in ans.regions)
        )
    if not ans.complete:
        out.append("—— 注意：大模型的回答没有完整生成，上面是离线摘录。")
    if ans.unsupported:
        out.append("—— 未通过出处核对：")
        out += [f"   · {u.sentence}（{u.reason}）" for u in ans.unsupported]
    if ans.citations:
        out.append("—— 参考资料：")
        for c in ans.citations:
            quote = excerpt(c.quote, citing_sentences(ans.answer, c.n))
            out.append(
                f"[{c.n}] {c.region} · 《{c.title or c.doc_id}》 · {c.section or '正文'}（{c.doc_id}）"
            )
            out.append(f"    “{quote}”")
    return "\n".join(out)


def cmd_prompts_check(args: argparse.Namespace) -> int:
    from assistant.prompts import PromptLibrary
    from assistant.settings import get_settings

    folder = get_settings().prompts_dir
    problems = PromptLibrary(folder, fallback_dir=None).check()
    if problems:
        print(f"提示词文件夹 {folder} 有 {len(problems)} 个问题：", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    library = PromptLibrary(folder, fallback_dir=None)
    print(f"提示词文件夹 {folder} 检查通过；可选回答风格：{'、'.join(library.profile_names())}")
    return 0
