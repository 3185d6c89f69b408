"""Updating the keyword index report by report gives what a full rebuild gives."""

from __future__ import annotations

import bm25s
import numpy as np
import pytest

from assistant.keyword import KeywordIndex, KeywordIndexHolder, Terms
from assistant.types import Chunk
from assistant.wordseg import Segmenter

pytestmark = pytest.mark.unit

DOCS = {
    "a": (
        "大连市",
        ["目前全市已建立6331个网格，成立5059个网格党组织。", "推动115个软弱涣散村全部完成整顿。"],
    ),
    "b": ("青山区", ["1300余名在职党员整建制到49个社区进行“双报到”。", "社区党群服务中心全覆盖。"]),
    "c": ("薛城区", ["累计排查整顿软弱涣散基层党组织46个。", "打造“红色驿站”服务群众。"]),
    "d": ("浮山县", ["推行“红扁担”志愿服务，红色驿站延伸到村。", "软弱涣散党组织整顿提升。"]),
}
QUERIES = ["软弱涣散党组织整顿", "红色驿站", "双报到 在职党员", "网格党组织", "红扁担"]


def _chunks(doc: str) -> list[Chunk]:
    region, texts = DOCS[doc]
    return [Chunk(f"{doc}{i}", doc, t, region, "题", "", i, i, i + 1) for i, t in enumerate(texts)]


def _all(*docs: str) -> list[Chunk]:
    return [c for d in docs for c in _chunks(d)]


def _results(index: KeywordIndex, seg: Segmenter) -> list:
    return [[(c.chunk_id, s) for c, s in index.search(q, seg, k=10)] for q in QUERIES]


def test_assembled_matrix_equals_bm25s_own_build():
    seg = Segmenter()
    terms = Terms.tokenize((c.text for c in _all("a", "b", "c", "d")), seg, {})
    ids = []
    for c in _all("a", "b", "c", "d"):
        ids.append([terms.vocab[t] for t in seg.tokenize(c.text)])
    ref = bm25s.BM25()
    ref.index(bm25s.tokenization.Tokenized(ids=ids, vocab=dict(terms.vocab)), show_progress=False)
    ours = terms.bm25()
    for t in terms.vocab:
        assert np.array_equal(ours.get_scores([t]), ref.get_scores([t])), t


def test_added_report_scores_as_a_full_rebuild():
    seg = Segmenter()
    base = KeywordIndex.build(_all("a", "b", "c"), seg, "g1", {"a": "1", "b": "1", "c": "1"})
    versions = {"a": "1", "b": "1", "c": "1", "d": "1"}
    inc = base.update(versions, {"d": _chunks("d")}, seg, "g2")
    full = KeywordIndex.build(_all("d", "c", "b", "a"), Segmenter(), "g2", versions)
    assert _results(inc, seg) == _results(full, seg)
    assert any(c.doc_id == "d" for c, _ in inc.search("红扁担", seg, k=3))
    # The new report's quoted word changes how an old chunk is cut: that chunk is redone.
    assert "红扁担" not in base._vocab and "红扁担" in inc._vocab


def test_removed_and_replaced_reports_drop_their_chunks():
    seg = Segmenter()
    v = {"a": "1", "b": "1", "c": "1", "d": "1"}
    base = KeywordIndex.build(_all("a", "b", "c", "d"), seg, "g1", v)
    inc = base.update({"a": "1", "c": "1", "d": "2"}, {"d": _chunks("d")[:1]}, seg, "g2")
    assert {c.chunk_id for c in inc.chunks} == {"a0", "a1", "c0", "c1", "d0"}
    full = KeywordIndex.build(_all("a", "c") + _chunks("d")[:1], Segmenter(), "g2")
    assert _results(inc, seg) == _results(full, seg)
    assert inc.search("双报到", seg, k=5) == []


def test_holder_updates_and_a_new_process_continues_from_disk(tmp_path):
    seg = Segmenter()
    folder = tmp_path / "bm25"
    full_reads = []

    def source(docs):
        return lambda: full_reads.append(1) or _all(*docs)

    holder = KeywordIndexHolder(folder, seg)
    holder.ensure("g1", source("abc"), {"a": "1", "b": "1", "c": "1"}, _chunks)
    v2 = {"a": "1", "b": "1", "c": "1", "d": "1"}
    got = holder.ensure("g2", source("abcd"), v2, _chunks)
    assert len(full_reads) == 1 and len(got) == 8
    holder.flush()  # written in the background
    other = KeywordIndexHolder(folder, Segmenter())
    again = other.ensure("g2", source("abcd"), v2, _chunks)
    other.flush()
    assert len(full_reads) == 1 and _results(again, seg) == _results(got, seg)
    later = KeywordIndexHolder(folder, Segmenter()).ensure(
        "g3", source("bd"), {"b": "1", "d": "1"}, _chunks
    )
    assert len(full_reads) == 1 and {c.doc_id for c in later.chunks} == {"b", "d"}


def test_bigram_statistics_follow_an_update():
    seg = Segmenter()
    v = {"a": "1", "b": "1", "c": "1"}
    base = KeywordIndex.build(_all("a", "b", "c"), seg, "g1", v)
    base.gram_stats()  # computed before the update, as a running app has them
    inc = base.update(
        {"a": "1", "c": "2", "d": "1"}, {"c": _chunks("c")[:1], "d": _chunks("d")}, seg, "g2"
    )
    fresh = KeywordIndex.build(_all("a", "d") + _chunks("c")[:1], Segmenter(), "g3")
    got, want = inc.gram_stats(), fresh.gram_stats()
    assert got.n == want.n == 5
    assert dict(got.df) == dict(want.df)
    assert got.contains("红扁担") and not got.contains("双报到")
