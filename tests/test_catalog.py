from __future__ import annotations

import pytest

from assistant.catalog import Catalog, CatalogError, find_regions, short_name
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
