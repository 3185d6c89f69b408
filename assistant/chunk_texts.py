"""Chunk texts and fields of an embedded store, kept in SQLite beside Chroma.

Chroma indexes every document it is given twice (a B-tree over the whole string and an
FTS5 trigram index) and every metadata value once; we search chunk text with our own BM25,
so those indexes only cost time: a Chinese chunk written with its text took 3x as long as
one without (bench/store_write.py). An embedded store therefore gives Chroma the vector and
the two fields searches filter on (doc_id, region) and keeps the rest here, by chunk key.
A Chroma server keeps texts in Chroma, where every client sees them.

Written before Chroma and deleted after it, so every chunk Chroma returns has its row.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from assistant.types import Chunk

_PART = 500  # keys per IN (...) query, well under SQLite's variable limit


class ChunkTexts:
    """key -> (doc_id, text, metadata) for one collection's chunks."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS chunks (key TEXT PRIMARY KEY, doc_id TEXT NOT NULL,"
            " text TEXT NOT NULL, meta TEXT NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id)")
        self._db.commit()

    def put(self, keys: list[str], chunks: list[Chunk]) -> None:
        rows = [
            (k, c.doc_id, c.text, json.dumps(c.metadata(), ensure_ascii=False))
            for k, c in zip(keys, chunks, strict=True)
        ]
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO chunks (key, doc_id, text, meta) VALUES (?, ?, ?, ?)",
                rows,
            )

    def get(self, keys: Iterable[str]) -> dict[str, Chunk]:
        keys = list(keys)
        found: dict[str, Chunk] = {}
        with self._lock:
            for i in range(0, len(keys), _PART):
                part = keys[i : i + _PART]
                rows = self._db.execute(
                    f"SELECT key, text, meta FROM chunks WHERE key IN ({','.join('?' * len(part))})",
                    part,
                ).fetchall()
                for key, text, meta in rows:
                    found[key] = Chunk.from_metadata(text, json.loads(meta))
        return found

    def update_fields(self, doc_id: str, changes: dict[str, str]) -> None:
        """Set chunk fields (region, title) on every chunk of a report."""
        with self._lock, self._db:
            rows = self._db.execute(
                "SELECT key, meta FROM chunks WHERE doc_id = ?", (doc_id,)
            ).fetchall()
            self._db.executemany(
                "UPDATE chunks SET meta = ? WHERE key = ?",
                [
                    (json.dumps({**json.loads(m), **changes}, ensure_ascii=False), k)
                    for k, m in rows
                ],
            )

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        with self._lock, self._db:
            for i in range(0, len(keys), _PART):
                part = keys[i : i + _PART]
                self._db.execute(
                    f"DELETE FROM chunks WHERE key IN ({','.join('?' * len(part))})", part
                )

    def delete_doc(self, doc_id: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))

    def clear(self) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM chunks")

    def empty(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM chunks LIMIT 1").fetchone() is None

    def close(self) -> None:
        with self._lock:
            self._db.close()
