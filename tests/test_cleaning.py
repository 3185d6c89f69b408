"""clean_document/infer_meta on the five shipped reports and on small synthetic damage."""

from __future__ import annotations

import hashlib
import re

import pytest

from assistant.catalog import Catalog
from assistant.cleaning import clean_document, ends_sentence, infer_meta, is_heading
from assistant.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

REPORTS = PROJECT_ROOT / "data" / "reports"
DOC_IDS = sorted(p.stem for p in REPORTS.glob("*.txt"))
CATALOG = Catalog.load(REPORTS / "catalog.yaml")
KNOWN_REGIONS = CATALOG.regions()


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def raw_of(doc_id: str) -> str:
    return (REPORTS / f"{doc_id}.txt").read_text(encoding="utf-8")


def cleaned(doc_id: str, with_meta: bool = True):
    meta = CATALOG.meta(doc_id) if with_meta else None
    return clean_document(doc_id, raw_of(doc_id), meta, KNOWN_REGIONS)


def test_corpus_has_five_reports() -> None:
    assert len(DOC_IDS) == 5


# Strings broken by page breaks, captions or fragment numbers in the raw text.
REPAIRED = {
    "000": ["持续规范“属地管理”工作", "一批党性教育基地", "设立“红色驿站”210个"],
    "002": [
        "地区大党建工作格局",
        "一是深化两力驱动机制。",
        "街镇党(工)委为管理中枢",
        "运作模式,推动",
    ],
    "003": ["集理论宣讲", "研究解决社区建设", "不分昼夜在卡点坚守,为隔离人员家庭运送物资"],
    "004": ["矛盾纠纷调解", "常态化开展观摩交流", "引导各支部紧跟", "义诊义剪、读书汇等活动"],
}


@pytest.mark.parametrize("prefix", sorted(REPAIRED))
def test_broken_sentences_are_repaired(prefix: str) -> None:
    doc_id = next(d for d in DOC_IDS if d.startswith(prefix))
    doc = cleaned(doc_id)
    body = squash(doc.text)
    for s in REPAIRED[prefix]:
        assert squash(s) in body, s
    # and each repaired string lies inside one paragraph
    for s in REPAIRED[prefix]:
        assert any(squash(s) in squash(p) for p in doc.text.split("\n\n")), s


CAPTIONS = {
    "000": [
        "第一书记先锋行",
        "服务大集",
        "城市基层党建联席会议",
        "常庄街道大山村山里红合作社",
        "笔试考务会",
        "党的建设工作领导小组会议",
        "党员教育",
        "铁道游击队纪念馆俯瞰图",
        "锦临社区红心驿站",
        "山东大学高端培训",
    ],
    "001": [],
    "002": [],
    "003": ["阜新市清河门区新北街道党史长廊吸引居民观看学习。"],
    "004": ["临汾市浮山县人民检察院党员先锋岗在沿街道口疫情防控卡点值守。"],
}
BYLINES = {
    "000": ["宋海 苏士其 文图"],
    "001": ["达组轩 大连新闻传媒集团记者许晓楠", "编辑:唐依婷"],
    "002": [],
    "003": ["本报记者杜英姿、郭文治、孟航、郑新钰、李彤彤、李静雯综合报道"],
    "004": [],
}


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_captions_and_bylines_are_set_apart(doc_id: str) -> None:
    doc = cleaned(doc_id)
    prefix = doc_id[:3]
    assert doc.captions == CAPTIONS[prefix]
    assert doc.byline == BYLINES[prefix]
    raw = squash(raw_of(doc_id))
    for caption in doc.captions:
        # the caption text is gone from the body (it may also occur once in a real sentence)
        assert squash(doc.text).count(squash(caption)) == raw.count(squash(caption)) - 1
        assert caption not in doc.text.split("\n\n")
    for byline in doc.byline:
        assert squash(byline) not in squash(doc.text)
    assert "本报记者" not in doc.text and "编辑:" not in doc.text


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_title_and_subtitle_are_not_body(doc_id: str) -> None:
    doc = cleaned(doc_id)
    first = doc.text.split("\n\n")[0]
    meta = CATALOG.meta(doc_id)
    assert squash(meta.title) not in squash(doc.text)
    if meta.subtitle.startswith("——") or doc_id.startswith("000"):
        assert squash(meta.subtitle) not in squash(doc.text)
    assert not first.startswith(("1、", "——"))


def test_paragraph_structure() -> None:
    for doc_id in DOC_IDS:
        doc = cleaned(doc_id)
        paragraphs = doc.text.split("\n\n")
        assert all(p and p == p.strip() for p in paragraphs)
        assert "\n" not in "".join(paragraphs)
        for p in paragraphs:
            # every paragraph is a heading or ends a sentence: no page-break fragments remain
            assert is_heading(p) or ends_sentence(p), (doc_id, p[-30:])


def test_headings_stay_their_own_paragraphs() -> None:
    doc = cleaned(next(d for d in DOC_IDS if d.startswith("000")))
    paragraphs = doc.text.split("\n\n")
    assert "以“常抓不懈”的毅力 塑造信念坚定过硬队伍" in paragraphs
    doc = cleaned(next(d for d in DOC_IDS if d.startswith("004")))
    assert "坚持“四联共建” 做到党建区域联动化" in doc.text.split("\n\n")


def test_speech_fragments_are_joined_and_inline_headings_split() -> None:
    doc_id = next(d for d in DOC_IDS if d.startswith("002"))
    doc = cleaned(doc_id)
    paragraphs = doc.text.split("\n\n")
    assert not re.search(r"(^|\n)\d+、", doc.text)
    assert (
        paragraphs[0]
        == "注重发挥区委统筹抓党建的引领作用,充分挖掘释放地区各级各类党组织的优势资源和内生动力"
    )
    for heading in (
        "健全一体化运行机制,有效推动,城市基层党建协同发展",
        "创新三个工作载体,有效强化城市基层党建组织功能",
        "突出三项基础保障,全面夯实城市基层党建发展基础",
    ):
        assert heading in paragraphs
    assert any(p.startswith("一是深化两力驱动机制。") for p in paragraphs)
    assert "57家县级以上单位" in doc.text  # spaces between Chinese and digits normalised
    # the title is metadata, never glued into a sentence
    assert "发言稿材料" not in doc.text


def test_speech_title_inferred_without_catalog() -> None:
    doc_id = next(d for d in DOC_IDS if d.startswith("002"))
    meta = infer_meta(doc_id, raw_of(doc_id), [])
    assert squash(meta.title) == "2018全国城市基层党建工作经验交流座谈会发言稿材料"
    assert meta.inferred is True
    doc = clean_document(doc_id, raw_of(doc_id), None, [])
    assert "发言稿材料" not in doc.text


def test_content_hash_is_sha256_of_raw() -> None:
    for doc_id in DOC_IDS:
        raw = raw_of(doc_id)
        assert cleaned(doc_id).content_hash == hashlib.sha256(raw.encode("utf-8")).hexdigest()


def test_catalog_meta_is_kept() -> None:
    for doc_id in DOC_IDS:
        doc = cleaned(doc_id)
        assert doc.meta == CATALOG.meta(doc_id)


# What the catalog says about each shipped report, inferred here from the text alone.
@pytest.mark.parametrize(
    ("prefix", "region", "city", "province", "kind"),
    [
        ("000", "薛城区", "枣庄市", "山东省", "纪实"),
        ("001", "大连市", "大连市", "辽宁省", "综述"),
        ("002", "青山区", "", "", "发言稿"),  # never names its city: 包头 or 武汉 stays open
        ("003", "清河门区", "阜新市", "辽宁省", "报道"),
        ("004", "浮山县", "临汾市", "山西省", ""),
    ],
)
def test_infer_meta_without_catalog(prefix, region, city, province, kind) -> None:
    doc_id = next(d for d in DOC_IDS if d.startswith(prefix))
    meta = infer_meta(doc_id, raw_of(doc_id), [])
    assert (meta.region, meta.city, meta.province) == (region, city, province)
    assert meta.kind == kind
    assert meta.inferred
    catalog = CATALOG.meta(doc_id)
    assert meta.region == catalog.region
    if meta.city:
        assert (meta.city, meta.province) == (catalog.city, catalog.province)


def test_infer_meta_year_from_the_title() -> None:
    doc_id = next(d for d in DOC_IDS if d.startswith("002"))
    meta = infer_meta(doc_id, raw_of(doc_id), [])
    assert (meta.year, meta.date) == ("2018", "")


def test_infer_meta_titles_and_authors() -> None:
    by_prefix = {d[:3]: infer_meta(d, raw_of(d), KNOWN_REGIONS) for d in DOC_IDS}
    assert by_prefix["000"].title == "拧紧「动力轴」 引领新发展"
    assert by_prefix["000"].subtitle == "薛城区基层党建工作纪实"
    assert by_prefix["000"].authors == "宋海 苏士其 文图"
    assert by_prefix["001"].subtitle == "——五年来全市党的基层组织建设成就综述"
    assert by_prefix["001"].authors == "达组轩 大连新闻传媒集团记者许晓楠"  # not the editor
    assert by_prefix["003"].title == "清河门区：抓基层打基础 下真功重实效"


def test_infer_meta_prefers_known_regions() -> None:
    for doc_id in DOC_IDS:
        meta = infer_meta(doc_id, raw_of(doc_id), KNOWN_REGIONS)
        assert meta.region == CATALOG.meta(doc_id).region, doc_id


def test_infer_meta_without_any_place_is_empty() -> None:
    meta = infer_meta("x", "加强党建工作\n\n我们要继续努力,做好各项工作。", [])
    assert meta.region == "" and meta.title == "加强党建工作"


def test_infer_meta_province_city_county_pattern() -> None:
    raw = "基层党建纪实\n\n近年来,辽宁省阜新市清河门区持续推进基层党建工作。"
    meta = infer_meta("x", raw, [])
    assert (meta.region, meta.city, meta.province) == ("清河门区", "阜新市", "辽宁省")


# --- synthetic damage -----------------------------------------------------------------------

LONG = "坚持以党的建设工作领导小组为核心,每年结合上级要求和中心工作,整合全区各部门、各领域力量,"


def test_page_break_join_skips_a_caption_in_between() -> None:
    raw = (
        "标题在这里\n\n第一节 组织建设\n\n"
        f"{LONG}持续规范“属地\n\n\n\n服务大集现场。\n\n管理”工作,成效明显。\n\n"
        "第二节 队伍建设\n\n下一段完整的句子。"
    )
    doc = clean_document("x", raw, None)
    assert f"{LONG}持续规范“属地管理”工作,成效明显。" in doc.text.split("\n\n")
    assert doc.captions == ["服务大集现场。"]
    assert "第二节 队伍建设" in doc.text.split("\n\n")


def test_heading_is_not_joined_to_next_paragraph() -> None:
    raw = "标题\n\n坚持“四联共建” 做到党建区域联动化\n\n组织联建。浮山县树立“大党建”思维。"
    doc = clean_document("x", raw, None)
    assert doc.text.split("\n\n") == [
        "坚持“四联共建” 做到党建区域联动化",
        "组织联建。浮山县树立“大党建”思维。",
    ]


def test_fragment_ending_in_comma_joins_a_short_continuation() -> None:
    raw = f"标题\n\n{LONG}义诊义剪、\n\n读书汇等活动\n\n另一段。"
    doc = clean_document("x", raw, None)
    assert f"{LONG}义诊义剪、读书汇等活动" in doc.text


def test_odd_whitespace_is_normalised_without_changing_characters() -> None:
    raw = "标题\n\n\u3000\u3000第一句\u00a0\u00a0话,继续。\t第二句\u200b话！\n\n以抓好\u00a0 主题教育为契机 用理论武装头脑\n\n正文。"
    doc = clean_document("x", raw, None)
    paragraphs = doc.text.split("\n\n")
    assert paragraphs[0] == "第一句 话,继续。第二句话！"
    assert paragraphs[1] == "以抓好 主题教育为契机 用理论武装头脑"


def test_uniform_gaps_trailing_short_lines_are_captions() -> None:
    # as from a .docx: every paragraph separated by one blank line
    raw = "标题\n\n小标题一\n\n正文第一句。正文第二句。\n\n图一 党员教育\n\n服务大集\n\n编辑:张三"
    doc = clean_document("x", raw, None)
    assert doc.text.split("\n\n") == ["小标题一", "正文第一句。正文第二句。"]
    assert doc.captions == ["图一 党员教育", "服务大集"]
    assert doc.byline == ["编辑:张三"]


def test_hard_wrapped_pdf_lines_are_unwrapped() -> None:
    raw = (
        "报告标题\n\n"
        "在城市,制定《关于全面加强城市基层党建工作引领基层治理\n"
        "创新的实施意见》等系列文件,推进城市基层党建工作提质增\n"
        "效。在农村,深入抓好学习贯彻。\n"
    )
    doc = clean_document("x", raw, None)
    assert doc.text == (
        "在城市,制定《关于全面加强城市基层党建工作引领基层治理创新的实施意见》等系列文件,"
        "推进城市基层党建工作提质增效。在农村,深入抓好学习贯彻。"
    )


def test_real_numbered_list_is_not_treated_as_speech_fragments() -> None:
    raw = "工作要点\n\n1、加强组织建设。\n2、加强队伍建设。\n3、加强制度建设。\n4、加强作风建设。"
    doc = clean_document("x", raw, None)
    assert "1、加强组织建设。" in doc.text and "4、加强作风建设。" in doc.text


def test_leading_and_trailing_credits() -> None:
    raw = "标题\n\n本报讯(记者 王五)全区开展学习活动。活动效果很好。(通讯员 李四 报道)"
    doc = clean_document("x", raw, None)
    assert doc.text == "全区开展学习活动。活动效果很好。"
    assert doc.byline == ["本报讯(记者 王五)", "通讯员 李四 报道"]


def test_empty_and_title_only_documents() -> None:
    assert clean_document("x", "", None).text == ""
    doc = clean_document("x", "只有标题", None)
    assert doc.text == "" and doc.meta.title == "只有标题"


def test_markdown_heading_marks_and_control_characters_are_removed() -> None:
    raw = "# 报告标题\n\n## 第一部分\n\n正文\x07第一句。\n\n## 第二部分\n\n正文第二句。"
    doc = clean_document("x", raw, None)
    assert doc.meta.title == "报告标题"
    assert doc.text.split("\n\n") == ["第一部分", "正文第一句。", "第二部分", "正文第二句。"]


def test_subtitle_recognised_by_its_kind_word() -> None:
    raw = "拧紧动力轴 引领新发展\n\n薛城区基层党建工作纪实\n\n以担当 凝聚力量\n\n正文一句。"
    meta = infer_meta("x", raw, [])
    assert (meta.title, meta.subtitle, meta.region) == (
        "拧紧动力轴 引领新发展",
        "薛城区基层党建工作纪实",
        "薛城区",
    )
    assert clean_document("x", raw, None).text == "以担当 凝聚力量\n\n正文一句。"


# --- metadata of real-style documents -------------------------------------------------------


def test_government_work_report_header() -> None:
    raw = (
        "政府工作报告\n\n"
        "——2023年1月5日在长顺县第十八届人民代表大会第二次会议上\n\n"
        "长顺县人民政府县长 王某某\n\n"
        "各位代表：\n\n"
        "现在，我代表县人民政府，向大会报告工作，请予审议，并请县政协委员和列席人员提出意见。\n\n"
        "过去一年，全县上下坚持以党建为引领，经济社会持续健康发展。"
    )
    meta = infer_meta("x", raw, [])
    assert (meta.title, meta.kind) == ("政府工作报告", "政府工作报告")
    assert (meta.date, meta.year) == ("2023-01-05", "2023")
    assert meta.issuer == "长顺县人民政府"
    assert (meta.region, meta.city, meta.province) == ("长顺县", "黔南布依族苗族自治州", "贵州省")


def test_notice_with_signature_and_chinese_date() -> None:
    raw = (
        "中共浮山县委组织部关于开展党员冬训工作的通知\n\n"
        "各乡镇党委，县直各党组（党委）：\n\n"
        "为深入学习贯彻党的二十大精神，经研究，决定在全县开展党员冬训。现将有关事项通知如下。\n\n"
        "请各单位认真组织，并请市直有关单位给予支持。\n\n"
        "中共浮山县委组织部\n\n"
        "二〇二三年十一月二十日"
    )
    meta = infer_meta("x", raw, [])
    assert meta.kind == "通知"
    assert meta.issuer == "中共浮山县委组织部"
    assert (meta.date, meta.year) == ("2023-11-20", "2023")
    assert (meta.region, meta.city, meta.province) == ("浮山县", "临汾市", "山西省")


def test_central_documents_are_national() -> None:
    raw = (
        "中共中央办公厅 国务院办公厅印发《关于加强基层治理的意见》\n\n"
        "近日，中共中央办公厅、国务院办公厅印发了《关于加强基层治理的意见》，"
        "并发出通知，要求各地区各部门结合实际认真贯彻落实。"
    )
    meta = infer_meta("x", raw, [])
    assert meta.region == "全国" and (meta.city, meta.province) == ("", "")
    assert meta.issuer == "中共中央办公厅、国务院办公厅"


def test_no_phrase_is_taken_for_a_place() -> None:
    raw = (
        "会议纪要\n\n会议要求各地认真落实，并请市政协、各直辖市有关部门配合。"
        "五年来全市各级党组织持续推进。\n\n2022年工作总结如下。"
    )
    meta = infer_meta("x", raw, [])
    assert (meta.region, meta.city, meta.province) == ("", "", "")


def test_news_kind_and_date_from_the_closing_line() -> None:
    raw = (
        "拧成一股绳 合力拔穷根\n\n本报记者 张三\n\n"
        "河南省南召县打破行业、条块限制，把党员联合起来。南召县组建临时党组织。\n\n"
        "《 人民日报 》（ 2020年08月25日 15 版）"
    )
    meta = infer_meta("x", raw, [])
    assert meta.kind == "新闻"
    assert meta.date == "2020-08-25"
    assert (meta.region, meta.city) == ("南召县", "南阳市")


def test_a_compilation_of_cases_from_many_places_is_about_none_of_them() -> None:
    """Its first line is the first case's heading, not a title naming the document's place:
    three or more cases headed by different places make it a compilation (no region)."""
    from assistant.cleaning import infer_meta

    text = (
        "浙江省嘉兴市桐乡市：“三治融合”实践样本\n\n桐乡市推行自治、法治、德治融合，建立百姓议事会240个。\n\n"
        "海南省乐东黎族自治县：“四访五帮”护航青少年成长\n\n乐东县政法干警走访帮教，50名重返校园。\n\n"
        "上海市长宁区：社区云赋能基层治理\n\n长宁区依托社区云平台，使入户重复走访减少24%。"
    )
    from assistant.chunking import chunk_document
    from assistant.cleaning import clean_document

    meta = infer_meta("cases", text)
    assert meta.region == "" and meta.title == ""  # listed by its file name instead
    chunks = chunk_document(clean_document("cases", text, meta), min_chars=10, max_chars=200)
    first = next(c for c in chunks if "百姓议事会" in c.text)
    assert first.section.startswith("浙江省嘉兴市桐乡市")  # the first case keeps its heading
    one_place = (
        "浙江省嘉兴市桐乡市：“三治融合”实践样本\n\n桐乡市推行自治、法治、德治融合。\n\n"
        "一、桐乡市乌镇镇：议事会\n\n乌镇镇建立议事会12个。"
    )
    assert infer_meta("one", one_place).region == "桐乡市"


def test_a_bracketed_date_line_under_the_title_is_text():
    """ "（1996年1月15日）" or "(某某委员会1993年8月22日印发)" under a title says when and by
    whom: a paragraph of its own, kept in a chunk, neither a heading nor glued to the next."""
    from assistant.chunking import chunk_document

    raw = (
        "关于保护检举人的规定\n(某某委员会1993年8月22日印发)\n第一章 总则\n"
        "第一条 为了保障检举人的权利，制定本规定。\n第二条 任何单位不得打击报复检举人。\n"
    )
    doc = clean_document("d", raw, None)
    assert doc.text.startswith("(某某委员会1993年8月22日印发)\n\n第一章 总则")
    assert doc.meta.date == "1993-08-22"
    chunks = chunk_document(doc)
    assert any("1993年8月22日印发" in c.text for c in chunks)
    assert not any("1993年8月22日" in c.section for c in chunks)
