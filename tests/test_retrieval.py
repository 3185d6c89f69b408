"""Retrieval over the real sample corpus, real embeddings and a real Chroma on tmp."""

from __future__ import annotations

import threading
import time

import pytest
from langchain_core.documents import Document

from assistant.retrieval import ReportRetriever, fuse
from assistant.types import Chunk

pytestmark = pytest.mark.unit


def _norm(s: str) -> str:
    return "".join(s.split())


def test_evidence_recall_at_5(indexed_assistant, eval_questions):
    """For fact and para questions, a passage holding the evidence is in the top 5 (≥90%)."""
    qs = [q for q in eval_questions if q["kind"] in ("fact", "para")]
    hits = []
    for q in qs:
        passages = indexed_assistant.search(q["question"], k=5)
        hits.append(any(_norm(q["evidence"]) in _norm(p.chunk.text) for p in passages))
    recall = sum(hits) / len(hits)
    missed = [q["id"] for q, h in zip(qs, hits, strict=True) if not h]
    assert recall >= 0.9, f"recall@5={recall:.2f}, missed {missed}"


def test_named_region_filters_results(indexed_assistant):
    passages = indexed_assistant.search("大连全市一共建立了多少个网格？", k=5)
    assert passages and {p.chunk.region for p in passages} == {"大连市"}
    # No region named: every report can answer.
    passages = indexed_assistant.search("社区党群服务中心建设", k=8)
    assert len({p.chunk.region for p in passages}) >= 2


def test_explicit_region_filter_wins(indexed_assistant):
    passages = indexed_assistant.search("网格", k=5, regions=["浮山县"])
    assert passages and {p.chunk.region for p in passages} == {"浮山县"}


def test_detect_regions_uses_catalog_aliases(indexed_assistant):
    r = indexed_assistant.retriever
    assert r.detect_regions("清河门和大连有什么不同") == ["清河门区", "大连市"]
    assert r.regions() == ["薛城区", "大连市", "青山区", "清河门区", "浮山县"]


def test_passage_json_shape(indexed_assistant):
    p = indexed_assistant.search("红扁担驿站", k=1)[0].to_dict()
    assert set(p) == {
        "chunk_id",
        "doc_id",
        "region",
        "title",
        "section",
        "start",
        "end",
        "page",
        "score",
        "text",
    }
    assert p["doc_id"] == "004_8634038a7d3ba7f7"


def test_results_are_deterministic(indexed_assistant):
    a = [p.chunk.chunk_id for p in indexed_assistant.search("整顿软弱涣散党组织", k=6)]
    b = [p.chunk.chunk_id for p in indexed_assistant.search("整顿软弱涣散党组织", k=6)]
    assert a == b


def test_rrf_rewards_agreement():
    def c(i):
        return Chunk(f"c{i}", "d", "t", "r", "", "", 0, 0, 1)

    fused = fuse([(c(1), 0.9), (c(2), 0.8)], [(c(2), 5.0), (c(3), 4.0)])
    assert [p.chunk.chunk_id for p in fused] == ["c2", "c1", "c3"]
    assert fused[0].dense_rank == 2 and fused[0].bm25_rank == 1


def test_langchain_retriever_interface(indexed_assistant):
    retriever = ReportRetriever(hybrid=indexed_assistant.retriever, k=3)
    docs = retriever.invoke("青山区社区两室用房平均面积")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    assert docs[0].metadata["region"] == "青山区"
    assert "1100" in "".join(d.page_content for d in docs)


@pytest.mark.integration
def test_a_question_sees_one_library_state_while_reports_change(fresh_assistant, tmp_path):
    """Pinned searches keep their snapshot across a change; a removal waits for them, and
    a report being written takes no places from the others in a snapshot without it."""
    a = fresh_assistant
    r = a.retriever
    query = "网格党组织建设"
    before = [p.chunk.chunk_id for p in r.search(query, k=8)]
    extra = tmp_path / "星河街道.txt"
    extra.write_text(
        "星河街道网格党组织建设工作纪实\n\n"
        + "\n\n".join(
            f"星河街道第{i}网格党组织建设扎实推进，网格党组织书记带头开展走访，"
            f"共建立楼栋党小组{10 + i}个，解决群众诉求{30 + i}件。"
            for i in range(1, 13)
        ),
        encoding="utf-8",
    )
    with r.pinned():
        assert [p.chunk.chunk_id for p in r.search(query, k=8)] == before
        done = threading.Event()
        worker = threading.Thread(target=lambda: (a.ingest_paths([extra]), done.set()), daemon=True)
        worker.start()
        worker.join(timeout=120)
        assert done.is_set()
        # Another thread sees the new report; this pinned question still does not.
        other: list[list[str]] = []
        t = threading.Thread(
            target=lambda: other.append([p.chunk.doc_id for p in r.search(query, k=8)])
        )
        t.start()
        t.join()
        doc_id = next(d["doc_id"] for d in a.documents() if d["source"] == "星河街道.txt")
        assert doc_id in other[0]
        assert [p.chunk.chunk_id for p in r.search(query, k=8)] == before
        removing = threading.Thread(target=lambda: a.remove(doc_id), daemon=True)
        removing.start()
        time.sleep(1.0)
        assert removing.is_alive(), "the removal waits for the pinned question"
        assert a.store.record(doc_id) is not None
    removing.join(timeout=60)
    assert not removing.is_alive() and a.store.record(doc_id) is None
    assert [p.chunk.chunk_id for p in r.search(query, k=8)] == before


def test_a_county_inside_a_named_city_is_found_in_any_report(fresh_assistant, tmp_path):
    """The question names a county inside a city that has its own report; the figure sits in
    a case compilation with no region: the city filter must not hide it."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "city.txt").write_text(
        "成都市基层党建工作情况\n\n成都市推进城市社区党建，全市建成党群服务中心3000余个。"
        "成都市持续整顿软弱涣散党组织，选派第一书记驻村帮扶。\n\n"
        "成都市深化街道管理体制改革，为社区减负增效，推动资源力量下沉。",
        "utf-8",
    )
    (folder / "cases.txt").write_text(
        "基层治理案例选编\n\n成都市武侯区推行小区党支部引领物业服务，实施社区减负，"
        "清理社区挂牌412块，社区事务减少80余项。\n\n"
        "杭州市上城区推动社区工作者职业体系建设，持证社工比例提高到六成。",
        "utf-8",
    )
    results = fresh_assistant.ingest_paths([folder])
    assert all(r.ok for r in results), [r.line() for r in results]
    fresh_assistant.update_metadata("cases", region="")
    question = "成都市武侯区在社区减负中清理了多少块挂牌？"
    passages = fresh_assistant.search(question, k=4)
    assert "cases" in {p.chunk.doc_id for p in passages}
    ans = fresh_assistant.ask(question, offline=True)
    assert ans.found and "412块" in ans.answer[:200]
    assert {c.doc_id for c in ans.citations} == {"cases"}
    # Only the city named: the filter keeps to the city's report.
    passages = fresh_assistant.search("成都市建成多少个党群服务中心？", k=4)
    assert {p.chunk.doc_id for p in passages} == {"city"}
