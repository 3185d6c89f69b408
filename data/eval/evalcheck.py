"""The checks every development question set under data/eval/ runs (its `verify.py` gives
the set's own minimums and absent-term tables).

Standard library only. A set's questions.jsonl and docs/*.txt, docs/*.html are checked: ids
unique; kinds and splits valid; gold docs exist; for fact/para questions the evidence occurs
in the gold document and every answer-key group has an alternative inside the evidence (both
compared after NFKC normalisation with all whitespace removed); for none/place questions no
gold docs, answer keys or evidence, and (where the set lists them) every term given for the
question absent from every document; (where the set requires it) every question in one
split; at least the set's minimum of documents and questions. An .html document is compared
by its visible text: comments and <script>/<style>/<noscript>/<template> blocks dropped, tags
replaced by spaces, entities decoded.
"""

from __future__ import annotations

import html
import json
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("fact", "para", "cross", "none", "place")
SPLITS = ("calib", "check")
KEYS = ("id", "question", "kind", "gold_docs", "answer_keys", "evidence", "split")


def norm(text: str) -> str:
    """NFKC-normalise and drop every whitespace character."""
    return "".join(unicodedata.normalize("NFKC", text).split())


_HIDDEN = re.compile(r"(?is)<!--.*?-->|<(script|style|noscript|template)\b[^>]*>.*?</\1\s*>")
_TAG = re.compile(r"(?s)<[^>]+>")


def visible_text(page: str) -> str:
    """The text a browser shows of a saved page: hidden blocks dropped, tags -> spaces, entities decoded."""
    return html.unescape(_TAG.sub(" ", _HIDDEN.sub(" ", page)))


def load_docs(docs_dir: Path) -> dict[str, str]:
    """Map document id (file stem) to its text (the visible text for .html pages)."""
    docs: dict[str, str] = {}
    for p in sorted(docs_dir.iterdir()):
        if p.suffix == ".txt":
            docs[p.stem] = p.read_text(encoding="utf-8")
        elif p.suffix in (".html", ".htm"):
            docs[p.stem] = visible_text(p.read_text(encoding="utf-8"))
    return docs


def load_questions(path: Path) -> tuple[list[dict], list[str]]:
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


@dataclass
class SetCheck:
    """One question set's checker: its folder, minimums and absent-term tables."""

    here: Path
    min_docs: int
    min_questions: int
    required_split: str | None = None
    # none/place questions: the detail or place asked about, which no document may hold;
    # None when the set does not list them.
    none_absent: dict[str, list[str]] | None = None
    place_absent: dict[str, list[str]] | None = None
    questions: Path = field(init=False)
    docs: Path = field(init=False)

    def __post_init__(self) -> None:
        self.questions = self.here / "questions.jsonl"
        self.docs = self.here / "docs"

    def load_docs(self, docs_dir: Path | None = None) -> dict[str, str]:
        return load_docs(docs_dir or self.docs)

    def load_questions(self, path: Path | None = None) -> tuple[list[dict], list[str]]:
        return load_questions(path or self.questions)

    def check_question(self, row: dict, docs: dict[str, str], normed: dict[str, str]) -> list[str]:
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
                        problems.append(
                            f"{where}: no alternative of answer key {group} in the evidence"
                        )
        elif kind == "cross":
            if len(gold) < 2:
                problems.append(f"{where}: a cross question needs at least two gold docs")
        elif kind in ("none", "place"):
            if gold or answer_keys or evidence:
                problems.append(
                    f"{where}: a {kind} question must have no gold docs, answer keys or evidence"
                )
            table = self.none_absent if kind == "none" else self.place_absent
            terms = table.get(row["id"]) if table is not None else None
            if table is not None and not terms:
                problems.append(
                    f"{where}: a {kind} question needs its absent terms listed in verify.py"
                )
            for term in terms or []:
                for doc_id, text in normed.items():
                    if norm(term) in text:
                        problems.append(f"{where}: {term!r} does occur in {doc_id}")
        if self.required_split and split != self.required_split:
            problems.append(
                f"{where}: every question of this set must be split {self.required_split!r}"
            )
        return problems

    def check(
        self, questions_path: Path | None = None, docs_dir: Path | None = None
    ) -> tuple[list[str], list[str]]:
        """Return (problems, summary lines) for the whole set."""
        questions_path = questions_path or self.questions
        docs_dir = docs_dir or self.docs
        docs = load_docs(docs_dir)
        normed = {k: norm(v) for k, v in docs.items()}
        rows, problems = load_questions(questions_path)
        ids = Counter(r.get("id") for r in rows)
        for qid, n in ids.items():
            if n > 1:
                problems.append(f"id {qid!r} is used {n} times")
        for row in rows:
            problems.extend(self.check_question(row, docs, normed))
        if len(docs) < self.min_docs:
            problems.append(f"only {len(docs)} documents in {docs_dir} (need {self.min_docs})")
        if len(rows) < self.min_questions:
            problems.append(f"only {len(rows)} questions (need {self.min_questions})")
        summary = []
        for kind in KINDS:
            of_kind = [r for r in rows if r.get("kind") == kind]
            splits = Counter(r.get("split") for r in of_kind)
            summary.append(
                f"{kind:5s}: {len(of_kind):3d} questions (calib {splits.get('calib', 0)}, check {splits.get('check', 0)})"
            )
        summary.append(f"total: {len(rows)} questions over {len(docs)} documents")
        return problems, summary

    def main(self) -> int:
        problems, summary = self.check()
        for line in summary:
            print(line)
        if problems:
            print(f"{len(problems)} problem(s):", file=sys.stderr)
            for p in problems:
                print(f"  - {p}", file=sys.stderr)
            return 1
        print("OK")
        return 0
