from __future__ import annotations

import pytest

from assistant.keyword import KeywordIndex, KeywordIndexHolder
from assistant.types import Chunk
from assistant.wordseg import Segmenter

pytestmark = pytest.mark.unit

TEXTS = [
    ("a", "大连市", "目前全市已建立6331个网格，成立5059个网格党组织。"),
    ("a", "大连市", "推动115个软弱涣散村全部完成整顿。"),
    ("b", "青山区", "1300余名在职党员整建制到49个社区进行“双报到”。"),
    ("c", "薛城区", "累计排查整顿软弱涣散基层党组织46个。"),
]


def _chunks():
    return [
        Chunk(f"c{i}", d, t, r, "题", "", i, 0, len(t)) for i, (d, r, t) in enumerate(TEXTS)
    ] + [Chunk("cap", "a", "软弱涣散图片说明", "大连市", "题", "图片说明", 9, -1, -1, "caption")]


@pytest.fixture
def seg():
    return Segmenter()


def test_bm25_ranks_keyword_matches(seg):
    index = KeywordIndex.build(_chunks(), seg, "fp1")
    hits = index.search("软弱涣散党组织整顿", seg, k=3)
    assert {c.chunk_id for c, _ in hits[:2]} == {"c1", "c3"}
    assert all(c.kind == "body" for c, _ in hits)  # captions only when asked
    assert index.search("双报到", seg, k=3)[0][0].chunk_id == "c2"


def test_filters(seg):
    index = KeywordIndex.build(_chunks(), seg, "fp1")
    hits = index.search("软弱涣散", seg, k=5, regions=["薛城区"])
    assert [c.chunk_id for c, _ in hits] == ["c3"]
    hits = index.search("软弱涣散", seg, k=5, doc_ids=["a"])
    assert [c.chunk_id for c, _ in hits] == ["c1"]
    assert index.search("没有这个词语", seg, k=5) == []


def test_persisted_snapshot_matches_fingerprint(seg, tmp_path):
    folder = tmp_path / "bm25"
    KeywordIndex.build(_chunks(), seg, "fp1").save(folder)
    assert KeywordIndex.load(folder, "other") is None
    loaded = KeywordIndex.load(folder, "fp1")
    assert loaded is not None and len(loaded) == 5
    assert loaded.search("双报到", seg, k=1)[0][0].chunk_id == "c2"


def test_holder_rebuilds_only_when_fingerprint_moves(seg, tmp_path):
    calls = []

    def source():
        calls.append(1)
        return _chunks()

    holder = KeywordIndexHolder(tmp_path / "bm25", seg)
    holder.ensure("fp1", source)
    holder.ensure("fp1", source)
    assert len(calls) == 1
    holder.flush()  # the snapshot is written in the background
    # A new process with the same store loads the snapshot instead of rebuilding.
    KeywordIndexHolder(tmp_path / "bm25", seg).ensure("fp1", source)
    assert len(calls) == 1
    holder.ensure("fp2", lambda: _chunks()[:2])
    assert len(holder.index) == 2
