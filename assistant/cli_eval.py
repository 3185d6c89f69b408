"""`assistant eval`: answer-quality metrics for our pipeline beside the plain LangChain recipe."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from assistant.settings import PROJECT_ROOT, get_settings

EVAL_ROOT = PROJECT_ROOT / "data" / "eval"
DEFAULT_QUESTIONS = EVAL_ROOT / "questions.jsonl"


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.cli import UserError, get_assistant
    from assistant.evaluation import (
        EvalError,
        QuestionSet,
        assistant_for,
        discover_sets,
        evaluate,
        load_questions,
    )

    settings = get_settings()
    if args.llm and not settings.llm_configured:
        raise UserError(
            "未配置大模型（OPENAI_MODEL 以及 OPENAI_API_KEY 或 OPENAI_BASE_URL），"
            "无法用 --llm 评测；去掉 --llm 即用离线摘录评测。"
        )
    if args.k is not None and not 1 <= args.k <= 50:
        raise UserError("--k 应在 1 到 50 之间。")
    if args.questions:
        docs = Path(args.docs) if args.docs else None
        if docs is not None and not docs.is_dir():
            raise UserError(f"文档文件夹 {docs} 不存在。")
        sets = [QuestionSet(Path(args.questions).stem, Path(args.questions), docs)]
    else:
        sets = discover_sets(EVAL_ROOT)
        if not sets:
            raise UserError(f"{EVAL_ROOT} 下没有评测问题文件。")
    base = get_assistant()
    reports = []
    for qset in sets:
        try:
            questions = load_questions(qset.questions, split=args.split)
            assistant = assistant_for(base, qset)
        except EvalError as exc:
            if args.split and not args.questions:
                # Sets without splits (the shipped samples) are left out of a split's run.
                print(f"跳过 {qset.name}：{exc}", file=sys.stderr)
                continue
            raise UserError(str(exc)) from exc
        if assistant.store.count() == 0:
            raise UserError("向量库中还没有报告，请先运行 assistant ingest。")
        baseline = None
        if not args.no_baseline:
            from assistant.baseline import BaselineRAG

            baseline = BaselineRAG.for_assistant(
                assistant, [qset.docs] if qset.docs is not None else None
            )
        try:
            report = evaluate(
                assistant,
                questions,
                k=args.k,
                baseline=baseline,
                offline=not args.llm,
                source=f"{qset.name}（{qset.questions}）"
                + (f" split={args.split}" if args.split else ""),
            )
        finally:
            if baseline is not None:
                baseline.close()
        reports.append((qset.name, report))
    if args.json:
        # One explicit --questions file gives its report; discovered sets are always keyed by
        # set name, however many there are, so a script reading the output never guesses.
        out = (
            reports[0][1].to_json()
            if args.questions
            else {name: r.to_json() for name, r in reports}
        )
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print("\n\n".join(r.render() for _, r in reports))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="评测问答质量，并与普通 LangChain 做法（基线）对比")
    p.add_argument(
        "--questions",
        default=None,
        help="问题文件（jsonl：id, question, kind, gold_docs, answer_keys, evidence[, split]）；"
        "默认评测 data/eval/ 下的全部问题集",
    )
    p.add_argument("--docs", default=None, help="问题文件对应的文档文件夹（默认：当前资料库）")
    p.add_argument("--split", choices=("calib", "check"), default=None, help="只评测该划分")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.add_argument("--k", type=int, default=None, help="回答时使用的段落数（默认 ASSISTANT_TOP_K）")
    p.add_argument("--no-baseline", action="store_true", help="不运行基线对比")
    p.add_argument("--llm", action="store_true", help="用已配置的大模型作答（默认离线摘录）")
    p.set_defaults(func=cmd_eval)
