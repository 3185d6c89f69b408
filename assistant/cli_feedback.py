"""`assistant feedback`: the 👍/👎 and comments people left on answers in the app, for evaluation."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from assistant.settings import get_settings

EXCERPT_CHARS = 80
RATINGS = {1: "有用", -1: "没用"}


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of an answer on one line, bounded."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def answerer_label(answerer: str) -> str:
    if not answerer:
        return "未记录"
    if answerer == "offline":
        return "离线摘录"
    return f"大模型（{answerer.removeprefix('llm:')}）"


def _time(created: float) -> datetime:
    return datetime.fromtimestamp(created, UTC).replace(microsecond=0)


def feedback_records(rating: str | None = None) -> list[dict]:
    """Stored feedback, oldest first, as JSON-ready records; none if the app never saved any."""
    from assistant.conversations import ConversationStore, store_path

    path = store_path(get_settings())
    if not path.exists():  # a read never creates the file
        return []
    wanted = {"up": 1, "down": -1}.get(rating or "")
    return [
        {
            "time": _time(f.created).isoformat(),
            "rating": f.rating,
            "question": f.question,
            "answer_excerpt": excerpt(f.answer_text),
            "comment": f.comment,
            "answerer": f.answerer,
            "conversation_id": f.conversation_id,
            "turn_id": f.turn_id,
        }
        for f in ConversationStore(path).all_feedback()
        if wanted is None or f.rating == wanted
    ]


def cmd_feedback(args: argparse.Namespace) -> int:
    records = feedback_records(args.rating)
    if args.json:
        print(json.dumps(records, ensure_ascii=False, indent=2))
        return 0
    if not records:
        print("还没有反馈：在对话页回答下方点 👍 或 👎 即可留下反馈。")
        return 0
    for r in records:
        when = datetime.fromisoformat(r["time"]).strftime("%Y-%m-%d %H:%M UTC")
        print(f"{when}  {RATINGS[r['rating']]}  {answerer_label(r['answerer'])}")
        print(f"  问：{excerpt(r['question'])}")
        print(f"  答：{r['answer_excerpt'] or '（无回答）'}")
        if r["comment"]:
            print(f"  意见：{' '.join(r['comment'].split())}")
        print()
    up = sum(1 for r in records if r["rating"] == 1)
    print(f"共 {len(records)} 条反馈：有用 {up} 条，没用 {len(records) - up} 条。")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("feedback", help="列出对回答的反馈（👍/👎 和意见），供评测使用")
    p.add_argument("--rating", choices=("up", "down"), default=None, help="只列出有用或没用的")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.set_defaults(func=cmd_feedback)
