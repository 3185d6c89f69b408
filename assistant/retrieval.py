"""Hybrid retrieval: dense (Chroma) and BM25 (jieba) rankings fused by reciprocal rank."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.catalog import (
    Catalog,
    find_regions,
    titled_documents,
    without_titles,
    written_names,
)
from assistant.chunking import heads_case
from assistant.gazetteer import finer_places
from assistant.keyword import KeywordIndexHolder
from assistant.store import STATUS_INDEXED, ReportStore
from assistant.types import Passage
from assistant.wordseg import Segmenter

RRF_K = 60


@dataclass(frozen=True)
class _State:
    """What the retriever knows of the store at one generation; replaced, never changed."""

    generation: str = ""
    indexed: frozenset[str] = frozenset()
    docs: tuple[DocInfo, ...] = ()
    regions: tuple[str, ...] = ()
    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    keyword: Any = None  # the KeywordIndex over exactly the indexed reports' chunks


@dataclass(frozen=True)
class DocInfo:
    """What searches and comparisons need to know of an indexed report."""

    doc_id: str
    region: str
    title: str
    kind: str = ""
    year: str = ""
    date: str = ""


# Fused candidates the evidence reranker orders before the top k are kept.
RERANK_DEPTH = 20


class HybridRetriever:
    """Searches the store; shared by all sessions of a process (thread-safe)."""

    def __init__(
        self,
        store: ReportStore,
        catalog: Catalog,
        segmenter: Segmenter,
        fetch_k: int = 30,
        refresh_interval_s: float = 1.0,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.segmenter = segmenter
        self.fetch_k = fetch_k
        self.refresh_interval_s = refresh_interval_s
        folder = None if store.settings.server_mode else store.settings.store_dir / "bm25"
        if store.settings.server_mode:
            # Per-process cache of the server's contents, keyed by collection.
            folder = store.settings.store_dir / "bm25-server" / store.name
        self.keyword = KeywordIndexHolder(folder, segmenter)
        self._refresh_lock = threading.Lock()
        self._checked_at = 0.0
        self._state = _State()
        self._pin = threading.local()  # the snapshot a thread's question is pinned to
        self._readers: dict[str, int] = {}  # generation -> questions/searches using it
        self._readers_cv = threading.Condition()
        self.refresh(force=True)

    # ---- state ---------------------------------------------------------------------------

    def refresh(self, force: bool = False) -> None:
        """Pick up reports added or removed by this or another process.

        At most once a second, one small read of the store's generation; the records are
        read and the keyword index rebuilt only when it moved. One thread refreshes at a
        time; readers keep using the previous snapshot meanwhile, never a half-made one.
        """
        if not force and time.monotonic() - self._checked_at < self.refresh_interval_s:
            return
        with self._refresh_lock:
            now = time.monotonic()
            if not force and now - self._checked_at < self.refresh_interval_s:
                return  # another thread refreshed while this one waited
            generation = self.store.fingerprint()
            if not force and generation == self._state.generation:
                self._checked_at = now
                return
            records = self.store.records()
            self.store.sync(generation)
            indexed = [r for r in records if r.status == STATUS_INDEXED]
            # The regions of the indexed reports, in catalog order first: a catalog entry
            # whose report is not (or no longer) in the library is no region of it.
            held = {r.meta.region for r in indexed if r.meta.region}
            regions = [g for g in self.catalog.regions() if g in held]
            for r in indexed:
                if r.meta.region and r.meta.region not in regions:
                    regions.append(r.meta.region)
            names = self.catalog.region_names(regions)
            self.segmenter.add_words(names)
            ids = frozenset(r.doc_id for r in indexed)
            # Chunks of a report being written or removed are not counted: its terms must
            # not shift the scores of the others before (or after) it is searchable.
            # A report's version moves with every write to its record, so an update of the
            # keyword index re-reads exactly the reports added, replaced or edited.
            versions = {
                r.doc_id: f"{r.content_hash}/{r.n_chunks}/{r.updated_at!r}" for r in indexed
            }
            keyword = self.keyword.ensure(
                generation,
                lambda: (c for c in self.store.all_chunks() if c.doc_id in ids),
                versions=versions,
                doc_chunks=self.store.chunks_of,
            )
            with self._readers_cv:
                self._state = _State(
                    generation=generation,
                    indexed=ids,
                    docs=tuple(
                        DocInfo(
                            r.doc_id,
                            r.meta.region,
                            r.meta.title,
                            r.meta.kind,
                            r.meta.year,
                            r.meta.date,
                        )
                        for r in indexed
                    ),
                    regions=tuple(regions),
                    names=MappingProxyType(dict(names)),
                    keyword=keyword,
                )
            self._checked_at = now

    def _current(self) -> _State:
        pinned = getattr(self._pin, "state", None)
        if pinned is not None:
            return pinned
        self.refresh()
        return self._state

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """All searches of this thread inside see one snapshot of the library (a question
        that searches several times, such as a comparison, never straddles a change)."""
        if getattr(self._pin, "state", None) is not None:
            yield  # already pinned by an outer question
            return
        self.refresh()
        state = self._enter()
        self._pin.state = state
        try:
            yield
        finally:
            self._pin.state = None
            self._leave(state)

    def _enter(self) -> _State:
        with self._readers_cv:
            state = self._state
            self._readers[state.generation] = self._readers.get(state.generation, 0) + 1
            return state

    def _leave(self, state: _State) -> None:
        with self._readers_cv:
            left = self._readers.get(state.generation, 1) - 1
            if left:
                self._readers[state.generation] = left
            else:
                self._readers.pop(state.generation, None)
            self._readers_cv.notify_all()

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until no question or search in this process uses an older snapshot (before
        deleting what that snapshot still shows); False if they did not finish in time."""
        deadline = time.monotonic() + timeout_s
        with self._readers_cv:
            while any(g != self._state.generation for g in self._readers):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._readers_cv.wait(left)
        return True

    @property
    def _names(self) -> Mapping[str, str]:
        return self._current().names

    def regions(self) -> list[str]:
        return list(self._current().regions)

    def documents(self) -> tuple[DocInfo, ...]:
        """The indexed reports (an immutable snapshot)."""
        return self._current().docs

    def gram_stats(self):
        """Corpus bigram statistics of the current keyword snapshot (evidence weights)."""
        state = self._current()
        return (state.keyword or self.keyword.index).gram_stats()

    def detect_regions(self, question: str) -> list[str]:
        return find_regions(question, dict(self._current().names))

    # ---- search --------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 6,
        regions: list[str] | None = None,
        doc_ids: list[str] | None = None,
        auto_region: bool = True,
        timings: dict[str, float] | None = None,
    ) -> list[Passage]:
        """Top-k passages. Without an explicit document filter, reports the query names by
        their title are the filter; without an explicit region filter, regions named in the
        query become the filter (each falling back to all reports when it finds nothing).

        `timings`, when given, receives the stage times of this call (added up over the
        searches it makes); the retriever itself keeps no per-call state."""
        with self.pinned():
            state = self._current()
            depth = max(k, RERANK_DEPTH)
            hits: list[Passage] = []
            titled = [] if doc_ids else titled_documents(query, state.docs)
            if titled:
                # Inside the named reports their title tells nothing apart: search with
                # what the question asks of them.
                query = without_titles(query, state.docs, titled)
                hits = self._search(state, query, depth, regions or None, titled, timings)
            if not hits and not regions and auto_region:
                named = find_regions(query, dict(state.names))
                if named:
                    hits = self._search(state, query, depth, named, doc_ids, timings)
                    # Passages that name the place count from any report, not only from
                    # the place's own: a county asked about inside a named city, or a case
                    # of a compilation whose own region is elsewhere.
                    places = finer_places(query, named)
                    aliases = written_names(state.names, named)
                    wider = self._search(state, query, depth, None, doc_ids, timings)
                    hits = _merge(
                        hits,
                        [
                            p
                            for p in wider
                            if _names_place(p, places, named) or _heads_case(p, aliases, named)
                        ],
                        depth,
                    )
            if not hits:
                hits = self._search(state, query, depth, regions or None, doc_ids, timings)
            t0 = time.perf_counter()
            ranked = self._rerank(state, query, hits)[:k]
            if timings is not None:
                timings["rerank_ms"] = (
                    timings.get("rerank_ms", 0.0) + (time.perf_counter() - t0) * 1000
                )
            return ranked

    def _rerank(self, state: _State, query: str, hits: list[Passage]) -> list[Passage]:
        """The fused candidates in order of their evidence for the question (the score the
        answerer judges answerability by: rarity-weighted shared bigrams and characters,
        plus dense similarity). Rank fusion counts a passage that both rankers place
        middling above one that holds every rare word of the question; this reads them.
        A question with no Chinese content (English) keeps the fused order: with no
        shared words its evidence is the dense similarity alone, which fusion already
        weighs with BM25's matches on figures and names."""
        if len(hits) < 2:
            return hits
        from assistant import evidence as ev

        index = state.keyword or self.keyword.index
        stats = index.gram_stats()
        if stats is None or not stats.n:
            return hits
        f = ev.focus(query, stats, dict(state.names))
        if not f.lexical:
            return hits
        scored = ev.score_passages(f, hits)
        order = sorted(range(len(hits)), key=lambda i: (-scored[i].score, i))
        return [hits[i] for i in order]

    def _search(
        self,
        state: _State,
        query: str,
        k: int,
        regions: list[str] | None,
        doc_ids: list[str] | None,
        timings: dict[str, float] | None = None,
    ) -> list[Passage]:
        t0 = time.perf_counter()
        vector = self.store.embeddings.embed_query(query)
        t1 = time.perf_counter()
        indexed = state.indexed
        fetch = max(self.fetch_k, k * 3)
        where = _where(regions, doc_ids)
        # Twice as many as used: chunks of a report being written or removed (in the store,
        # not in this snapshot) then take no places from the rest, so the ranking is the
        # snapshot's own while the library changes.
        visible = [
            (c, s)
            for c, s in self.store.dense_search(vector, 2 * fetch, where)
            if c.doc_id in indexed
        ][:fetch]
        dense = [(c, s) for c, s in visible if c.kind == "body"]
        t2 = time.perf_counter()
        index = state.keyword or self.keyword.index
        sparse = [
            (c, s)
            for c, s in index.search(query, self.segmenter, fetch, regions, doc_ids)
            if c.doc_id in indexed
        ]
        t3 = time.perf_counter()
        fused = fuse(dense, sparse)[:k]
        t4 = time.perf_counter()
        if timings is not None:
            for key, value in (
                ("embed_ms", t1 - t0),
                ("dense_ms", t2 - t1),
                ("bm25_ms", t3 - t2),
                ("fuse_ms", t4 - t3),
            ):
                timings[key] = timings.get(key, 0.0) + value * 1000
        return fused


def _names_place(p: Passage, places: list[str], regions: list[str]) -> bool:
    c = p.chunk
    return c.region not in regions and any(
        n in c.text or n in c.title or n in c.section for n in places
    )


def _heads_case(p: Passage, names: list[str], regions: list[str]) -> bool:
    """A passage of another report under a heading that opens with the place."""
    return p.chunk.region not in regions and heads_case(p.chunk.section, names)


def _merge(first: list[Passage], more: list[Passage], k: int) -> list[Passage]:
    """Two result lists as one, by fused score (each from its own search), each chunk once."""
    seen = {p.chunk.chunk_id for p in first}
    both = first + [p for p in more if p.chunk.chunk_id not in seen]
    return sorted(both, key=lambda p: (-p.score, p.dense_rank or 10**9, p.chunk.chunk_id))[:k]


def fuse(dense: list[tuple[Any, float]], sparse: list[tuple[Any, float]]) -> list[Passage]:
    """Reciprocal rank fusion; ties broken by dense rank then chunk id (deterministic)."""
    by_id: dict[str, Passage] = {}
    for rank, (chunk, distance) in enumerate(dense, start=1):
        p = by_id.setdefault(chunk.chunk_id, Passage(chunk=chunk, score=0.0))
        p.dense_rank = rank
        p.dense_sim = cosine_of(distance)
        p.score += 1.0 / (RRF_K + rank)
    for rank, (chunk, score) in enumerate(sparse, start=1):
        p = by_id.setdefault(chunk.chunk_id, Passage(chunk=chunk, score=0.0))
        p.bm25_rank = rank
        p.bm25_score = float(score)
        p.score += 1.0 / (RRF_K + rank)
    return sorted(
        by_id.values(),
        key=lambda p: (-p.score, p.dense_rank or 10**9, p.chunk.chunk_id),
    )


def cosine_of(distance: float) -> float:
    """Cosine similarity from Chroma's default squared-L2 distance of unit vectors
    (both embedding backends return normalised vectors): d = 2 - 2cos."""
    return 1.0 - float(distance) / 2.0


def _where(regions: list[str] | None, doc_ids: list[str] | None) -> dict | None:
    clauses = []
    if regions:
        clauses.append({"region": {"$in": list(regions)}})
    if doc_ids:
        clauses.append({"doc_id": {"$in": list(doc_ids)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class ReportRetriever(BaseRetriever):
    """The LangChain face of HybridRetriever, for chains that want a BaseRetriever."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hybrid: Any
    k: int = 6
    regions: list[str] | None = None
    doc_ids: list[str] | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        passages = self.hybrid.search(query, k=self.k, regions=self.regions, doc_ids=self.doc_ids)
        return [
            Document(page_content=p.chunk.text, metadata={**p.chunk.metadata(), "score": p.score})
            for p in passages
        ]
