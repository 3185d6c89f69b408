#!/usr/bin/env python3
"""Check the fourth development evaluation set in this folder (held out: every question is
split "check").

Usage: python data/eval/dev4/verify.py

Adapted from data/eval/dev3/verify.py. Two changes besides the NONE_ABSENT / PLACE_ABSENT
tables: documents may be saved web pages (docs/*.html) as well as plain text (docs/*.txt), and
an .html document is compared by its visible text: HTML comments and <script>/<style>/
<noscript>/<template> blocks dropped, every tag replaced by a space, entities decoded
(html.unescape). Menus, breadcrumbs and footers stay in that visible text, so the absent
terms of the none/place questions are checked against them too; the evidence of a fact/para
question on such a page is chosen from its article text.

Standard library only. Loads questions.jsonl and docs/*.txt, docs/*.html next to this file
and checks: ids unique; kinds and splits valid; gold docs exist; for fact/para questions the
evidence occurs in the gold document and every answer-key group has an alternative inside the
evidence (both compared after NFKC normalisation with all whitespace removed); for none/place
questions no gold docs, answer keys or evidence, and every term listed for the question in
NONE_ABSENT / PLACE_ABSENT absent from every document; every question split "check"; at least
MIN_DOCS documents and MIN_QUESTIONS questions. Prints one summary line per kind and exits 1
on any problem.
"""

from __future__ import annotations

import html
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "questions.jsonl"
DOCS = HERE / "docs"

KINDS = ("fact", "para", "cross", "none", "place")
SPLITS = ("calib", "check")
KEYS = ("id", "question", "kind", "gold_docs", "answer_keys", "evidence", "split")
MIN_DOCS = 7
MIN_QUESTIONS = 40
REQUIRED_SPLIT = "check"

# none questions: the detail asked for, which no document gives
NONE_ABSENT: dict[str, list[str]] = {
    "n01": ["共选派", "名红色代办统计员", "红色代办统计员共"],
    "n02": ["井深", "米深", "多深", "打井深"],
    "n03": ["推荐书目", "推荐了《", "书名"],
    "n04": ["墓穴费为", "元/穴", "每穴"],
    "n05": ["名优秀党员", "名优秀共产党员", "名党员受到表彰"],
    "n06": ["分值", "权重", "计分"],
}
# place questions: the place named, which no document covers
PLACE_ABSENT: dict[str, list[str]] = {
    "l01": ["河北", "正定"],
    "l02": ["福建", "宁德"],
    "l03": ["吉林", "延边"],
    "l04": ["宁夏", "银川"],
    "l05": ["广东", "清远"],
}


def norm(text: str) -> str:
    """NFKC-normalise and drop every whitespace character."""
    return "".join(unicodedata.normalize("NFKC", text).split())


_HIDDEN = re.compile(r"(?is)<!--.*?-->|<(script|style|noscript|template)\b[^>]*>.*?</\1\s*>")
_TAG = re.compile(r"(?s)<[^>]+>")


def visible_text(page: str) -> str:
    """The text a browser shows of a saved page: hidden blocks dropped, tags -> spaces, entities decoded."""
    return html.unescape(_TAG.sub(" ", _HIDDEN.sub(" ", page)))


def load_docs(docs_dir: Path = DOCS) -> dict[str, str]:
    """Map document id (file stem) to its text (the visible text for .html pages)."""
    docs: dict[str, str] = {}
    for p in sorted(docs_dir.iterdir()):
        if p.suffix == ".txt":
            docs[p.stem] = p.read_text(encoding="utf-8")
        elif p.suffix in (".html", ".htm"):
            docs[p.stem] = visible_text(p.read_text(encoding="utf-8"))
    return docs


def load_questions(path: Path = QUESTIONS) -> tuple[list[dict], list[str]]:
    """Return the question records and the problems met while parsing them."""
    rows: list[dict] = []
    problems: list[str] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path.name}:{lineno}: not valid JSON ({exc})")
            continue
        if not isinstance(row, dict):
            problems.append(f"{path.name}:{lineno}: not a JSON object")
            continue
        row["_line"] = lineno
        rows.append(row)
    return rows, problems


def check_question(row: dict, docs: dict[str, str], normed: dict[str, str]) -> list[str]:
    """Problems with one question record."""
    where = f"line {row.get('_line', '?')} id={row.get('id')!r}"
    problems: list[str] = []
    keys = set(row) - {"_line"}
    if keys != set(KEYS):
        missing = sorted(set(KEYS) - keys)
        extra = sorted(keys - set(KEYS))
        problems.append(f"{where}: keys differ (missing {missing}, extra {extra})")
        return problems
    kind, split = row["kind"], row["split"]
    gold, answer_keys, evidence = row["gold_docs"], row["answer_keys"], row["evidence"]
    if not isinstance(row["question"], str) or not row["question"].strip():
        problems.append(f"{where}: empty question")
    if kind not in KINDS:
        problems.append(f"{where}: kind {kind!r} is not one of {KINDS}")
    if split not in SPLITS:
        problems.append(f"{where}: split {split!r} is not one of {SPLITS}")
    if not isinstance(gold, list) or not all(isinstance(g, str) for g in gold):
        problems.append(f"{where}: gold_docs must be a list of document ids")
        return problems
    if not isinstance(answer_keys, list) or not all(
        isinstance(group, list) and group and all(isinstance(a, str) and a for a in group)
        for group in answer_keys
    ):
        problems.append(f"{where}: answer_keys must be a list of non-empty lists of strings")
        return problems
    if not isinstance(evidence, str):
        problems.append(f"{where}: evidence must be a string")
        return problems
    for g in gold:
        if g not in docs:
            problems.append(f"{where}: gold doc {g!r} has no file docs/{g}.txt or .html")
    if len(set(gold)) != len(gold):
        problems.append(f"{where}: gold_docs repeats a document")
    if kind in ("fact", "para"):
        if len(gold) != 1:
            problems.append(f"{where}: a {kind} question needs exactly one gold doc")
        if not answer_keys:
            problems.append(f"{where}: a {kind} question needs answer keys")
        ev = norm(evidence)
        if not ev:
            problems.append(f"{where}: a {kind} question needs evidence")
        else:
            for g in gold:
                if g in normed and ev not in normed[g]:
                    problems.append(f"{where}: evidence not found in {g}: {evidence!r}")
            for group in answer_keys:
                if not any(norm(a) in ev for a in group):
                    problems.append(f"{where}: no alternative of answer key {group} in the evidence")
    elif kind == "cross":
        if len(gold) < 2:
            problems.append(f"{where}: a cross question needs at least two gold docs")
    elif kind in ("none", "place"):
        if gold or answer_keys or evidence:
            problems.append(f"{where}: a {kind} question must have no gold docs, answer keys or evidence")
        table = NONE_ABSENT if kind == "none" else PLACE_ABSENT
        terms = table.get(row["id"])
        if not terms:
            problems.append(f"{where}: a {kind} question needs its absent terms listed in verify.py")
        for term in terms or []:
            for doc_id, text in normed.items():
                if norm(term) in text:
                    problems.append(f"{where}: {term!r} does occur in {doc_id}")
    if split != REQUIRED_SPLIT:
        problems.append(f"{where}: every question of this set must be split {REQUIRED_SPLIT!r}")
    return problems


def check(questions_path: Path = QUESTIONS, docs_dir: Path = DOCS) -> tuple[list[str], list[str]]:
    """Return (problems, summary lines) for the whole set."""
    docs = load_docs(docs_dir)
    normed = {k: norm(v) for k, v in docs.items()}
    rows, problems = load_questions(questions_path)
    ids = Counter(r.get("id") for r in rows)
    for qid, n in ids.items():
        if n > 1:
            problems.append(f"id {qid!r} is used {n} times")
    for row in rows:
        problems.extend(check_question(row, docs, normed))
    if len(docs) < MIN_DOCS:
        problems.append(f"only {len(docs)} documents in {docs_dir} (need {MIN_DOCS})")
    if len(rows) < MIN_QUESTIONS:
        problems.append(f"only {len(rows)} questions (need {MIN_QUESTIONS})")
    summary = []
    for kind in KINDS:
        of_kind = [r for r in rows if r.get("kind") == kind]
        splits = Counter(r.get("split") for r in of_kind)
        summary.append(
            f"{kind:5s}: {len(of_kind):3d} questions (calib {splits.get('calib', 0)}, check {splits.get('check', 0)})"
        )
    summary.append(f"total: {len(rows)} questions over {len(docs)} documents")
    return problems, summary


def main() -> int:
    problems, summary = check()
    for line in summary:
        print(line)
    if problems:
        print(f"{len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
