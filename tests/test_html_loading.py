"""Saved web pages (.html, .htm, .mhtml) load as title, date line and article; chrome is dropped.

The fixtures are real pages saved from Chinese government and news sites
(tests/fixtures/html/SOURCES.md) with hand-marked body sentences and boilerplate strings
(annotations.json).
"""

from __future__ import annotations

import json
import quopri
import re
import shutil
from pathlib import Path

import lxml.html
import pytest

from assistant.cleaning import infer_meta
from assistant.loading import SUPPORTED_SUFFIXES, LoadError, load_document
from assistant.tables import is_table_row

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).parent / "fixtures" / "html"
ANNOTATIONS: dict[str, dict] = json.loads(
    (FIXTURES / "annotations.json").read_text(encoding="utf-8")
)
MAX_BYTES = 5 * 1024 * 1024
MAX_CHARS = 200_000


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def load(path: Path, **kw) -> str:
    return load_document(
        path, max_bytes=kw.get("max_bytes", MAX_BYTES), max_chars=kw.get("max_chars", MAX_CHARS)
    ).text


def paragraphs(name: str) -> list[str]:
    return load(FIXTURES / name).split("\n\n")


def refused(path: Path, *words: str, **kw) -> str:
    with pytest.raises(LoadError) as info:
        load(path, **kw)
    reason = info.value.reason
    assert re.search(r"[\u4e00-\u9fff]", reason), "reason must be Chinese"
    for word in words:
        assert word in reason, reason
    return reason


def test_html_suffixes_are_supported():
    assert {".html", ".htm", ".mhtml"} <= set(SUPPORTED_SUFFIXES)


# --- the annotated real pages ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ANNOTATIONS))
def test_body_sentences_survive(name: str):
    text = squash(load(FIXTURES / name))
    body = ANNOTATIONS[name]["body"]
    missing = [s for s in body if squash(s) not in text]
    assert len(missing) <= 0.1 * len(body), missing[:3]


def test_body_sentences_survive_across_all_pages():
    kept = total = 0
    for name, a in ANNOTATIONS.items():
        text = squash(load(FIXTURES / name))
        kept += sum(1 for s in a["body"] if squash(s) in text)
        total += len(a["body"])
    assert kept / total >= 0.98, f"{kept}/{total}"


def test_boilerplate_is_dropped_across_all_pages():
    """Menus, related links, pagers, toolbars, footers: 195/200 marked strings gone today."""
    left: list[str] = []
    total = 0
    for name, a in ANNOTATIONS.items():
        text = squash(load(FIXTURES / name))
        left += [f"{name}: {b}" for b in a["boilerplate"] if squash(b) in text]
        total += len(a["boilerplate"])
    assert len(left) <= 0.05 * total, left


def test_a_site_contact_line_is_chrome_a_notices_contact_is_not():
    from assistant.html_loading import is_chrome

    assert is_chrome("医院地址：湖南省长沙市麓山路58号 24小时急救电话：0731-88866120")
    assert is_chrome("传真：0731-88854265 联系邮箱：")
    assert not is_chrome("联系人：张三，联系电话：0731-1234567")
    text = squash(load(FIXTURES / "hnzyy_party_branch_contest.html"))
    assert "麓山路58号" not in text and "李琴雯荣获一等奖" in text


@pytest.mark.parametrize("name", sorted(ANNOTATIONS))
def test_no_toolbar_breadcrumb_or_icp_line_is_left(name: str):
    for p in paragraphs(name):
        for line in p.split("\n"):
            assert not re.search(
                r"ICP备|公网安备|【打印|【关闭|^当前位置|^您的位置|^上一篇", line
            ), line


@pytest.mark.parametrize("name", sorted(ANNOTATIONS))
def test_title_is_the_first_paragraph_without_the_site_name(name: str):
    first = paragraphs(name)[0]
    assert squash(first) == squash(ANNOTATIONS[name]["title"])


@pytest.mark.parametrize("name", sorted(n for n, a in ANNOTATIONS.items() if a["date"]))
def test_date_line_is_read_by_metadata_inference(name: str):
    meta = infer_meta("doc", load(FIXTURES / name))
    assert meta.date == ANNOTATIONS[name]["date"]
    assert squash(meta.title) == squash(ANNOTATIONS[name]["title"])


def test_date_and_source_line_follows_the_title():
    ps = paragraphs("shanxi_gov_silk_road.html")
    assert ps[0] == "山西品牌丝路行（南美站）正式启动"
    assert ps[1] == "时间：2019-09-18 06:23 来源：山西日报"
    assert "打印" not in ps[1] and "字体" not in ps[1]


def test_date_printed_under_the_article_moves_to_the_header():
    ps = paragraphs("zsnews_daliang_visit.html")
    assert ps[1].startswith("发布日期：2019-03-06")
    assert not any(p.startswith("发布日期") for p in ps[2:])


def test_site_suffix_and_channel_are_stripped_from_the_title():
    ps = paragraphs("nmg_gov_tax_relief.html")
    assert ps[0] == "内蒙古延续部分到期税收优惠政策助企纾困预计4年为纳税人减负180亿元"
    assert "门户网站" not in ps[0]
    # <title> is only "site>channel": the heading inside the page is used
    assert paragraphs("zgysyjy_phd_admission_gb2312.html")[0] == (
        "中国艺术研究院2004年博士生招生简章"
    )


def test_numbers_split_across_tags_are_joined():
    """Word-made page: every number is its own <SPAN lang=EN-US><FONT>…</FONT></SPAN>, and
    the runs sit between <p> elements."""
    text = load(FIXTURES / "chinaneast_farm_machinery_gb2312.html")
    assert "1956年生人，1978年参加工作，1976年加入中国共产党" in text
    assert "先后荣获9项国家专利，开发设计23项新产品，其中有4项达到国家先进水平" in text
    assert "例如国家财政在粮食生产上投入100万，投资回报可能是400万或者更多" in squash(text)


def test_inline_tags_do_not_break_a_paragraph():
    ps = paragraphs("people_js_school_gb2312.html")
    sentence = "南京要求，加强返校师生员工精准管理，中高风险地区师生员工暂不返校。"
    para = next(p for p in ps if sentence in p)
    assert len(para) > len(sentence)  # the sentence is part of its paragraph, not cut out


def test_gbk_page_is_decoded():
    raw = (FIXTURES / "he_xinhuanet_drama_gb2312.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert b"charset=gb2312" in raw.lower()
    text = load(FIXTURES / "he_xinhuanet_drama_gb2312.html")
    assert "话剧《约定无期限》河北各市巡演结束" in text
    assert "\ufffd" not in text


def test_page_saved_as_utf8_under_a_gb2312_label_is_decoded():
    raw = (FIXTURES / "people_zhengbanqiao_mislabelled.html").read_bytes()
    assert b'charset="GB2312"' in raw or b"charset=GB2312" in raw
    raw.decode("utf-8")  # the bytes are UTF-8
    assert "女儿出嫁，郑板桥画了几笔兰花当嫁妆" in load(
        FIXTURES / "people_zhengbanqiao_mislabelled.html"
    )


def test_gbk_full_width_space_is_not_a_private_use_character(tmp_path: Path):
    """0xA3A0 indents old GBK pages; browsers show it as U+3000, Python decodes to U+E5E5."""
    page = (
        "<html><head><meta charset='gb2312'><title>通知</title></head><body><p>"
        + "\u3000\u3000全县认真贯彻落实各项部署，扎实推进基层党组织建设工作，取得明显成效。" * 3
        + "</p></body></html>"
    ).encode("gb18030")
    page = page.replace("\u3000".encode("gb18030"), b"\xa3\xa0")
    path = tmp_path / "indent.html"
    path.write_bytes(page)
    text = load(path)
    assert "\ue5e5" not in text and "全县认真贯彻落实各项部署" in text


def test_table_with_merged_cells_becomes_rows_with_the_header_repeated():
    ps = paragraphs("zgysyjy_phd_admission_gb2312.html")
    rows = [p for p in ps if is_table_row(p)]
    assert len(rows) >= 30
    row = next(p for p in rows if p.startswith("01艺术学原理"))
    assert "指导教师：刘梦溪" in row and "考试科目：1、英语或俄语或日语" in row
    assert "备注：新增点正在审批" in row
    # rows stay where the table was: after the text that introduces it
    intro = next(i for i, p in enumerate(ps) if p.startswith("附：招生专业及考试科目"))
    assert ps.index(row) > intro


def test_table_the_extractor_dropped_is_put_back_before_the_article():
    """trafilatura leaves out the 吉林 notice's metadata table (索引号, 发文机关, 成文日期)."""
    ps = paragraphs("jl_gov_nenjiang_notice.html")
    organ = next(i for i, p in enumerate(ps) if "发文机关" in p and "吉林省人民政府" in p)
    assert is_table_row(ps[organ])
    first_body = next(i for i, p in enumerate(ps) if p.startswith("为做好吉林省嫩江干流"))
    assert organ < first_body


def test_layout_tables_are_flattened_into_paragraphs():
    ps = paragraphs("zgysyjy_phd_admission_gb2312.html")
    para = "我院为科研单位，所收博士生应提供课题培养费，每人每年12000元(不含住宿费)。"
    assert para in ps  # a paragraph of its own, not a cell of a one-row "table"


@pytest.mark.parametrize("name", sorted(ANNOTATIONS))
def test_scripts_styles_and_comments_never_reach_the_text(name: str):
    raw = (FIXTURES / name).read_bytes()
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError:
        source = raw.decode("gb18030", "replace")
    hidden = re.findall(
        r"<script[^>]*>(.*?)</script>|<style[^>]*>(.*?)</style>", source, re.S | re.I
    )
    hidden += [(c, "") for c in re.findall(r"<!--(.*?)-->", source, re.S)]
    text = squash(load(FIXTURES / name))
    for parts in hidden:
        for part in parts:
            for line in part.splitlines():
                line = squash(line)
                if len(line) >= 12 and re.search(r"[{};=()]", line):
                    assert line not in text


def test_the_same_article_twice_on_one_page_is_kept_once():
    """The 内蒙古 page carries its article for desktop and for mobile."""
    text = load(FIXTURES / "nmg_gov_tax_relief.html")
    assert text.count("在自治区权限范围内加大减税力度") == 1


# --- .mhtml ----------------------------------------------------------------------------------


def _mhtml(html: bytes, url: str, charset: str | None) -> bytes:
    """An archive laid out the way Chromium ("Saved by Blink") writes one."""
    boundary = "----MultipartBoundary--x8pLQ1b0S3aTYrR4u7NeKqPjGZmVhdDwFkC2oWcEyi----"
    ctype = f"text/html; charset={charset}" if charset else "text/html"
    head = (
        "From: <Saved by Blink>\r\n"
        f"Snapshot-Content-Location: {url}\r\n"
        "Subject: =?utf-8?Q?page?=\r\n"
        "Date: Fri, 30 Jul 2021 00:24:07 -0000\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/related;\r\n\ttype="text/html";\r\n'
        f'\tboundary="{boundary}"\r\n\r\n\r\n'
        f"--{boundary}\r\n"
        f"Content-Type: {ctype}\r\n"
        "Content-ID: <frame-FFDDC2B3BFD43695CA16488A6CA9C060@mhtml.blink>\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        f"Content-Location: {url}\r\n\r\n"
    ).encode()
    css = (
        f"--{boundary}\r\nContent-Type: text/css\r\nContent-Transfer-Encoding: "
        "quoted-printable\r\nContent-Location: cid:css-1@mhtml.blink\r\n\r\n"
        "body{margin:0}\r\n"
    ).encode()
    return head + quopri.encodestring(html) + b"\r\n" + css + f"--{boundary}--\r\n".encode()


@pytest.mark.parametrize(
    ("name", "charset"),
    [("shanxi_gov_silk_road.html", None), ("he_xinhuanet_drama_gb2312.html", "gb2312")],
)
def test_mhtml_archive_loads_like_the_page(tmp_path: Path, name: str, charset: str | None):
    html = (FIXTURES / name).read_bytes()
    path = tmp_path / (Path(name).stem + ".mhtml")
    path.write_bytes(_mhtml(html, "https://www.example.gov.cn/art/1.html", charset))
    loaded = load_document(path, max_bytes=MAX_BYTES, max_chars=MAX_CHARS)
    assert loaded.format == "mhtml"
    assert loaded.text == load(FIXTURES / name)


def test_mhtml_that_is_not_an_archive_is_refused(tmp_path: Path):
    path = tmp_path / "page.mhtml"
    path.write_bytes((FIXTURES / "shanxi_gov_silk_road.html").read_bytes())
    refused(path, ".mhtml")


# --- hostile pages ---------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_page_with_only_navigation_is_refused(tmp_path: Path):
    """The real 内蒙古 page with its article removed: menus, links and footer only."""
    root = lxml.html.document_fromstring((FIXTURES / "nmg_gov_tax_relief.html").read_bytes())
    keys = [squash(s)[:12] for s in ANNOTATIONS["nmg_gov_tax_relief.html"]["body"]]
    keys.append("内蒙古延续部分到期税收优惠政策")
    for el in list(root.iter()):
        if el.getparent() is None or not isinstance(el.tag, str):
            continue
        own = squash((el.text or "") + "".join(c.tail or "" for c in el))
        if any(k in own for k in keys):
            el.drop_tree()
    for el in root.iter("title", "meta"):
        el.getparent().remove(el) if el.getparent() is not None else None
    path = _write(tmp_path, "nav_only.html", lxml.html.tostring(root, encoding="utf-8"))
    assert "网站地图" in path.read_text(encoding="utf-8")
    refused(path, "没有找到正文")


def test_redirect_page_is_refused(tmp_path: Path):
    page = (
        '<html><head><meta http-equiv="refresh" content="0;url=/art/2023/5/6/art_1.html">'
        "<script>window.location.href='/art/2023/5/6/art_1.html'</script></head>"
        "<body></body></html>"
    )
    refused(_write(tmp_path, "jump.htm", page), "跳转")


def test_binary_file_renamed_html_is_refused(tmp_path: Path):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)) * 8
    refused(_write(tmp_path, "photo.html", png), "不是网页")


def test_plain_text_renamed_html_is_refused(tmp_path: Path):
    refused(_write(tmp_path, "notes.html", "党建工作要点。" * 50), "不是网页")


def test_deeply_nested_page_does_not_blow_up(tmp_path: Path):
    body = "<p>" + "全县认真贯彻落实各项部署，扎实推进基层党组织建设工作。" * 4 + "</p>"
    page = "<html><body>" + "<div>" * 50_000 + body + "</div>" * 50_000 + "</body></html>"
    refused(_write(tmp_path, "deep.html", page), "没有找到正文")  # lost below depth 256


def test_page_with_too_many_elements_is_refused(tmp_path: Path):
    page = "<html><body>" + "<p>党建引领，基层治理。</p>" * 120_000 + "</body></html>"
    refused(_write(tmp_path, "huge.html", page), "过于庞大")


def test_huge_merged_cells_stay_bounded(tmp_path: Path):
    body = "<p>" + "全县认真贯彻落实各项部署，扎实推进基层党组织建设工作。" * 4 + "</p>"
    table = (
        "<table><tr><th>镇</th><th colspan=1000000>党员数</th></tr>"
        "<tr><td rowspan=1000000>红枫镇</td><td>812</td></tr><tr><td>90</td></tr></table>"
    )
    text = load(_write(tmp_path, "span.html", f"<html><body>{body}{table}{body}</body></html>"))
    assert len(text) < 20_000 and "全县认真贯彻落实各项部署" in text


def test_max_chars_and_max_bytes_are_respected(tmp_path: Path):
    path = tmp_path / "page.html"
    shutil.copy(FIXTURES / "xdkb_leaders_week.html", path)
    refused(path, "太长", max_chars=1000)
    refused(path, "太大", max_bytes=1000)


# --- end to end ------------------------------------------------------------------------------


def test_ingested_page_is_found_by_search(fresh_assistant, tmp_path: Path):
    path = tmp_path / "内蒙古减税.html"
    shutil.copy(FIXTURES / "nmg_gov_tax_relief.html", path)
    result = fresh_assistant.ingest_paths([path])[0]
    assert result.status == "indexed", result.reason
    meta = next(d for d in fresh_assistant.documents() if d["doc_id"] == result.doc_id)
    assert meta["title"].startswith("内蒙古延续部分到期税收优惠政策")
    assert meta["format"] == "html"
    hits = fresh_assistant.search("内蒙古延续执行税收优惠政策预计为纳税人减负多少", k=3)
    assert hits and hits[0].chunk.doc_id == result.doc_id
    assert any("180亿元" in h.chunk.text for h in hits)


def test_uploader_accepts_web_pages_and_indexes_one(fresh_assistant):
    from tests.ui_helpers import open_app

    at = open_app(fresh_assistant, page="library")
    allowed = {t.lstrip(".") for t in at.file_uploader[0].allowed_type}
    assert {"html", "htm", "mhtml"} <= allowed
    page = (FIXTURES / "shanxi_gov_silk_road.html").read_bytes()
    at.file_uploader[0].set_value(("山西品牌丝路行.html", page, "text/html"))
    at.run()
    next(b for b in at.button if b.label == "开始索引").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.dataframe[-1].value.iloc[0]["结果"] == "已索引"
