"""split_sentences and chunk_document: lossless, whole sentences, one-sentence overlap, sections."""

from __future__ import annotations

import math
import re

import pytest

from assistant.catalog import Catalog
from assistant.chunking import CAPTION_SECTION, SECTION_SEP, chunk_document, split_sentences
from assistant.cleaning import clean_document
from assistant.settings import PROJECT_ROOT
from assistant.types import CleanDocument, DocMeta

pytestmark = pytest.mark.unit

REPORTS = PROJECT_ROOT / "data" / "reports"
DOC_IDS = sorted(p.stem for p in REPORTS.glob("*.txt"))
CATALOG = Catalog.load(REPORTS / "catalog.yaml")
MIN, MAX = 150, 400


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def raw_of(doc_id: str) -> str:
    return (REPORTS / f"{doc_id}.txt").read_text(encoding="utf-8")


def doc_and_chunks(doc_id: str, **kw):
    doc = clean_document(doc_id, raw_of(doc_id), CATALOG.meta(doc_id), CATALOG.regions())
    return doc, chunk_document(doc, **kw)


# Everything in each raw report that is not body text, maintained by hand (independent of the
# cleaner): titles, subtitles, bylines, headings and photo captions.
NOT_BODY = {
    "000": [
        "拧紧「动力轴」 引领新发展",
        "薛城区基层党建工作纪实",
        "宋海 苏士其 文图",
        "以“我必尽责”的担当 凝聚党建引领强大力量",
        "以“常抓不懈”的毅力 塑造信念坚定过硬队伍",
        "以“披荆斩棘”的魄力 推动乡村振兴全面起势",
        "以“迎难而上”的干劲 构建服务群众长效机制",
        "第一书记先锋行\n",
        "服务大集\n",
        "城市基层党建联席会议\n",
        "常庄街道大山村山里红合作社",
        "笔试考务会",
        "党的建设工作领导小组会议\n",
        "党员教育\n",
        "铁道游击队纪念馆俯瞰图",
        "锦临社区红心驿站",
        "山东大学高端培训",
    ],
    "001": [
        "强基固本筑堡垒 凝心聚力促振兴",
        "——五年来全市党的基层组织建设成就综述",
        "达组轩 大连新闻传媒集团记者许晓楠",
        "以抓好党内主题教育为契机,既“造形”又“铸魂” \xa0用党的创新理论武装头脑、指导实践",
        "以落实基层党建工作制度为牵动 \xa0着力提高基层党建科学化、规范化、制度化水平",
        "以织密党的基层组织体系为着力点 推进党的组织和党的工作全覆盖",
        "以强化两个功能、发挥两个作用为重点 着力提升抓党建促中心工作的能力水平",
        "以实施“基础保障工程”为支撑 把重心和资源向基层倾斜",
        "以履行抓基层党建主体责任为抓手 推动全面从严治党向基层延伸",
        "编辑:唐依婷",
    ],
    "002": [
        "2018 全国城市基层党建工作经验交流座谈会发言稿材料",
        "注重发挥区委统筹抓党建的引领作用,充分挖掘释放地区各级各类党组织的优势资源和内生动力",
        "健全一体化运行机制,有效推动,城市基层党建协同发展",
        "创新三个工作载体,有效强化城市基层党建组织功能",
        "突出三项基础保障,全面夯实城市基层党建发展基础",
    ],
    "003": [
        "清河门区：抓基层打基础 下真功重实效",
        "筑牢思想根基 压实党建主体责任",
        "阜新市清河门区新北街道党史长廊吸引居民观看学习。",
        "夯实基层堡垒 推进基层党组织提质升级",
        "加强党建引领 提升社区治理工作水平",
        "丰富特色载体 完善基层党建服务功能",
        "(本报记者杜英姿、郭文治、孟航、郑新钰、李彤彤、李静雯综合报道)",
    ],
    "004": [
        "浮山县： 开展“五化一创”工程做实全域党建",
        "坚持“四联共建” 做到党建区域联动化",
        "开展“两项活动” 做到服务团队专业化",
        "构建立体格局 做到阵地建设规范化",
        "临汾市浮山县人民检察院党员先锋岗在沿街道口疫情防控卡点值守。",
        "完善“四项制度” 做到基础工作制度化",
        "抓实“四个载体” 做到组织生活常态化",
        "打造“分级标准” 努力创建星级党组织",
    ],
}


def reference_sentences(doc_id: str) -> list[str]:
    """Body sentences by a deliberately simple method: drop listed lines, join, split on 。！？；."""
    text = raw_of(doc_id)
    if doc_id.startswith("002"):
        text = re.sub(r"(^|\n)\d+、", "", text)  # fragment numbers fall mid-sentence
    for item in NOT_BODY[doc_id[:3]]:
        assert item in text, item
        text = text.replace(item, "\n", 1)
    joined = "".join(line.strip() for line in text.split("\n"))
    sentences = [squash(s) for s in re.split(r"(?<=[。！？；;!?])", joined)]
    return [s for s in sentences if len(s) >= 2]


def test_reference_method_sees_enough_sentences() -> None:
    for doc_id in DOC_IDS:
        assert len(reference_sentences(doc_id)) > 25, doc_id


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_every_body_sentence_is_intact_in_some_chunk(doc_id: str) -> None:
    _, chunks = doc_and_chunks(doc_id)
    bodies = [squash(c.text) for c in chunks if c.kind == "body"]
    missing = [s for s in reference_sentences(doc_id) if not any(s in b for b in bodies)]
    assert not missing, missing[:5]


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_chunk_offsets_point_into_the_cleaned_text(doc_id: str) -> None:
    doc, chunks = doc_and_chunks(doc_id)
    paragraph_starts = [m.start() for m in re.finditer(r"(?:^|(?<=\n\n))\S", doc.text)]
    for c in chunks:
        if c.kind == "caption":
            assert (c.start, c.end, c.section) == (-1, -1, CAPTION_SECTION)
            assert c.text in doc.captions
            continue
        assert doc.text[c.start : c.end] == c.text
        assert c.text == c.text.strip()
        assert paragraph_starts[c.paragraph] <= c.start
        if c.paragraph + 1 < len(paragraph_starts):
            assert c.start < paragraph_starts[c.paragraph + 1]
        assert (c.doc_id, c.region, c.title) == (doc_id, doc.meta.region, doc.meta.title)


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_no_caption_or_byline_inside_body_chunks(doc_id: str) -> None:
    doc, chunks = doc_and_chunks(doc_id)
    body = [c for c in chunks if c.kind == "body"]
    for byline in doc.byline:
        assert all(squash(byline) not in squash(c.text) for c in body)
    assert [c.text for c in chunks if c.kind == "caption"] == doc.captions
    # captions are never glued to a sentence (a caption may repeat words of a real sentence)
    raw = squash(raw_of(doc_id))
    for caption in doc.captions:
        glued = sum(squash(c.text).count(squash(caption)) for c in body)
        assert glued <= 2 * (raw.count(squash(caption)) - 1)  # x2: overlap repeats a sentence


def _same_run(a, b) -> bool:
    return a.kind == b.kind == "body" and a.section == b.section and b.start <= a.end + 2


@pytest.mark.parametrize("doc_id", DOC_IDS)
@pytest.mark.parametrize(("min_chars", "max_chars"), [(150, 400), (80, 250), (60, 120)])
def test_sizes_and_one_sentence_overlap(doc_id: str, min_chars: int, max_chars: int) -> None:
    doc, chunks = doc_and_chunks(doc_id, min_chars=min_chars, max_chars=max_chars)
    body = [c for c in chunks if c.kind == "body"]
    overlaps = adjacent = 0
    for k, c in enumerate(body):
        assert len(c.text) <= math.ceil(1.3 * max_chars)  # merged trailing remainder at most
        nxt = body[k + 1] if k + 1 < len(body) else None
        last_in_run = nxt is None or not _same_run(c, nxt)
        first_in_run = k == 0 or not _same_run(body[k - 1], c)
        if len(c.text) < min_chars and not last_in_run:
            # only when the next unit would not fit even within the merge cap
            fresh = nxt.text[max(0, c.end - nxt.start) :].lstrip()
            unit = split_sentences(fresh)[0]
            assert len(unit) > max_chars or len(c.text) + len(unit) > 1.3 * max_chars, c.text
        if nxt is not None and _same_run(c, nxt):
            adjacent += 1
            last_sentence = split_sentences(c.text)[-1].strip()
            first_next = split_sentences(nxt.text)[0].strip()
            if nxt.start < c.end:
                overlap = doc.text[nxt.start : c.end]
                assert overlap == last_sentence == first_next
                overlaps += 1
            else:
                # documented exception: the overlap sentence would not fit beside the next one
                assert len(last_sentence) + len(first_next) > max_chars
        if not first_in_run:
            assert body[k - 1].start < c.start
    if max_chars >= 250:  # with room for it, consecutive chunks of a run overlap
        assert overlaps >= 0.75 * adjacent


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_chunks_never_cut_inside_a_sentence(doc_id: str) -> None:
    doc, chunks = doc_and_chunks(doc_id)
    for c in chunks:
        if c.kind != "body":
            continue
        before = doc.text[: c.start].rstrip()
        assert (
            before == ""
            or before[-1] in "。！？；;!?…”’」』)）"
            or doc.text[c.start - 2 : c.start] == "\n\n"
        )
        assert c.text[-1] in "。！？；;!?…”’」』)）" or doc.text[c.end : c.end + 2] in ("\n\n", "")


def test_chunk_ids_are_stable_and_unique() -> None:
    for doc_id in DOC_IDS:
        _, first = doc_and_chunks(doc_id)
        _, second = doc_and_chunks(doc_id)
        ids = [c.chunk_id for c in first]
        assert ids == [c.chunk_id for c in second]
        assert len(set(ids)) == len(ids)
        assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)


def test_chunk_id_formula() -> None:
    import hashlib

    doc, chunks = doc_and_chunks(DOC_IDS[0])
    c = next(c for c in chunks if c.kind == "body")
    key = f"{doc.content_hash}:{c.start}:{c.end}:body"
    assert c.chunk_id == hashlib.sha256(key.encode()).hexdigest()[:16]


def test_section_path_of_a_lead_in_paragraph() -> None:
    doc_id = next(d for d in DOC_IDS if d.startswith("000"))
    _, chunks = doc_and_chunks(doc_id)
    hits = [c for c in chunks if "开展“发展党员规范年”活动" in c.text]
    assert hits
    for c in hits:
        assert c.section == "以“常抓不懈”的毅力 塑造信念坚定过硬队伍 › (二)突出教育管理“向心力”"


@pytest.mark.parametrize(
    ("prefix", "needle", "section"),
    [
        ("001", "878名社区党员民警", "以织密党的基层组织体系为着力点 推进党的组织和党的工作全覆盖"),
        (
            "002",
            "针对建制性党组织",
            "健全一体化运行机制,有效推动,城市基层党建协同发展 › 一是深化两力驱动机制",
        ),
        ("003", "月例会、季检查", "筑牢思想根基 压实党建主体责任 › 抓谋划部署"),
        ("003", "伟大时代领航奋进", "丰富特色载体 完善基层党建服务功能"),
        ("004", "东西街两个社区", "坚持“四联共建” 做到党建区域联动化 › 组织联建"),
    ],
)
def test_section_paths_in_other_reports(prefix: str, needle: str, section: str) -> None:
    doc_id = next(d for d in DOC_IDS if d.startswith(prefix))
    _, chunks = doc_and_chunks(doc_id)
    assert {c.section for c in chunks if needle in c.text} == {section}


def test_intro_before_first_heading_has_empty_section() -> None:
    doc_id = next(d for d in DOC_IDS if d.startswith("003"))
    _, chunks = doc_and_chunks(doc_id)
    assert chunks[0].section == "" and chunks[0].paragraph == 0


def test_headings_are_not_chunks() -> None:
    doc_id = next(d for d in DOC_IDS if d.startswith("000"))
    _, chunks = doc_and_chunks(doc_id)
    assert all(not c.text.startswith("以“常抓不懈”") for c in chunks)
    assert SECTION_SEP == " › "


# --- synthetic documents --------------------------------------------------------------------


def make_doc(text: str, captions: list[str] | None = None) -> CleanDocument:
    return CleanDocument(
        doc_id="t",
        text=text,
        meta=DocMeta(doc_id="t", title="测试", region="测试区"),
        content_hash="0" * 64,
        captions=captions or [],
    )


def test_long_sentence_is_split_at_commas() -> None:
    clause = "这是一个比较长的分句内容用来测试切分,"
    text = clause * 40 + "结束。"
    chunks = chunk_document(make_doc(text), min_chars=50, max_chars=100)
    assert all(len(c.text) <= 130 for c in chunks)
    assert "".join(c.text for c in chunks) == text  # pieces of one sentence do not overlap
    assert all(c.text.endswith((",", "。")) for c in chunks)


def test_sentence_without_commas_is_hard_cut() -> None:
    text = "党" * 950 + "。"
    chunks = chunk_document(make_doc(text), min_chars=50, max_chars=100)
    assert "".join(c.text for c in chunks) == text
    assert all(len(c.text) <= 130 for c in chunks)


def test_small_remainder_merges_into_previous_chunk() -> None:
    s = "甲" * 59 + "。"
    text = s * 6 + "短句。"  # 6 x 60 + 3 chars
    chunks = chunk_document(make_doc(text), min_chars=150, max_chars=200)
    assert chunks[-1].text.endswith("短句。")
    assert len(chunks[-1].text) > 150
    assert all(len(c.text) <= 260 for c in chunks)


def test_chunks_do_not_cross_headings() -> None:
    text = "第一部分\n\n第一段第一句。第一段第二句。\n\n第二部分\n\n第二段第一句。"
    chunks = chunk_document(make_doc(text))
    assert [(c.text, c.section, c.paragraph) for c in chunks] == [
        ("第一段第一句。第一段第二句。", "第一部分", 1),
        ("第二段第一句。", "第二部分", 3),
    ]


def test_consecutive_paragraphs_of_one_section_share_a_run() -> None:
    text = "小标题\n\n第一段。\n\n第二段。"
    chunks = chunk_document(make_doc(text))
    assert [c.text for c in chunks] == ["第一段。\n\n第二段。"]
    assert chunks[0].paragraph == 1


def test_numbered_headings_nest() -> None:
    text = (
        "一、总体情况\n\n(一)组织建设\n\n甲句。\n\n(二)队伍建设\n\n乙句。\n\n"
        "二、下一步打算\n\n1.加强学习。丙句的内容比较长一些。"
    )
    sections = [c.section for c in chunk_document(make_doc(text))]
    assert sections == [
        "一、总体情况 › (一)组织建设",
        "一、总体情况 › (二)队伍建设",
        "二、下一步打算 › 1.加强学习",
    ]


def test_captions_become_caption_chunks() -> None:
    chunks = chunk_document(make_doc("正文。", captions=["图一", "图二"]))
    captions = [c for c in chunks if c.kind == "caption"]
    assert [c.text for c in captions] == ["图一", "图二"]
    assert {(c.start, c.end, c.section) for c in captions} == {(-1, -1, CAPTION_SECTION)}
    assert len({c.chunk_id for c in chunks}) == 3


def test_too_many_chunks_is_an_error() -> None:
    text = "\n\n".join(f"标题{i}\n\n第{i}段。" for i in range(30))
    with pytest.raises(ValueError, match="上限"):
        chunk_document(make_doc(text), max_chunks=10)


def test_empty_document_has_no_chunks() -> None:
    assert chunk_document(make_doc("")) == []


# --- split_sentences ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("第一句。第二句！第三句？", ["第一句。", "第二句！", "第三句？"]),
        ("甲;乙；丙", ["甲;", "乙；", "丙"]),
        (
            "他说：“我们要努力。我们会成功。”然后走了。",
            ["他说：“我们要努力。我们会成功。”", "然后走了。"],
        ),
        ("提出“三严三实”要求。继续。", ["提出“三严三实”要求。", "继续。"]),
        ("引用「甲。乙」之后。", ["引用「甲。乙」之后。"]),
        ("括号(含句号。在内)不断。下一句。", ["括号(含句号。在内)不断。", "下一句。"]),
        ("省略号……然后呢？！好。", ["省略号……", "然后呢？！", "好。"]),
        ("结尾没有标点", ["结尾没有标点"]),
        ("句一。 句二。", ["句一。 ", "句二。"]),
        ("", []),
    ],
)
def test_split_sentences_cases(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_split_sentences_unbalanced_quote_still_splits() -> None:
    text = "开头“" + "没有闭合的引号内容。" * 30 + "结束。"
    sentences = split_sentences(text)
    assert "".join(sentences) == text
    assert len(sentences) > 5


def test_split_sentences_is_lossless_on_the_corpus() -> None:
    for doc_id in DOC_IDS:
        doc, _ = doc_and_chunks(doc_id)
        for paragraph in doc.text.split("\n\n"):
            assert "".join(split_sentences(paragraph)) == paragraph
        assert "".join(split_sentences(raw_of(doc_id))) == raw_of(doc_id)
