"""`assistant eval`: answer-quality metrics for our pipeline beside the plain LangChain recipe."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.settings import PROJECT_ROOT, get_settings

DEFAULT_QUESTIONS = PROJECT_ROOT / "data" / "eval" / "questions.jsonl"


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.cli import UserError, get_assistant
    from assistant.evaluation import EvalError, evaluate, load_questions

    settings = get_settings()
    if args.llm and not settings.llm_configured:
        raise UserError(
            "未配置大模型（OPENAI_MODEL 以及 OPENAI_API_KEY 或 OPENAI_BASE_URL），"
            "无法用 --llm 评测；去掉 --llm 即用离线摘录评测。"
        )
    if args.k is not None and not 1 <= args.k <= 50:
        raise UserError("--k 应在 1 到 50 之间。")
    try:
        questions = load_questions(Path(args.questions))
    except EvalError as exc:
        raise UserError(str(exc)) from exc
    assistant = get_assistant()
    if assistant.store.count() == 0:
        raise UserError("向量库中还没有报告，请先运行 assistant ingest。")
    baseline = None
    if not args.no_baseline:
        from assistant.baseline import BaselineRAG

        baseline = BaselineRAG.for_assistant(assistant)
    try:
        report = evaluate(
            assistant,
            questions,
            k=args.k,
            baseline=baseline,
            offline=not args.llm,
            source=str(args.questions),
        )
    finally:
        if baseline is not None:
            baseline.close()
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(report.render())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="评测问答质量，并与普通 LangChain 做法（基线）对比")
    p.add_argument(
        "--questions",
        default=str(DEFAULT_QUESTIONS),
        help="问题文件（jsonl：id, question, kind, gold_docs, answer_keys, evidence）",
    )
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.add_argument("--k", type=int, default=None, help="回答时使用的段落数（默认 ASSISTANT_TOP_K）")
    p.add_argument("--no-baseline", action="store_true", help="不运行基线对比")
    p.add_argument("--llm", action="store_true", help="用已配置的大模型作答（默认离线摘录）")
    p.set_defaults(func=cmd_eval)
