"""The plain LangChain recipe we compare against: split, embed, dense top-k, concatenate.

`RecursiveCharacterTextSplitter` with LangChain's defaults except the chunk size (ours, 400
characters) and the overlap scaled with it (LangChain's 200/4000 = 5%, i.e. 20 characters);
dense-only retrieval from its own Chroma collection in a temporary folder, with the same
embedding model and the same embedding cache as our store, so no text is embedded twice;
the answer is the top-k passages concatenated, citing each of them.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.evaluation import AnswerView, Hit
from assistant.ingest import collect_sources
from assistant.loading import LoadError, load_text

# LangChain's TextSplitter defaults: chunk_size=4000, chunk_overlap=200.
LANGCHAIN_CHUNK_SIZE = 4000
LANGCHAIN_CHUNK_OVERLAP = 200
COLLECTION = "baseline"


def scaled_overlap(chunk_size: int) -> int:
    """LangChain's default overlap, scaled with the chunk size (200 of 4000 -> 5%)."""
    return round(chunk_size * LANGCHAIN_CHUNK_OVERLAP / LANGCHAIN_CHUNK_SIZE)


def make_splitter(chunk_size: int = 400) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=scaled_overlap(chunk_size)
    )


class BaselineRAG:
    """A separate Chroma store in a temporary folder; call `close()` (or use `with`)."""

    name = "baseline"

    def __init__(
        self,
        embeddings: Embeddings,
        chunk_size: int = 400,
        folder: Path | None = None,
        max_bytes: int = 20 * 1024 * 1024,
        max_chars: int = 2_000_000,
    ) -> None:
        self.embeddings = embeddings
        self.chunk_size = chunk_size
        self.splitter = make_splitter(chunk_size)
        self._own_folder = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="baseline-store-"))
        self.max_bytes = max_bytes
        self.max_chars = max_chars
        self.vectorstore = Chroma(
            collection_name=COLLECTION,
            embedding_function=embeddings,
            persist_directory=str(self.folder),
        )
        self.n_chunks = 0
        self.last_timings: dict[str, float] = {}

    @classmethod
    def for_assistant(cls, assistant, paths: Sequence[Path] | None = None) -> BaselineRAG:
        """A baseline over the same files, sharing the assistant's embeddings and cache."""
        s = assistant.settings
        rag = cls(
            assistant.store.embeddings,
            chunk_size=s.chunk_max_chars,
            max_bytes=s.max_file_bytes,
            max_chars=s.max_chars,
        )
        rag.index_paths(list(paths) if paths else [s.reports_dir])
        return rag

    def describe(self) -> dict[str, Any]:
        return {
            "splitter": "RecursiveCharacterTextSplitter",
            "chunk_size": self.chunk_size,
            "chunk_overlap": scaled_overlap(self.chunk_size),
            "separators": ["\\n\\n", "\\n", " ", ""],
            "retrieval": "dense only (langchain-chroma similarity search)",
            "embedding_model": getattr(self.embeddings, "model_id", type(self.embeddings).__name__),
            "answer": "top-k passages concatenated; citations = those passages",
            "chunks": self.n_chunks,
            "description": (
                f"RecursiveCharacterTextSplitter(chunk_size={self.chunk_size}, "
                f"chunk_overlap={scaled_overlap(self.chunk_size)}) + 纯向量检索（同一向量模型）"
                " + 前 k 段直接拼接作答"
            ),
        }

    # ---- indexing ------------------------------------------------------------------------

    def load(self, paths: Sequence[Path]) -> list[Document]:
        """The files' text as decoded by our loader, with no cleaning (the plain recipe)."""
        sources, _problems = collect_sources(paths)
        docs = []
        for src in sources:
            try:
                text = load_text(src.path, max_bytes=self.max_bytes, max_chars=self.max_chars)
            except LoadError:
                continue
            docs.append(
                Document(
                    page_content=text, metadata={"doc_id": src.doc_id, "source": src.path.name}
                )
            )
        return docs

    def split(self, docs: list[Document]) -> list[Document]:
        return self.splitter.split_documents(docs)

    def index_paths(self, paths: Sequence[Path]) -> int:
        return self.index_chunks(self.split(self.load(paths)))

    def index_chunks(self, chunks: list[Document]) -> int:
        ids = [f"{c.metadata['doc_id']}:{i}" for i, c in enumerate(chunks)]
        for i in range(0, len(chunks), 256):
            self.vectorstore.add_documents(chunks[i : i + 256], ids=ids[i : i + 256])
        self.n_chunks += len(chunks)
        return len(chunks)

    # ---- querying ------------------------------------------------------------------------

    def search(self, question: str, k: int) -> list[Document]:
        t0 = time.perf_counter()
        vector = self.embeddings.embed_query(question)
        t1 = time.perf_counter()
        hits = self.vectorstore.similarity_search_by_vector(vector, k=k)
        t2 = time.perf_counter()
        self.last_timings = {"embed_ms": (t1 - t0) * 1000, "dense_ms": (t2 - t1) * 1000}
        return hits

    def retrieve(self, question: str, k: int) -> list[Hit]:
        return [
            Hit(d.page_content, str(d.metadata.get("doc_id", ""))) for d in self.search(question, k)
        ]

    def answer(self, question: str, k: int) -> AnswerView:
        docs = self.search(question, k)
        t0 = time.perf_counter()
        text = "\n\n".join(f"[{i}] {d.page_content}" for i, d in enumerate(docs, start=1))
        cited = list(dict.fromkeys(str(d.metadata.get("doc_id", "")) for d in docs))
        self.last_timings["answer_ms"] = (time.perf_counter() - t0) * 1000
        # Found whenever anything was retrieved: the recipe has no way to say "not in the reports".
        return AnswerView(text=text, found=bool(docs), cited_docs=cited, unsupported=None)

    # ---- lifetime ------------------------------------------------------------------------

    def close(self) -> None:
        """Drop the temporary store (a folder passed in by the caller is left alone)."""
        try:
            self.vectorstore.delete_collection()
        except Exception:  # already gone
            pass
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> BaselineRAG:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
