"""assistant.gazetteer on real division names, shared names, generic words and whole documents."""

from __future__ import annotations

import threading

import pytest

from assistant import gazetteer
from assistant.gazetteer import (
    NATIONAL,
    all_divisions,
    canonical,
    divisions_in,
    document_region,
    mentions,
    parents_of,
)

pytestmark = pytest.mark.unit


def names(text: str) -> list[str]:
    return [d.name for d in divisions_in(text)]


def test_county_resolves_to_its_prefecture_and_province() -> None:
    d = canonical("长顺县")
    assert (d.name, d.short, d.level) == ("长顺县", "长顺", "county")
    assert (d.city, d.province) == ("黔南布依族苗族自治州", "贵州省")
    assert parents_of("长顺县") == ["黔南布依族苗族自治州", "贵州省"]
    assert canonical("长顺") == d


def test_short_names_resolve() -> None:
    assert canonical("大连").name == "大连市"
    assert canonical("大连").province == "辽宁省"
    assert canonical("黔南").name == "黔南布依族苗族自治州"
    assert canonical("内蒙古").name == "内蒙古自治区"
    assert canonical("新疆").name == "新疆维吾尔自治区"
    assert canonical("广西").name == "广西壮族自治区"
    # a short shared by a province and a city means the province
    assert canonical("吉林").name == "吉林省"
    assert canonical("不存在的地方") is None
    assert canonical("") is None


def test_municipality_and_its_districts() -> None:
    beijing = canonical("北京")
    assert (beijing.name, beijing.level) == ("北京市", "province")
    assert parents_of("东城区") == ["北京市"]


def test_shared_name_is_resolved_by_a_parent_mention() -> None:
    assert canonical("青山区").resolved is False
    assert parents_of("青山区") == []
    baotou = [d for d in divisions_in("包头市青山区召开会议") if d.name == "青山区"]
    wuhan = [d for d in divisions_in("武汉市青山区召开会议") if d.name == "青山区"]
    assert (baotou[0].city, baotou[0].province) == ("包头市", "内蒙古自治区")
    assert (wuhan[0].city, wuhan[0].province) == ("武汉市", "湖北省")
    assert canonical("包头青山区").city == "包头市"
    # the parent may be named anywhere in the text, by its short name too
    d = divisions_in("青山区深化党建引领。会上，包头各区交流经验。")[0]
    assert (d.name, d.city) == ("青山区", "包头市")
    region = document_region("青山区：抓党建促治理", "近年来，武汉市青山区持续推进基层党建。")
    assert (region.name, region.city) == ("青山区", "武汉市")


@pytest.mark.parametrize(
    "text",
    [
        "会议结束后，并请市政协领导讲话。",
        "各省、自治区、直辖市党委组织部",
        "直辖市",
        "市委和县委书记参加会议",
        "推进城区改造，维护和平发展",
        "城关镇新区开发建设",
        "确保社会长治久安",
        "比如说要整合资源，加强合作",
        "江北区域协调发展",
        "大田作物长势良好",  # a county's short name alone (大田县) is not enough
    ],
)
def test_generic_words_name_no_division(text: str) -> None:
    assert divisions_in(text) == [], [(m.division.name, m.start) for m in mentions(text)]


def test_full_names_and_unambiguous_shorts_are_found_longest_first() -> None:
    assert names("近年来,辽宁省阜新市清河门区深入学习") == ["辽宁省", "阜新市", "清河门区"]
    assert names("大连全面振兴全方位振兴") == ["大连市"]
    assert names("贵州长顺：党建引领乡村振兴") == ["贵州省", "长顺县"]
    found = mentions("贵州省黔南布依族苗族自治州长顺县")
    assert [(m.start, m.end) for m in found] == [(0, 3), (3, 13), (13, 16)]
    assert [m.by_short for m in mentions("大连市和大连")] == [False, True]


def test_the_data_holds_only_divisions_with_sound_short_names() -> None:
    divisions = all_divisions()
    assert len(divisions) > 3000
    assert {d.level for d in divisions} == {"province", "city", "county"}
    assert all(len(d.short) >= 2 for d in divisions)
    assert "苏鲁交界" not in {d.name for d in divisions}  # a data row that is no division
    assert sum(d.level == "province" for d in divisions) == 34


def test_national_documents() -> None:
    notice = (
        "各省、自治区、直辖市人民政府，国务院各部委、各直属机构：\n现将有关事项通知如下。"
        "各地区各部门要结合实际认真贯彻落实。"
    )
    assert document_region("国务院关于加强基层治理体系建设的通知", notice) == NATIONAL
    assert document_region("中共中央办公厅印发《意见》", "北京市、上海市先行先试。") == NATIONAL
    assert document_region("全国组织工作会议召开", "会议强调，各地要抓好落实。") == NATIONAL
    # a national title whose body is about one district is about that district
    body = "青山区党建工作。" * 3
    assert document_region("全国城市基层党建工作经验交流材料", body).name == "青山区"


def test_document_region_prefers_the_county_the_text_is_about() -> None:
    title = "浮山县：开展党建工程"
    text = (
        "近年来,山西省临汾市浮山县以贯彻落实全市城市基层党建为主线。"
        "浮山县树立大党建思维。临汾市委组织部给予指导。浮山县各社区成立功能型党委。"
    )
    region = document_region(title, text)
    assert (region.name, region.city, region.province) == ("浮山县", "临汾市", "山西省")


def test_document_region_stays_at_the_city_when_districts_are_only_examples() -> None:
    text = (
        "大连市第十二次党代会以来，大连市各级党组织持续推进基层党建。"
        "大连市委部署要求，金州区、旅顺口区各有特色。大连市网格化管理经验在全国推广。"
    )
    assert document_region("强基固本筑堡垒", text).name == "大连市"


def test_a_profile_is_about_the_county_its_lead_names_not_its_neighbours() -> None:
    """A town's profile opens with its county, names its city often as context, and places
    itself by neighbours in another province and by distances: none of those is its region."""
    text = (
        "发布日期：2020-05-01\n"
        "龙泉驿区洛带镇位于成都市东部，是成都市著名的客家古镇，与资阳市简阳市和德阳市中江县"
        "接壤，北距德阳市区60公里，距简阳市30公里。\n"
        "全镇辖10个村。成都市文化旅游节连续在此举办，成都市民周末常来。"
    )
    region = document_region("洛带镇概况", text)
    assert (region.name, region.city) == ("龙泉驿区", "成都市")
    # Without the lead the city, named most, stays the region.
    later = text.replace("龙泉驿区洛带镇位于", "洛带镇位于") + "龙泉驿区已通地铁。"
    assert document_region("洛带镇概况", later).name == "成都市"


def test_document_region_none_without_places() -> None:
    assert document_region("加强党建工作", "我们要继续努力，做好各项工作。") is None
    assert document_region("", "") is None


def test_loading_is_shared_between_threads(monkeypatch) -> None:
    monkeypatch.setattr(gazetteer, "_snapshot", None)
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(gazetteer._get())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 and all(s is seen[0] for s in seen)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What is the population of Shanghai?", ["上海市"]),
        ("Grids in Harbin and Beijing", ["哈尔滨市", "北京市"]),
        ("What about Xi'an?", ["西安市"]),
        ("How Many Party Members Are There In The Community?", []),
        ("Taizhou", []),  # 泰州 or 台州: not guessed
    ],
)
def test_provinces_and_cities_named_in_english(text: str, expected: list[str]) -> None:
    assert [d.name for d in gazetteer.latin_divisions(text)] == expected
