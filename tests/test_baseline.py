"""The plain LangChain baseline: its configuration, its separate store, its answers, and the
side-by-side comparison with our pipeline."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from assistant.baseline import BaselineRAG, make_splitter, scaled_overlap
from assistant.evaluation import evaluate, load_questions
from tests.conftest import EVAL_FILE, REPORTS_DIR


class HashEmbeddings(Embeddings):
    """Deterministic 16-d vectors from character bigrams, counting what it was asked."""

    model_id = "test/hash"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def _vec(self, text: str) -> list[float]:
        v = [0.0] * 16
        for a, b in zip(text, text[1:], strict=False):
            v[hashlib.md5((a + b).encode()).digest()[0] % 16] += 1.0
        norm = sum(x * x for x in v) ** 0.5 or 1.0
        return [x / norm for x in v]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.seen += texts
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vec(text)


@pytest.mark.unit
def test_splitter_is_langchain_default_but_chunk_size():
    s = make_splitter(400)
    assert s._chunk_size == 400
    assert s._chunk_overlap == scaled_overlap(400) == 20
    assert s._separators == ["\n\n", "\n", " ", ""]  # LangChain's default separators
    assert scaled_overlap(4000) == 200


@pytest.mark.unit
def test_baseline_store_answer_and_cleanup(tmp_path: Path):
    emb = HashEmbeddings()
    with BaselineRAG(emb, chunk_size=400) as rag:
        folder = rag.folder
        n = rag.index_paths([REPORTS_DIR])
        assert n == rag.n_chunks > 20 and len(emb.seen) == n
        docs = rag.search("大连全市建立了多少个网格", 4)
        assert len(docs) == 4 and all(len(d.page_content) <= 400 for d in docs)
        assert {"embed_ms", "dense_ms"} <= set(rag.last_timings)
        ans = rag.answer("大连全市建立了多少个网格", 4)
        for d in docs:
            assert d.page_content in ans.text
        assert ans.cited_docs == list(dict.fromkeys(d.metadata["doc_id"] for d in docs))
        assert ans.found and ans.unsupported is None  # the recipe cannot say "not found"
        assert "chunk_overlap=20" in rag.describe()["description"]
    assert not folder.exists()


@pytest.fixture(scope="session")
def baseline(indexed_assistant):
    rag = BaselineRAG.for_assistant(indexed_assistant)
    yield rag
    rag.close()


@pytest.mark.integration
def test_baseline_is_separate_and_embeds_nothing_twice(indexed_assistant, baseline):
    store_dir = indexed_assistant.settings.store_dir.resolve()
    assert store_dir not in baseline.folder.resolve().parents
    assert indexed_assistant.store.count() == len(list(indexed_assistant.store.all_chunks()))
    assert baseline.embeddings is indexed_assistant.store.embeddings
    emb = indexed_assistant.store.embeddings
    before = emb.embedded_texts
    again = BaselineRAG.for_assistant(indexed_assistant)
    try:
        assert again.n_chunks == baseline.n_chunks
        assert emb.embedded_texts == before  # every baseline chunk came from the cache
    finally:
        again.close()


@pytest.mark.integration
def test_side_by_side_with_baseline(indexed_assistant, baseline):
    report = evaluate(indexed_assistant, load_questions(EVAL_FILE), baseline=baseline)
    groups = report.groups()
    text = report.render()
    assert "基线" in text and "比值" in text
    data = report.to_json()
    assert data["baseline"]["chunk_size"] == 400 and data["baseline"]["chunk_overlap"] == 20
    # The recipe has no way to answer "not in the reports".
    assert groups["none"]["none_not_found"]["baseline"] == 0.0
    # The quality claim: at least 1.2x the baseline, or the baseline at its ceiling.
    for key in ("recall@5", "answer_key_accuracy"):
        cell = groups["fact+para"][key]
        assert cell["baseline_at_ceiling"] or cell["ratio"] >= 1.2, text
