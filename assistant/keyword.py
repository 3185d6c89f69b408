"""BM25 over jieba tokens of the stored chunks: the keyword half of hybrid retrieval.

Built from what the store holds (so it works the same against a Chroma server), persisted
under the store folder with the store's fingerprint, and updated when the fingerprint moves.
Each snapshot keeps its chunks' term frequencies, so adding or removing a report tokenizes
only that report's chunks and re-assembles the BM25 matrix from the kept counts (numpy, the
same arithmetic as bm25s: scores identical to a full rebuild's).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from assistant.evidence import GramStats
from assistant.types import Chunk
from assistant.wordseg import Segmenter

log = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG on import; follow the application's level instead.
logging.getLogger("bm25s").setLevel(logging.NOTSET)

_EMPTY = "\u2205"  # the token of a chunk with no words, so every chunk has a row
# More changed reports than this and one paged read of all chunks beats one read per report.
MAX_INCREMENTAL_DOCS = 200
_FORMAT = "2"


def _order_key(c: Chunk) -> tuple:
    """Chunks in one canonical order, so a snapshot does not depend on how it was made."""
    return (c.doc_id, c.kind != "body", c.start, c.end, c.chunk_id)


def _key(c: Chunk) -> tuple[str, str]:
    return (c.doc_id, c.chunk_id)


def _dictionary(segmenter: Segmenter) -> frozenset[str]:
    """The words the segmenter was given beyond jieba's own (they change tokenization)."""
    with segmenter._lock:  # noqa: SLF001 - no public accessor in wordseg yet
        return frozenset(segmenter._added)  # noqa: SLF001


@dataclass(frozen=True)
class Terms:
    """Term frequencies of a list of chunks: row i (CSR) holds chunk i's distinct term ids
    and counts, `lengths[i]` its token count. Enough to assemble the BM25 matrix."""

    vocab: dict[str, int]
    indptr: np.ndarray  # int64, n + 1
    terms: np.ndarray  # int32
    tfs: np.ndarray  # float32
    lengths: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.lengths)

    @classmethod
    def tokenize(cls, texts: Iterable[str], segmenter: Segmenter, vocab: dict[str, int]) -> Terms:
        """Rows of `texts`; new tokens are added to `vocab` (pass a copy you own)."""
        # Token ids, not token strings, are kept while tokenizing: at 100k chunks the strings
        # alone took ~2 GB.
        flat: list[int] = []
        lengths: list[int] = []
        for text in texts:
            ids = [vocab.setdefault(t, len(vocab)) for t in (segmenter.tokenize(text) or [_EMPTY])]
            flat.extend(ids)
            lengths.append(len(ids))
        n = len(lengths)
        lens = np.asarray(lengths, dtype=np.int64)
        if not n:
            return cls(vocab, np.zeros(1, np.int64), *_empty_rows())
        rows = np.repeat(np.arange(n, dtype=np.int64), lens)
        keys, counts = np.unique(rows * len(vocab) + np.asarray(flat, np.int64), return_counts=True)
        row_of = keys // len(vocab)
        indptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(row_of, minlength=n), out=indptr[1:])
        return cls(
            vocab,
            indptr,
            (keys % len(vocab)).astype(np.int32),
            counts.astype(np.float32),
            lens,
        )

    def bm25(self) -> bm25s.BM25 | None:
        """The bm25s index of these rows, as `bm25s.BM25().index(ids)` builds it (defaults:
        lucene, k1=1.5, b=0.75, float32), without its per-document Python loops."""
        n = len(self)
        if not n:
            return None
        model = bm25s.BM25()
        k1, b = model.k1, model.b
        n_vocab = len(self.vocab)
        df = np.bincount(self.terms, minlength=n_vocab)
        # math.log on each distinct df, as bm25s does per token (np.log may differ by an ulp).
        values, inverse = np.unique(df, return_inverse=True)
        idf_values = np.array(
            [math.log(1 + (n - d + 0.5) / (d + 0.5)) if d else 0.0 for d in values.tolist()],
            dtype=np.float32,
        )
        idf = idf_values[inverse]
        avg = self.lengths.mean()
        norm = k1 * ((1 - b) + b * self.lengths.astype(np.float64) / avg)
        rows = np.repeat(np.arange(n, dtype=np.int32), np.diff(self.indptr))
        tfc = self.tfs / (norm[rows] + self.tfs)
        scores = (idf[self.terms] * tfc).astype(np.float32)
        order = np.argsort(self.terms, kind="stable")
        col_ptr = np.zeros(n_vocab + 1, np.int64)
        np.cumsum(df, out=col_ptr[1:])
        model.scores = {
            "data": scores[order],
            "indices": rows[order],
            "indptr": col_ptr,
            "num_docs": n,
        }
        model.vocab_dict = self.vocab
        model.unique_token_ids_set = set(self.vocab.values())
        model.nonoccurrence_array = None
        return model


def _empty_rows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(0, np.int32), np.zeros(0, np.float32), np.zeros(0, np.int64)


class KeywordIndex:
    """An immutable BM25 snapshot of a set of chunks; make a new one to change it."""

    def __init__(
        self,
        chunks: list[Chunk],
        bm25: bm25s.BM25 | None,
        fingerprint: str,
        terms: Terms | None = None,
        versions: Mapping[str, str] | None = None,
        words: frozenset[str] = frozenset(),
    ) -> None:
        self.chunks = chunks
        self.bm25 = bm25
        self.fingerprint = fingerprint
        self.terms = terms
        # doc_id -> the report version these chunks are of (None: unknown, no updates).
        self.versions = dict(versions) if versions is not None else None
        self.words = words  # the segmenter's added words when the rows were tokenized
        self._doc = np.array([c.doc_id for c in chunks], dtype=object)
        self._region = np.array([c.region for c in chunks], dtype=object)
        self._body = np.array([c.kind == "body" for c in chunks], dtype=bool)
        self._stats: GramStats | None = None
        self._stats_lock = threading.Lock()
        self._stats_from: tuple[GramStats, list[Chunk]] | None = None

    @classmethod
    def build(
        cls,
        chunks: Iterable[Chunk],
        segmenter: Segmenter,
        fingerprint: str,
        versions: Mapping[str, str] | None = None,
    ) -> KeywordIndex:
        """Tokenize every chunk (the full rebuild)."""
        chunks = sorted(chunks, key=_order_key)
        segmenter.add_quoted_terms(c.text for c in chunks)
        words = _dictionary(segmenter)
        terms = Terms.tokenize((c.text for c in chunks), segmenter, {})
        return cls(chunks, terms.bm25(), fingerprint, terms, versions, words)

    def update(
        self,
        versions: Mapping[str, str],
        new_chunks: Mapping[str, list[Chunk]],
        segmenter: Segmenter,
        fingerprint: str,
    ) -> KeywordIndex:
        """A snapshot of the reports in `versions`: reports whose version changed or that
        are gone are dropped, `new_chunks` (doc_id -> chunks) are tokenized and added.

        Kept chunks that contain a word added to the segmenter since they were tokenized
        are tokenized again, so the rows are the ones a full rebuild would make."""
        assert self.terms is not None and self.versions is not None
        added = [c for d in new_chunks for c in new_chunks[d]]
        segmenter.add_quoted_terms(c.text for c in added)
        words = _dictionary(segmenter)
        fresh = words - self.words
        hit = self._containing(fresh)
        keep: list[int] = []
        redo: list[int] = []
        for i, c in enumerate(self.chunks):
            if c.doc_id in new_chunks or versions.get(c.doc_id) != self.versions.get(c.doc_id):
                continue
            (redo if i in hit else keep).append(i)
        vocab = dict(self.terms.vocab)  # the old snapshot's dict stays as it was
        retok = [self.chunks[i] for i in redo] + added
        new_terms = Terms.tokenize((c.text for c in retok), segmenter, vocab)
        chunks = [self.chunks[i] for i in keep] + retok
        order = sorted(range(len(chunks)), key=lambda i: _order_key(chunks[i]))
        perm = np.asarray(order, np.int64)
        merged = _merge_rows(self.terms, np.asarray(keep, np.int64), new_terms, perm)
        terms = Terms(vocab, *merged)
        chunks = [chunks[i] for i in order]
        log.info(
            "keyword index updated: %d chunks kept, %d tokenized (%d again for new words)",
            len(keep),
            len(retok),
            len(redo),
        )
        out = KeywordIndex(chunks, terms.bm25(), fingerprint, terms, versions, words)
        with self._stats_lock:
            if self._stats is not None:
                # The bigram statistics follow the same change when first asked for (by an
                # offline answer, not by a search): counting 100k chunks again takes seconds.
                out._stats_from = (self._stats, self.chunks)
        return out

    def _containing(self, words: Iterable[str]) -> set[int]:
        """Positions of the chunks whose text contains any of `words`."""
        words = [w for w in words if "\x00" not in w]
        if not words or not self.chunks:
            return set()
        text = "\x00".join(c.text for c in self.chunks)
        starts = np.cumsum([0] + [len(c.text) + 1 for c in self.chunks[:-1]])
        found: list[int] = []
        for w in words:
            at = text.find(w)
            while at >= 0:
                found.append(at)
                at = text.find(w, at + 1)
        return {int(i) - 1 for i in np.searchsorted(starts, found, side="right")}

    def gram_stats(self) -> GramStats:
        """Bigram document frequencies of the body chunks, computed once per snapshot (from
        the previous snapshot's when this one is an update of it)."""
        with self._stats_lock:
            if self._stats is None and self._stats_from is not None:
                stats, chunks = self._stats_from
                before = {_key(c): c for c in chunks if c.kind == "body"}
                after = {_key(c): c for c in self.chunks if c.kind == "body"}
                # Kept chunks are the same objects; a replaced report's are new ones.
                gone = {k: c.text for k, c in before.items() if after.get(k) is not c}
                new = [(k, c.text) for k, c in after.items() if before.get(k) is not c]
                self._stats = stats.updated(gone, new)
                self._stats_from = None
            if self._stats is None:
                body = [c for c in self.chunks if c.kind == "body"]
                self._stats = GramStats((c.text for c in body), (_key(c) for c in body))
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
        top = top[np.lexsort((top, -scores[top]))]  # ties in chunk order, as a rebuild has
        return [(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]

    @property
    def _vocab(self) -> dict:
        return self.bm25.vocab_dict if self.bm25 is not None else {}

    # ---- persistence ---------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write atomically: a complete snapshot or none. The BM25 matrix is not written;
        loading assembles it again from the term frequencies (as fast as reading it)."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=folder.parent))
        try:
            terms = self.terms or Terms({}, np.zeros(1, np.int64), *_empty_rows())
            np.savez(
                tmp / "terms.npz",
                indptr=terms.indptr,
                terms=terms.terms,
                tfs=terms.tfs,
                lengths=terms.lengths,
            )
            meta = {
                "format": _FORMAT,
                "vocab": sorted(terms.vocab, key=terms.vocab.__getitem__),
                "versions": self.versions,
                "words": sorted(self.words),
            }
            (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
            with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
                for c in self.chunks:
                    fh.write(json.dumps({"text": c.text, **c.metadata()}, ensure_ascii=False))
                    fh.write("\n")
            (tmp / "fingerprint").write_text(self.fingerprint, encoding="utf-8")
            old = folder.with_name(folder.name + ".old")
            if folder.exists():
                os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, fingerprint: str | None) -> KeywordIndex | None:
        """The saved snapshot if it matches `fingerprint` (None: whatever is saved, as the
        base of an update), else None."""
        try:
            saved = (folder / "fingerprint").read_text(encoding="utf-8")
            if fingerprint is not None and saved != fingerprint:
                return None
            meta = json.loads((folder / "meta.json").read_text("utf-8"))
            if meta.get("format") != _FORMAT:
                return None
            chunks = []
            with open(folder / "chunks.jsonl", encoding="utf-8") as fh:
                for line in fh:
                    row = json.loads(line)
                    chunks.append(Chunk.from_metadata(row.pop("text"), row))
            with np.load(folder / "terms.npz") as npz:
                vocab = {t: i for i, t in enumerate(meta["vocab"])}
                terms = Terms(vocab, npz["indptr"], npz["terms"], npz["tfs"], npz["lengths"])
            if len(terms) != len(chunks):
                raise ValueError("chunks and term rows differ in number")
            words = frozenset(meta["words"])
            return cls(chunks, terms.bm25(), saved, terms, meta["versions"], words)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.info("keyword index at %s not usable (%s); rebuilding", folder, exc)
            return None


def _merge_rows(
    old: Terms, src_old: np.ndarray, new: Terms, perm: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows of `old` (at `src_old`) followed by all rows of `new`, then reordered by
    `perm` (indices into that combined list); vectorized, no loop over rows."""
    n_old = len(src_old)
    is_new = perm >= n_old
    old_idx = src_old[perm[~is_new]]
    new_idx = perm[is_new] - n_old
    o_counts = np.diff(old.indptr)
    n_counts = np.diff(new.indptr)
    counts = np.empty(len(perm), np.int64)
    counts[~is_new] = o_counts[old_idx]
    counts[is_new] = n_counts[new_idx]
    indptr = np.zeros(len(perm) + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    terms = np.empty(indptr[-1], np.int32)
    tfs = np.empty(indptr[-1], np.float32)
    lengths = np.empty(len(perm), np.int64)
    for flag, part, idx in ((~is_new, old, old_idx), (is_new, new, new_idx)):
        if not len(idx):
            continue
        c = np.diff(part.indptr)[idx]
        dst = np.repeat(indptr[:-1][flag], c) + _within(c)
        src = np.repeat(part.indptr[:-1][idx], c) + _within(c)
        terms[dst] = part.terms[src]
        tfs[dst] = part.tfs[src]
        lengths[flag] = part.lengths[idx]
    return indptr, terms, tfs, lengths


def _within(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each c in `counts`, concatenated."""
    ends = np.cumsum(counts)
    return np.arange(ends[-1] if len(ends) else 0, dtype=np.int64) - np.repeat(
        ends - counts, counts
    )


class KeywordIndexHolder:
    """Keeps the current snapshot; swaps in an updated one without blocking readers."""

    def __init__(self, folder: Path | None, segmenter: Segmenter) -> None:
        self.folder = folder
        self.segmenter = segmenter
        self.index = KeywordIndex([], None, "")
        self._build_lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._saver: threading.Thread | None = None

    def ensure(
        self,
        fingerprint: str,
        chunk_source: Callable[[], Iterable[Chunk]],
        versions: Mapping[str, str] | None = None,
        doc_chunks: Callable[[str], list[Chunk]] | None = None,
    ) -> KeywordIndex:
        """The snapshot for `fingerprint`: the current one, the saved one, an update of
        either (when `versions`, doc_id -> report version, and `doc_chunks` are given), or
        a full build from `chunk_source`."""
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
                loaded = self._update(fingerprint, versions, doc_chunks)
                if loaded is None:
                    loaded = KeywordIndex.build(
                        chunk_source(), self.segmenter, fingerprint, versions
                    )
                self.index = loaded
                if self.folder:
                    # Written in the background: the new report is searchable now, and a
                    # process that stops before the write ends starts from the older
                    # snapshot and updates it again. Not a daemon: exit waits for it.
                    saver = threading.Thread(
                        target=self._save, args=(loaded,), name="bm25-save", daemon=False
                    )
                    self._saver = saver
                    saver.start()
            self.index = loaded
            return loaded

    def _save(self, index: KeywordIndex) -> None:
        with self._save_lock:
            if self.index is not index or self.folder is None:
                return  # a newer snapshot replaced it and will be written instead
            try:
                index.save(self.folder)
            except OSError as exc:  # a read-only disk must not stop searching
                log.warning("could not save keyword index: %s", exc)

    def flush(self) -> None:
        """Wait until the current snapshot is on disk (tests, shutdown)."""
        saver = self._saver
        if saver is not None:
            saver.join()

    def _update(self, fingerprint, versions, doc_chunks) -> KeywordIndex | None:
        if versions is None or doc_chunks is None:
            return None
        base = self.index
        if base.versions is None and self.folder:
            base = KeywordIndex.load(self.folder, None) or base
            if base.versions is not None:
                self.segmenter.add_quoted_terms(c.text for c in base.chunks)
        if base.versions is None or base.terms is None:
            return None
        changed = [d for d, v in versions.items() if base.versions.get(d) != v]
        if len(changed) > MAX_INCREMENTAL_DOCS:
            return None
        return base.update(
            versions, {d: doc_chunks(d) for d in changed}, self.segmenter, fingerprint
        )
