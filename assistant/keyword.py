"""BM25 over jieba tokens of the stored chunks: the keyword half of hybrid retrieval.

Built from what the store holds (so it works the same against a Chroma server), persisted
under the store folder with the store's fingerprint, and rebuilt when the fingerprint moves.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

import bm25s
import numpy as np

from assistant.evidence import GramStats
from assistant.types import Chunk
from assistant.wordseg import Segmenter

log = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG on import; follow the application's level instead.
logging.getLogger("bm25s").setLevel(logging.NOTSET)


class KeywordIndex:
    """An immutable BM25 snapshot of a set of chunks; build a new one to change it."""

    def __init__(self, chunks: list[Chunk], bm25: bm25s.BM25 | None, fingerprint: str) -> None:
        self.chunks = chunks
        self.bm25 = bm25
        self.fingerprint = fingerprint
        self._doc = np.array([c.doc_id for c in chunks], dtype=object)
        self._region = np.array([c.region for c in chunks], dtype=object)
        self._body = np.array([c.kind == "body" for c in chunks], dtype=bool)
        self._stats: GramStats | None = None
        self._stats_lock = threading.Lock()

    @classmethod
    def build(cls, chunks: Iterable[Chunk], segmenter: Segmenter, fingerprint: str) -> KeywordIndex:
        chunks = list(chunks)
        segmenter.add_quoted_terms(c.text for c in chunks)
        if not chunks:
            return cls([], None, fingerprint)
        # Token ids, not token strings, are kept while tokenizing: at 100k chunks the strings
        # alone took ~2 GB before bm25s saw them.
        vocab: dict[str, int] = {}
        ids = [
            [vocab.setdefault(t, len(vocab)) for t in (segmenter.tokenize(c.text) or ["\u2205"])]
            for c in chunks
        ]
        bm25 = bm25s.BM25()
        bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
        return cls(chunks, bm25, fingerprint)

    def gram_stats(self) -> GramStats:
        """Bigram document frequencies of the body chunks, computed once per snapshot."""
        with self._stats_lock:
            if self._stats is None:
                self._stats = GramStats(c.text for c in self.chunks if c.kind == "body")
            return self._stats

    def __len__(self) -> int:
        return len(self.chunks)

    def search(
        self,
        query: str,
        segmenter: Segmenter,
        k: int,
        regions: list[str] | None = None,
        doc_ids: list[str] | None = None,
        include_captions: bool = False,
    ) -> list[tuple[Chunk, float]]:
        if self.bm25 is None or k <= 0:
            return []
        tokens = [t for t in segmenter.tokenize(query) if t in self._vocab]
        if not tokens:
            return []
        mask = np.ones(len(self.chunks), dtype=bool) if include_captions else self._body.copy()
        if regions:
            mask &= np.isin(self._region, regions)
        if doc_ids:
            mask &= np.isin(self._doc, doc_ids)
        if not mask.any():
            return []
        scores = self.bm25.get_scores(tokens)
        scores = np.where(mask, scores, -np.inf)
        k = min(k, int(mask.sum()))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]

    @property
    def _vocab(self) -> dict:
        return self.bm25.vocab_dict if self.bm25 is not None else {}

    # ---- persistence ---------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write atomically: a complete snapshot or none."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=folder.parent))
        try:
            if self.bm25 is not None:
                self.bm25.save(str(tmp / "bm25"))
            rows = [{"text": c.text, **c.metadata()} for c in self.chunks]
            with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            (tmp / "fingerprint").write_text(self.fingerprint, encoding="utf-8")
            old = folder.with_name(folder.name + ".old")
            if folder.exists():
                os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, fingerprint: str) -> KeywordIndex | None:
        """The saved snapshot if it matches `fingerprint`, else None."""
        try:
            if (folder / "fingerprint").read_text(encoding="utf-8") != fingerprint:
                return None
            chunks = []
            with open(folder / "chunks.jsonl", encoding="utf-8") as fh:
                for line in fh:
                    row = json.loads(line)
                    chunks.append(Chunk.from_metadata(row.pop("text"), row))
            bm25 = bm25s.BM25.load(str(folder / "bm25")) if chunks else None
            return cls(chunks, bm25, fingerprint)
        except (OSError, ValueError, KeyError) as exc:
            log.info("keyword index at %s not usable (%s); rebuilding", folder, exc)
            return None


class KeywordIndexHolder:
    """Keeps the current snapshot; swaps in a rebuilt one without blocking readers."""

    def __init__(self, folder: Path | None, segmenter: Segmenter) -> None:
        self.folder = folder
        self.segmenter = segmenter
        self.index = KeywordIndex([], None, "")
        self._build_lock = threading.Lock()

    def ensure(self, fingerprint: str, chunk_source) -> KeywordIndex:
        current = self.index
        if current.fingerprint == fingerprint and (fingerprint or not len(current)):
            return current
        with self._build_lock:
            if self.index.fingerprint == fingerprint:
                return self.index
            loaded = KeywordIndex.load(self.folder, fingerprint) if self.folder else None
            if loaded is not None:
                self.segmenter.add_quoted_terms(c.text for c in loaded.chunks)
            else:
                loaded = KeywordIndex.build(chunk_source(), self.segmenter, fingerprint)
                if self.folder:
                    try:
                        loaded.save(self.folder)
                    except OSError as exc:  # a read-only disk must not stop searching
                        log.warning("could not save keyword index: %s", exc)
            self.index = loaded
            return loaded
