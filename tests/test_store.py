"""One suite for the store interface, run against embedded Chroma and a real Chroma server."""

from __future__ import annotations

import pytest

from assistant.embeddings import EmbeddingCache, make_embeddings
from assistant.store import (
    STATUS_INDEXED,
    DocRecord,
    EmbeddingModelMismatch,
    ReportStore,
    StoreBusy,
    StoreUnavailable,
)
from assistant.types import Chunk, DocMeta
from tests.conftest import make_settings


def _chunks(doc_id: str, region: str, texts: list[str]) -> list[Chunk]:
    out, pos = [], 0
    for i, t in enumerate(texts):
        out.append(
            Chunk(f"{doc_id}-{i}", doc_id, t, region, "标题", "一 › 二", i, pos, pos + len(t))
        )
        pos += len(t) + 2
    return out


def _old_layout(settings) -> None:
    """The chunk collection as stores made before texts moved beside Chroma have it."""
    from assistant.store import make_client

    embeddings = make_embeddings(settings)
    make_client(settings).get_or_create_collection(
        settings.collection, metadata={"embedding_model": embeddings.model_id}
    )


@pytest.fixture(
    params=[
        "embedded",
        "embedded-texts-in-chroma",
        pytest.param("server", marks=pytest.mark.integration),
    ]
)
def store(request, isolated_env, seeded_cache):
    overrides = {}
    if request.param == "embedded-texts-in-chroma":
        _old_layout(make_settings(isolated_env))
    if request.param == "server":
        server = request.getfixturevalue("chroma_server")
        # A fresh collection per test on the shared server.
        overrides = dict(
            chroma_host="127.0.0.1",
            chroma_port=server.port,
            collection=f"t{abs(hash(request.node.nodeid)) % 10**8}",
        )
    settings = make_settings(isolated_env, **overrides)
    store = ReportStore(settings, make_embeddings(settings))
    yield store
    store.reset()


def _put(store, doc_id="d1", region="大连市", texts=None):
    texts = texts or ["大连市建立了6331个网格。", "成立5059个网格党组织。"]
    record = DocRecord(
        DocMeta(doc_id=doc_id, title="标题", region=region), "h-" + doc_id, "", 0, 0.0
    )
    store.put_document(record, _chunks(doc_id, region, texts))
    return record


@pytest.mark.unit
def test_put_and_read_back(store):
    _put(store)
    rec = store.record("d1")
    assert rec.status == STATUS_INDEXED and rec.n_chunks == 2
    assert rec.meta.region == "大连市"
    assert store.count() == 2
    chunks = store.chunks_of("d1")
    assert [c.text for c in chunks] == ["大连市建立了6331个网格。", "成立5059个网格党组织。"]
    assert chunks[1].start == len(chunks[0].text) + 2


@pytest.mark.unit
def test_replace_removes_old_chunks(store):
    _put(store)
    _put(store, texts=["新的内容只有一句。"])
    assert store.count() == 1
    assert [c.text for c in store.all_chunks()] == ["新的内容只有一句。"]


@pytest.mark.unit
def test_remove_and_fingerprint(store):
    empty = store.fingerprint()
    _put(store)
    _put(store, doc_id="d2", region="青山区", texts=["青山区的社区。"])
    full = store.fingerprint()
    assert full != empty
    assert store.remove_document("d1") is True
    assert store.remove_document("d1") is False
    assert store.fingerprint() not in (full, empty)
    assert {c.doc_id for c in store.all_chunks()} == {"d2"}


@pytest.mark.unit
def test_dense_search_with_filter(store):
    _put(store)
    _put(store, doc_id="d2", region="青山区", texts=["青山区社区两室用房平均面积达到1100平方米。"])
    vec = store.embeddings.embed_query("社区用房面积")
    hits = store.dense_search(vec, 5)
    assert hits[0][0].doc_id == "d2"
    only_dalian = store.dense_search(vec, 5, {"region": {"$in": ["大连市"]}})
    assert {c.region for c, _ in only_dalian} == {"大连市"}


@pytest.mark.unit
def test_update_meta_reaches_chunks(store):
    _put(store)
    store.update_meta("d1", region="薛城区", title="新标题")
    assert store.record("d1").meta.region == "薛城区"
    assert {c.region for c in store.chunks_of("d1")} == {"薛城区"}


@pytest.mark.unit
def test_other_embedding_model_is_refused(store, isolated_env):
    _put(store)
    other = make_embeddings(store.settings, EmbeddingCache(isolated_env / "other.sqlite3"))
    other.model_id = "openai/text-embedding-3-small"
    with pytest.raises(EmbeddingModelMismatch, match="--rebuild"):
        ReportStore(store.settings, other)


@pytest.mark.unit
def test_second_writer_fails_fast(isolated_env, seeded_cache):
    settings = make_settings(isolated_env)
    a = ReportStore(settings, make_embeddings(settings))
    b = ReportStore(settings, make_embeddings(settings))
    with a.write_lock():
        with pytest.raises(StoreBusy, match="另一个进程"):
            with b.write_lock():
                pass
    with b.write_lock():  # released: the next writer proceeds
        pass


@pytest.mark.unit
def test_unreachable_server_is_a_clear_error(isolated_env):
    from tests.chroma_server import free_port

    settings = make_settings(isolated_env, chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(StoreUnavailable, match="无法连接 Chroma 服务器"):
        ReportStore(settings, make_embeddings(settings))


@pytest.mark.unit
def test_an_embedded_store_keeps_texts_beside_chroma_with_the_same_scores(
    isolated_env, seeded_cache
):
    """Texts beside Chroma (fast writes) and texts inside it (old stores, servers) give the
    same chunks and the same relevance, so calibrated thresholds hold for both."""
    texts = ["大连市建立了6331个网格。", "成立5059个网格党组织。", "开展志愿服务活动。"]
    new = ReportStore(make_settings(isolated_env), make_embeddings(make_settings(isolated_env)))
    old_settings = make_settings(isolated_env, collection="oldlayout")
    _old_layout(old_settings)
    old = ReportStore(old_settings, make_embeddings(old_settings))
    assert new.texts is not None and old.texts is None
    for s in (new, old):
        _put(s, texts=texts)
    raw = new.chunks.get(include=["documents", "metadatas"])
    assert raw["documents"] == [None] * 3  # Chroma indexes no text of ours
    assert set(raw["metadatas"][0]) == {"doc_id", "region"}
    vector = new.embeddings.embed_query("网格党组织有多少个？")
    got_new, got_old = new.dense_search(vector, 3), old.dense_search(vector, 3)
    assert [c for c, _ in got_new] == [c for c, _ in got_old]
    assert [round(s, 6) for _, s in got_new] == [round(s, 6) for _, s in got_old]
    assert got_new[0][0].text == "成立5059个网格党组织。"
    assert [s for _, s in got_new] == sorted(s for _, s in got_new)  # distances, nearest first
    # edits reach the texts beside the store; filters still work on the region
    new.update_meta("d1", region="旅顺口区", title="新标题")
    assert {(c.region, c.title) for c in new.chunks_of("d1")} == {("旅顺口区", "新标题")}
    assert new.dense_search(vector, 3, where={"region": "旅顺口区"})
    assert new.dense_search(vector, 3, where={"region": "大连市"}) == []
    new.remove_document("d1")
    assert new.texts.get(raw["ids"]) == {}
