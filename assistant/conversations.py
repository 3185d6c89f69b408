"""Saved conversations and answer feedback: one SQLite file beside the store.

Every session of the app shares one process, so each call opens its own connection (SQLite
connections are not shared across threads) and the file runs in WAL mode: readers never wait
for a writer. An answer is stored as the fields the chat page renders (text, citations,
unsupported sentences, region records, notices), so a restored conversation shows the same
answers and sources without asking again.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answers import Answer, Citation, RegionSummary, Unsupported

FILE_NAME = "conversations.sqlite3"
TITLE_CHARS = 30
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    question TEXT NOT NULL,
    answer_text TEXT NOT NULL DEFAULT '',
    answer_json TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns(conversation_id, id);
CREATE TABLE IF NOT EXISTS feedback (
    turn_id INTEGER PRIMARY KEY REFERENCES turns(id) ON DELETE CASCADE,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    comment TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
);
"""

# Fields of an Answer that are not kept: the retrieved passages (the citations carry what
# the page shows) and timings of the original run.
_SKIPPED = {"retrieved", "timings_ms"}


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    created: float
    updated: float
    turns: int = 0


@dataclass(frozen=True)
class Turn:
    """One question and the answer shown for it."""

    id: int
    question: str
    answer: Answer


@dataclass(frozen=True)
class Feedback:
    turn_id: int
    rating: int  # 1 = useful, -1 = not useful
    comment: str
    created: float
    question: str = ""
    answer_text: str = ""
    answerer: str = ""  # "offline" or "llm:<model>", from the saved answer
    conversation_id: str = ""


def store_path(settings) -> Path:
    """Where the app keeps conversations: beside the vector store."""
    return Path(settings.store_dir) / FILE_NAME


def title_from(question: str) -> str:
    """A conversation's title: its first question on one line, bounded."""
    flat = " ".join((question or "").split())
    if len(flat) <= TITLE_CHARS:
        return flat or "新对话"
    return flat[: TITLE_CHARS - 1] + "…"


# ---- answers to and from JSON ------------------------------------------------------------


def answer_record(answer: Answer) -> dict[str, Any]:
    """The fields of `answer` the chat page renders, as JSON-ready values."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(answer):
        if f.name in _SKIPPED:
            continue
        value = getattr(answer, f.name)
        if f.name == "citations":
            value = [dataclasses.asdict(c) for c in value]
        elif f.name == "unsupported":
            value = [dataclasses.asdict(u) for u in value]
        elif f.name == "regions":
            value = [_region_record(r) for r in value]
        out[f.name] = value
    return out


def _region_record(r: RegionSummary) -> dict[str, Any]:
    record = dataclasses.asdict(r)
    record["citations"] = [dataclasses.asdict(c) for c in r.citations]
    return record


def _known(cls, values: dict[str, Any]) -> dict[str, Any]:
    """Only the fields `cls` has now: a record written by an older or newer version loads."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in values.items() if k in names}


def _citation(values: dict[str, Any]) -> Citation:
    return Citation(**_known(Citation, values))


def answer_from_record(record: dict[str, Any]) -> Answer:
    """The Answer `answer_record` saved (retrieved passages and timings left empty)."""
    values = _known(Answer, record)
    values["citations"] = [_citation(c) for c in record.get("citations", [])]
    values["unsupported"] = [
        Unsupported(**_known(Unsupported, u)) for u in record.get("unsupported", [])
    ]
    regions = []
    for r in record.get("regions", []):
        fields = _known(RegionSummary, r)
        fields["citations"] = [_citation(c) for c in r.get("citations", [])]
        regions.append(RegionSummary(**fields))
    values["regions"] = regions
    values.setdefault("question", "")
    return Answer(**values)


# ---- the store -----------------------------------------------------------------------------

_ready: set[Path] = set()
_ready_lock = threading.Lock()


class ConversationStore:
    """Conversations, their turns and feedback in one SQLite file; safe to share."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        key = self.path.resolve()
        with _ready_lock:
            if key not in _ready or not self.path.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self._connect() as db:
                    db.execute("PRAGMA journal_mode=WAL")
                    db.executescript(SCHEMA)
                _ready.add(key)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10.0)
        try:
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=10000")
            with db:  # one transaction: committed on success, rolled back on error
                yield db
        finally:
            db.close()

    # ---- conversations -------------------------------------------------------------------

    def create(self, title: str = "") -> str:
        conversation_id = uuid.uuid4().hex
        now = time.time()
        with self._connect() as db:
            db.execute(
                "INSERT INTO conversations (id, title, created, updated) VALUES (?, ?, ?, ?)",
                (conversation_id, title.strip(), now, now),
            )
        return conversation_id

    def get(self, conversation_id: str) -> Conversation | None:
        rows = self._conversations("WHERE c.id = ?", (conversation_id,), limit=1)
        return rows[0] if rows else None

    def list(self, query: str = "", limit: int = 50) -> list[Conversation]:
        """The newest conversations first; with `query`, those whose title, questions or
        answers contain it (case-insensitive for Latin letters)."""
        query = query.strip()
        if not query:
            return self._conversations("", (), limit)
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = (
            "WHERE c.title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM turns s WHERE "
            "s.conversation_id = c.id AND (s.question LIKE ? ESCAPE '\\' "
            "OR s.answer_text LIKE ? ESCAPE '\\'))"
        )
        return self._conversations(where, (pattern, pattern, pattern), limit)

    def _conversations(self, where: str, args: tuple, limit: int) -> list[Conversation]:
        sql = (
            "SELECT c.id, c.title, c.created, c.updated, "
            "(SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) "
            f"FROM conversations c {where} ORDER BY c.updated DESC, c.rowid DESC LIMIT ?"
        )
        with self._connect() as db:
            rows = db.execute(sql, (*args, int(limit))).fetchall()
        return [Conversation(*row) for row in rows]

    def rename(self, conversation_id: str, title: str) -> bool:
        title = " ".join(title.split())
        if not title:
            return False
        with self._connect() as db:
            cur = db.execute(
                "UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id)
            )
        return cur.rowcount > 0

    def delete(self, conversation_id: str) -> bool:
        with self._connect() as db:
            cur = db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        return cur.rowcount > 0

    # ---- turns ---------------------------------------------------------------------------

    def add_turn(self, conversation_id: str, question: str, answer: Answer) -> int:
        """Save one question and its answer; the first one titles an untitled conversation."""
        now = time.time()
        payload = json.dumps(answer_record(answer), ensure_ascii=False)
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO turns (conversation_id, question, answer_text, answer_json, created)"
                " VALUES (?, ?, ?, ?, ?)",
                (conversation_id, question, answer.answer or "", payload, now),
            )
            db.execute(
                "UPDATE conversations SET updated = ?, "
                "title = CASE WHEN title = '' THEN ? ELSE title END WHERE id = ?",
                (now, title_from(question), conversation_id),
            )
        return int(cur.lastrowid)

    def turns(self, conversation_id: str) -> list[Turn]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, question, answer_json FROM turns WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
        return [Turn(i, q, answer_from_record(json.loads(a))) for i, q, a in rows]

    # ---- feedback ------------------------------------------------------------------------

    def set_feedback(self, turn_id: int, rating: int, comment: str = "") -> None:
        """Record 👍 (1) or 👎 (-1) with an optional comment; a later one replaces it."""
        if rating not in (-1, 1):
            raise ValueError("rating must be 1 or -1")
        with self._connect() as db:
            db.execute(
                "INSERT INTO feedback (turn_id, rating, comment, created) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(turn_id) DO UPDATE SET rating = excluded.rating, "
                "comment = excluded.comment, created = excluded.created",
                (int(turn_id), rating, comment.strip(), time.time()),
            )

    def feedback(self, turn_id: int) -> Feedback | None:
        rows = self._feedback("WHERE f.turn_id = ?", (int(turn_id),))
        return rows[0] if rows else None

    def all_feedback(self) -> list[Feedback]:
        """Every rating with its question and answer text, oldest first (for evaluation)."""
        return self._feedback("", ())

    def _feedback(self, where: str, args: tuple) -> list[Feedback]:
        sql = (
            "SELECT f.turn_id, f.rating, f.comment, f.created, t.question, t.answer_text, "
            "t.answer_json, t.conversation_id "
            f"FROM feedback f JOIN turns t ON t.id = f.turn_id {where} ORDER BY f.created"
        )
        with self._connect() as db:
            rows = db.execute(sql, args).fetchall()
        return [
            Feedback(*row[:6], answerer=_answerer_of(row[6]), conversation_id=row[7])
            for row in rows
        ]


def _answerer_of(answer_json: str) -> str:
    """Who answered, from a saved answer record ("" if the record does not say)."""
    try:
        value = json.loads(answer_json).get("answerer", "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


# ---- export --------------------------------------------------------------------------------


def conversation_markdown(title: str, turns: list[Turn], reports: int | None = None) -> str:
    """The whole conversation as one Markdown file: each answer as its brief, in order."""
    from assistant.export import inert_markdown, to_markdown

    out = [f"# {inert_markdown(title or '对话')}", ""]
    for i, turn in enumerate(turns, 1):
        out += [f"## 问题{i}：{inert_markdown(' '.join(turn.question.split()))}", ""]
        lines = to_markdown(turn.answer, reports).splitlines()
        if lines and lines[0].startswith("# "):  # the brief's title is the question again
            lines = lines[1:]
        # The brief's own headings (参考资料, 说明, …) move one level down, under the question.
        for line in lines:
            if line.startswith("#"):
                marks = len(line) - len(line.lstrip("#"))
                line = "#" * min(marks + 1, 6) + line[marks:]
            out.append(line)
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def conversation_brief(title: str, turns: list[Turn], reports: int | None = None):
    """The whole conversation as one brief: each question a heading over its answer, the
    [n] of later answers numbered on from the earlier ones, one reference list and 说明."""
    import re

    from assistant.export import Block, Brief, Reference, brief_of

    marker = re.compile(r"\[(\d+)\]")
    blocks: list[Block] = []
    references: list[Reference] = []
    notes: list[str] = []
    unverified: list[str] = []
    regions: list[str] = []
    answerer = library = ""
    offset = 0
    for i, turn in enumerate(turns, 1):
        brief = brief_of(turn.answer, reports)

        def shift(text: str, offset: int = offset) -> str:
            return marker.sub(lambda m: f"[{int(m.group(1)) + offset}]", text)

        blocks.append(Block("heading", f"问题{i}：{' '.join(turn.question.split())}", level=1))
        for b in brief.blocks:
            blocks.append(
                dataclasses.replace(
                    b,
                    text=shift(b.text),
                    level=b.level + 1 if b.kind == "heading" else b.level,
                    rows=tuple(tuple(shift(cell) for cell in row) for row in b.rows),
                )
            )
        references += [Reference(r.n + offset, r.source, r.quote) for r in brief.references]
        notes += [n for n in brief.notes if n not in notes]
        unverified += [f"问题{i}：{u}" for u in brief.unverified]
        regions += [r for r in brief.regions if r not in regions]
        answerer, library = answerer or brief.answerer, library or brief.library
        offset += max((r.n for r in brief.references), default=0)
    return Brief(
        title=title or "对话",
        blocks=blocks,
        references=references,
        notes=notes,
        unverified=unverified,
        answerer=answerer,
        library=library,
        regions=regions,
    )


def conversation_docx(title: str, turns: list[Turn], reports: int | None = None) -> bytes:
    """The whole conversation as one Word document in the briefs' official format."""
    from assistant.export_docx import render_docx

    return render_docx(conversation_brief(title, turns, reports))
