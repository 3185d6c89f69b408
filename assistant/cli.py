"""`assistant` command line: ingest, search, status, documents, meta, remove (+ ask, prompts, eval)."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from pathlib import Path

from assistant.settings import get_settings

# Command groups living in their own modules; each has register(subparsers).
_COMMAND_MODULES = ("assistant.cli_ask", "assistant.cli_eval", "assistant.cli_feedback")


class UserError(Exception):
    """An error whose message is for the user (Chinese, says what to do); exit code 2."""


def _print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def get_assistant():
    """The process's Assistant; imported lazily so `--help` stays fast."""
    from assistant.service import Assistant

    return Assistant.from_settings(get_settings())


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = get_settings()
    assistant = get_assistant()
    if args.rebuild:
        with assistant.store.write_lock():
            assistant.store.reset()
    paths = [Path(p) for p in args.paths] or [settings.reports_dir]
    bar = None
    if not args.quiet and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=0, unit="段", desc="索引", file=sys.stderr, leave=False)

    def progress(name: str, done: int, total: int) -> None:
        # A scanned PDF reports its OCR pages first, then everything counts chunks again.
        ocr = getattr(name, "stage", "") == "ocr"
        if bar is not None:
            desc, unit = ("文字识别", "页") if ocr else ("索引", "段")
            if bar.desc != desc or done < bar.n:
                bar.reset(total=total)
                bar.unit = unit
                bar.set_description_str(desc)
            bar.total = total
            bar.set_postfix_str(name[:30])
            bar.update(done - bar.n)
        elif not args.quiet and total:
            what = f"文字识别 {done}/{total} 页" if ocr else f"{done}/{total}"
            print(f"  … {name}: {what}", file=sys.stderr)

    results = assistant.ingest_paths(paths, progress)
    if bar is not None:
        bar.close()
    if args.json:
        _print_json([r.to_dict() for r in results])
    else:
        for r in results:
            print(r.line())
    rejected = sum(1 for r in results if not r.ok)
    skipped = sum(1 for r in results if r.status == "skipped")
    if not args.json and not args.quiet:
        tail = f"，跳过 {skipped} 个" if skipped else ""
        print(f"共 {len(results)} 个文件，拒绝 {rejected} 个{tail}。", file=sys.stderr)
    return 1 if rejected else 0


def cmd_search(args: argparse.Namespace) -> int:
    question = (args.question or "").strip()
    if not question:
        raise UserError('请输入要检索的问题，例如：assistant search "整顿软弱涣散党组织"')
    from assistant.cli_ask import scope_of
    from assistant.scope import Scope, empty_scope_message

    flags = scope_of(args)
    scope = Scope.of(flags.doc_ids, args.region, flags.kinds, flags.years)
    passages = get_assistant().search(question, k=args.k, regions=args.region or None, scope=scope)
    if not passages and scope.any:
        assistant = get_assistant()
        if not assistant.scoped_docs(scope):
            print(empty_scope_message(scope), file=sys.stderr)
    if args.json:
        _print_json([p.to_dict() for p in passages])
        return 0
    if not passages:
        print("没有找到相关段落。")
    for i, p in enumerate(passages, start=1):
        c = p.chunk
        print(
            f"[{i}] {c.region} · {c.title} · {c.section or '正文'}  ({c.doc_id} {c.start}-{c.end}, score {p.score:.4f})"
        )
        print(f"    {c.text}\n")
    return 0


def _add_scope_args(p: argparse.ArgumentParser) -> None:
    from assistant.cli_ask import add_scope_args

    add_scope_args(p)


def cmd_status(args: argparse.Namespace) -> int:
    status = get_assistant().status()
    if args.json:
        _print_json(status)
        return 0
    print(f"报告：{status['documents']} 篇；段落：{status['chunks']} 个")
    print("地区：" + ("、".join(f"{r}（{n}）" for r, n in status["regions"].items()) or "无"))
    print(f"向量模型：{status['embedding_model']}")
    print(f"向量库：{status['store']['location']}（{status['store']['mode']}）")
    if status["incomplete"]:
        print("未完成索引：" + "、".join(status["incomplete"]) + "（请重新运行 assistant ingest）")
    return 0


# Fields `assistant meta` may change; the rest (doc_id, source, format, pages) come from the file.
EDITABLE_FIELDS = (
    "title",
    "subtitle",
    "region",
    "city",
    "province",
    "authors",
    "kind",
    "year",
    "date",
    "issuer",
)
_DOCUMENT_COLUMNS = (
    ("doc_id", "编号"),
    ("title", "标题"),
    ("region", "地区"),
    ("kind", "类型"),
    ("year", "年份"),
    ("format", "格式"),
    ("chunks", "段落"),
    ("pages", "页数"),
    ("source_file", "文件"),
)


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cell(value, limit: int = 24) -> str:
    text = "" if value in (None, "") else str(value)
    while _width(text) > limit:
        text = text[:-2] + "…"
    return text


def cmd_documents(args: argparse.Namespace) -> int:
    docs = sorted(get_assistant().documents(), key=lambda d: d["doc_id"])
    rows = [
        {
            key: (d.get(key) or 0) if key in ("chunks", "pages") else d.get(key, "")
            for key, _ in _DOCUMENT_COLUMNS
        }
        for d in docs
    ]
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print("还没有索引任何报告。请先运行 assistant ingest。")
        return 0
    table = [[label for _, label in _DOCUMENT_COLUMNS]]
    table += [
        [_cell(r[key] if key != "pages" else (r[key] or "")) for key, _ in _DOCUMENT_COLUMNS]
        for r in rows
    ]
    widths = [max(_width(row[i]) for row in table) for i in range(len(_DOCUMENT_COLUMNS))]
    for row in table:
        print(
            "  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def cmd_meta(args: argparse.Namespace) -> int:
    changes: dict[str, str] = {}
    for item in args.changes:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in EDITABLE_FIELDS:
            raise UserError(
                f"无法理解“{item}”。请写成 字段=值，可修改的字段：{'、'.join(EDITABLE_FIELDS)}。"
            )
        value = value.strip()
        if key == "year" and value and not (len(value) == 4 and value.isdigit()):
            raise UserError(f"年份应为四位数字，例如 year=2023（收到“{value}”）。")
        if key == "date" and value and not _is_iso_date(value):
            raise UserError(f"日期应写成 年-月-日，例如 date=2023-01-05（收到“{value}”）。")
        changes[key] = value
    assistant = get_assistant()
    if assistant.store.record(args.doc_id) is None:
        raise UserError(f"找不到报告 {args.doc_id}。可用 assistant documents 查看编号。")
    assistant.update_metadata(args.doc_id, **changes)
    for key, value in changes.items():
        print(f"{args.doc_id}\t{key}\t{value or '（已清空）'}")
    return 0


def _is_iso_date(value: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def cmd_remove(args: argparse.Namespace) -> int:
    assistant = get_assistant()
    missing = [d for d in args.doc_ids if not assistant.remove(d)]
    for d in args.doc_ids:
        print(f"{d}\t{'未找到' if d in missing else '已删除'}")
    return 1 if missing else 0


def cmd_serve(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise UserError("--port 应在 1 到 65535 之间。")
    from assistant.api import port_problem, serve, url_of

    problem = port_problem(args.host, args.port)
    if problem:
        raise UserError(problem)
    assistant = get_assistant()
    url = url_of(args.host, args.port)
    keyed = assistant.settings.api_key is not None
    print(f"HTTP 接口：{url}/v1（OpenAI 兼容；{'需要' if keyed else '无需'} API 密钥）", flush=True)
    if not keyed and args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"注意：未设置 ASSISTANT_API_KEY，能访问 {args.host} 的人都可以调用。", file=sys.stderr
        )
    serve(assistant, args.host, args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="党建报告问答助手")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="索引报告文件或文件夹（默认：报告文件夹）")
    p.add_argument("paths", nargs="*", help="文件或文件夹")
    p.add_argument("--json", action="store_true", help="以 JSON 输出结果")
    p.add_argument("--quiet", action="store_true", help="不显示进度")
    p.add_argument("--rebuild", action="store_true", help="清空向量库后重建（更换向量模型时使用）")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", help="检索相关段落")
    p.add_argument("question")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--region", action="append", help="只检索该地区，可重复")
    _add_scope_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("status", help="查看索引状态")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("documents", help="列出已索引的报告（标题、地区、类型、年份…）")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_documents)

    p = sub.add_parser(
        "meta", help="修改报告的元数据，例如 assistant meta DOC_ID kind=讲话 year=2023"
    )
    p.add_argument("doc_id", metavar="DOC_ID")
    p.add_argument(
        "changes", nargs="+", metavar="字段=值", help="可修改：" + "、".join(EDITABLE_FIELDS)
    )
    p.set_defaults(func=cmd_meta)

    p = sub.add_parser("remove", help="从索引中删除报告")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("serve", help="启动 HTTP 接口（OpenAI 兼容的问答与检索）")
    p.add_argument("--host", default="127.0.0.1", help="监听地址（默认只接受本机访问）")
    p.add_argument("--port", type=int, default=8000, help="端口（默认 8000）")
    p.set_defaults(func=cmd_serve)

    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    from assistant.embeddings import EmbeddingError
    from assistant.store import StoreError

    try:
        return int(args.func(args) or 0)
    except (UserError, StoreError, EmbeddingError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for the user; details at DEBUG
        logging.getLogger("assistant").debug("unexpected error", exc_info=True)
        print(
            f"错误：发生意外问题（{type(exc).__name__}）。设置 ASSISTANT_LOG_LEVEL=DEBUG 可查看详情。",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
