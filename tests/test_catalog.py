from __future__ import annotations

import pytest

from assistant.catalog import Catalog, CatalogError, find_regions, short_name
from assistant.types import DocMeta
from tests.conftest import REPORTS_DIR

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load(REPORTS_DIR / "catalog.yaml")


def test_catalog_covers_every_shipped_report(catalog):
    ids = {p.stem for p in REPORTS_DIR.glob("*.txt")}
    assert ids == set(catalog.entries)
    for meta in catalog.entries.values():
        assert (
            meta.title
            and meta.region
            and meta.province
            and meta.kind in {"纪实", "综述", "发言稿", "报道"}
        )
    assert catalog.regions() == ["薛城区", "大连市", "青山区", "清河门区", "浮山县"]
    # The speech never names its district in its title: only the catalog knows.
    assert catalog.meta("002_99405c1be57e5253").region == "青山区"


def test_short_names():
    assert short_name("清河门区") == "清河门"
    assert short_name("大连市") == "大连"
    assert short_name("内蒙古自治区") == "内蒙古"
    assert short_name("青县") == "青县"  # two characters stay whole


@pytest.mark.parametrize(
    "question, regions",
    [
        ("大连全市建立了多少个网格？", ["大连市"]),
        ("清河门区社区办公场所面积", ["清河门区"]),
        ("清河门的红色驿站", ["清河门区"]),
        ("阜新市清河门区怎么做的", ["清河门区"]),
        ("比较薛城和浮山的做法", ["薛城区", "浮山县"]),
        ("哪个城市率先建立了薪酬体系？", []),
        ("How many grids has Dalian set up?", ["大连市"]),  # pinyin, a whole word
        ("Compare Xuecheng and Fushan.", ["薛城区", "浮山县"]),
        ("The Dalianese say", []),
    ],
)
def test_find_regions(catalog, question, regions):
    assert find_regions(question, catalog.region_names()) == regions


def test_broken_catalog_names_the_file(tmp_path):
    bad = tmp_path / "catalog.yaml"
    bad.write_text("a: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="catalog.yaml"):
        Catalog.load(bad)


def test_missing_catalog_is_empty(tmp_path):
    assert Catalog.load(tmp_path / "none.yaml").regions() == []


def test_catalog_entries_may_carry_the_new_fields(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "r1:\n  title: 政府工作报告\n  region: 长顺县\n  kind: 政府工作报告\n"
        "  year: 2023\n  date: 2023-01-05\n  issuer: 长顺县人民政府\n  pages: 12\n",
        encoding="utf-8",
    )
    meta = Catalog.load(path).meta("r1")
    assert (meta.kind, meta.year, meta.date, meta.issuer) == (
        "政府工作报告",
        "2023",
        "2023-01-05",
        "长顺县人民政府",
    )
    assert meta.pages == 12


def test_records_stored_before_the_new_fields_still_load():
    from assistant.store import DocRecord

    old = {"doc_id": "a", "title": "t", "region": "大连市", "inferred": True, "n_chunks": 3}
    record = DocRecord.from_metadata({**old, "some_future_field": "x"})
    meta = record.meta
    assert (meta.region, meta.year, meta.date, meta.issuer, meta.pages) == ("大连市", "", "", "", 0)
    again = DocRecord.from_metadata({**record.to_metadata(), "pages": "7"})
    assert again.meta == DocMeta(**{**meta.to_dict(), "pages": 7})


def test_romanized_place_names():
    from assistant.catalog import romanized

    assert romanized("咸阳市") == ["Xianyang", "xianyang"]
    assert romanized("石景山区") == ["Shijingshan", "shijingshan"]
    assert romanized("") == [] and romanized("X区") == []


def test_reports_named_by_title():
    """A title in 《》 that is (most of) a report's title, or its whole title written out,
    names that report; a generic 《条例》 or another document's title names none."""
    from types import SimpleNamespace

    from assistant.catalog import titled_documents, without_titles

    docs = [
        SimpleNamespace(doc_id="a", title="中国共产党纪律检查机关控告申诉工作条例"),
        SimpleNamespace(doc_id="b", title="关于保护检举、控告人的规定"),
        SimpleNamespace(doc_id="c", title="工作总结"),  # too short to name one report
    ]
    q = "《中国共产党纪律检查机关控告申诉工作条例》是在哪一天印发的？"
    assert titled_documents(q, docs) == ["a"]
    assert without_titles(q, docs, ["a"]) == "是在哪一天印发的"
    assert titled_documents("关于保护检举、控告人的规定是哪天发布的？", docs) == ["b"]
    assert titled_documents("《条例》对申诉有什么要求？", docs) == []
    assert titled_documents("根据《中国共产党党员权利保障条例》制定的规定有哪些？", docs) == []
    assert titled_documents("工作总结里提到了什么？", docs) == []
    # Nothing left but the title: the query itself.
    assert (
        without_titles("《关于保护检举、控告人的规定》", docs, ["b"])
        == "《关于保护检举、控告人的规定》"
    )
