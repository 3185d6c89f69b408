"""Test doubles for the answer tests: real chunks cut from the corpus, a keyword retriever over
them, and a chat model that records every message it was sent. (No tests in this module.)"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from assistant.types import Chunk, Passage

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "data" / "reports"
_SENT = re.compile(r"[^。！？]+[。！？]?")


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, Any]]:
    return yaml.safe_load((REPORTS / "catalog.yaml").read_text(encoding="utf-8"))


def region_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for meta in catalog().values():
        region = meta["region"]
        names[region] = region
        for suffix in ("区", "市", "县"):
            if region.endswith(suffix) and len(region) - 1 >= 2:
                names.setdefault(region[: -len(suffix)], region)
        for alias in meta.get("aliases") or []:
            names.setdefault(alias, region)
    return names


@lru_cache(maxsize=1)
def corpus_chunks(max_chars: int = 360) -> tuple[Chunk, ...]:
    """Paragraph-run chunks of the sample reports with true offsets into the file text."""
    chunks: list[Chunk] = []
    for doc_id, meta in catalog().items():
        text = (REPORTS / f"{doc_id}.txt").read_text(encoding="utf-8")
        section = ""
        pos = 0
        for para_no, para in enumerate(text.split("\n\n")):
            start = text.index(para, pos) if para else pos
            pos = start + len(para)
            body = para.strip()
            if not body:
                continue
            if len(body) < 40 and "。" not in body:
                section = body
                continue
            offset = start + para.index(body)
            piece, piece_start = "", offset
            for m in _SENT.finditer(body):
                sentence = m.group(0)
                if piece and len(piece) + len(sentence) > max_chars:
                    chunks.append(
                        _chunk(doc_id, meta, piece, section, para_no, piece_start, len(chunks))
                    )
                    piece, piece_start = "", offset + m.start()
                piece += sentence
            if piece.strip():
                chunks.append(
                    _chunk(doc_id, meta, piece, section, para_no, piece_start, len(chunks))
                )
    return tuple(chunks)


def _chunk(
    doc_id: str, meta: dict, text: str, section: str, para: int, start: int, i: int
) -> Chunk:
    return Chunk(
        chunk_id=f"{doc_id}:{i:04d}",
        doc_id=doc_id,
        text=text,
        region=meta["region"],
        title=meta["title"],
        section=section,
        paragraph=para,
        start=start,
        end=start + len(text),
    )


def chunks_containing(*needles: str) -> list[Chunk]:
    return [c for c in corpus_chunks() if all(n in c.text for n in needles)]


def passage(chunk: Chunk, score: float = 0.5) -> Passage:
    return Passage(chunk=chunk, score=score, dense_rank=1, bm25_rank=1)


def make_chunk(text: str, region: str = "薛城区", n: int = 0, **kw: Any) -> Chunk:
    return Chunk(
        chunk_id=kw.pop("chunk_id", f"test:{n:04d}"),
        doc_id=kw.pop("doc_id", "test_doc"),
        text=text,
        region=region,
        title=kw.pop("title", "测试报告"),
        section=kw.pop("section", "测试章节"),
        paragraph=kw.pop("paragraph", n),
        start=kw.pop("start", 0),
        end=kw.pop("end", len(text)),
        **kw,
    )


class FakeRetriever:
    """Character-bigram overlap search over real chunks; same interface as HybridRetriever."""

    def __init__(self, chunks: tuple[Chunk, ...] | list[Chunk] | None = None) -> None:
        self.chunks = list(chunks if chunks is not None else corpus_chunks())
        self.calls: list[dict[str, Any]] = []
        self._names = region_names()

    def regions(self) -> list[str]:
        return list(dict.fromkeys(c.region for c in self.chunks))

    def detect_regions(self, question: str) -> list[str]:
        found: dict[str, None] = {}
        for name in sorted(self._names, key=len, reverse=True):
            if name in question:
                found.setdefault(self._names[name], None)
                question = question.replace(name, " ")
        return list(found)

    def search(
        self,
        query: str,
        k: int = 6,
        regions: list[str] | None = None,
        doc_ids: list[str] | None = None,
    ) -> list[Passage]:
        self.calls.append({"query": query, "k": k, "regions": regions, "doc_ids": doc_ids})
        if not regions:
            regions = self.detect_regions(query) or None
        grams = {query[i : i + 2] for i in range(len(query) - 1)}
        grams = {g for g in grams if not re.search(r"[\s，。？！、“”]", g)}
        scored = []
        for c in self.chunks:
            if regions and c.region not in regions:
                continue
            if doc_ids and c.doc_id not in doc_ids:
                continue
            s = sum(1 for g in grams if g in c.text)
            if s:
                scored.append((s, c))
        scored.sort(key=lambda x: (-x[0], x[1].chunk_id))
        # A stand-in for the embedding model's cosine: e5 puts related Chinese passages
        # at about 0.83-0.95.
        return [
            Passage(
                chunk=c,
                score=s / max(len(grams), 1),
                dense_rank=i + 1,
                bm25_rank=i + 1,
                dense_sim=0.83 + 0.12 * s / max(len(grams), 1),
            )
            for i, (s, c) in enumerate(scored[:k])
        ]


class StaticRetriever(FakeRetriever):
    """Always returns the given chunks (at most k), whatever the question."""

    def search(self, query, k=6, regions=None, doc_ids=None):  # type: ignore[override]
        self.calls.append({"query": query, "k": k, "regions": regions, "doc_ids": doc_ids})
        chunks = [c for c in self.chunks if not regions or c.region in regions]
        return [
            Passage(chunk=c, score=1.0 / (i + 1), dense_rank=i + 1, dense_sim=0.9)
            for i, c in enumerate(chunks[:k])
        ]


class RecordingChatModel(BaseChatModel):
    """Replies with scripted texts (streamed in small pieces) and records what it was sent."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    replies: list[str] = Field(default_factory=list)
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    model_name: str = "fake-recorder"
    chunk_chars: int = 5
    fail_with: BaseException | None = None
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "recording-fake"

    def _next(self, messages: list[BaseMessage]) -> str:
        with self._lock:
            self.calls.append(list(messages))
            if self.fail_with is not None:
                raise self.fail_with
            if not self.replies:
                return "报告中未找到相关内容。"
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:  # type: ignore[override]
        text = self._next(messages)
        return ChatResult(
            generations=[
                ChatGeneration(
                    message=AIMessage(content=text, response_metadata={"finish_reason": "stop"})
                )
            ]
        )

    def _stream(
        self, messages, stop=None, run_manager=None, **kwargs
    ) -> Iterator[ChatGenerationChunk]:  # type: ignore[override]
        text = self._next(messages)
        for i in range(0, len(text), self.chunk_chars):
            yield ChatGenerationChunk(
                message=AIMessageChunk(content=text[i : i + self.chunk_chars])
            )
        yield ChatGenerationChunk(
            message=AIMessageChunk(content="", response_metadata={"finish_reason": "stop"})
        )
