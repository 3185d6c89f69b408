"""load_text: encodings, formats and hostile files are decoded or refused with a Chinese reason."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pytest

from assistant.loading import SUPPORTED_SUFFIXES, LoadError, load_text

pytestmark = pytest.mark.unit

MAX_BYTES = 5 * 1024 * 1024
MAX_CHARS = 200_000
SAMPLE = "坚持党建引领，推进基层治理。\n“红色驿站”210个，服务群众！"


def load(path: Path, **kw) -> str:
    return load_text(
        path, max_bytes=kw.get("max_bytes", MAX_BYTES), max_chars=kw.get("max_chars", MAX_CHARS)
    )


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def assert_refused(path: Path, *words: str, **kw) -> LoadError:
    with pytest.raises(LoadError) as info:
        load(path, **kw)
    err = info.value
    assert err.path_name == path.name
    assert str(err) == f"{path.name}: {err.reason}"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.reason), "reason must be Chinese"
    for word in words:
        assert word in err.reason
    return err


# --- plain text encodings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "data"),
    [
        ("utf8", SAMPLE.encode("utf-8")),
        ("utf8-bom", b"\xef\xbb\xbf" + SAMPLE.encode("utf-8")),
        ("utf16", SAMPLE.encode("utf-16")),  # with BOM, native order
        ("utf16-le", b"\xff\xfe" + SAMPLE.encode("utf-16-le")),
        ("utf16-be", b"\xfe\xff" + SAMPLE.encode("utf-16-be")),
        ("gbk", SAMPLE.encode("gbk")),
        ("gb18030", SAMPLE.encode("gb18030")),
    ],
)
def test_text_encodings_decode_to_the_same_text(tmp_path: Path, label: str, data: bytes) -> None:
    assert load(write(tmp_path, f"{label}.txt", data)) == SAMPLE


def test_gb18030_characters_outside_gbk(tmp_path: Path) -> None:
    text = "古籍用字㐀与扩展字𠀀都要保留。" * 3
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    assert load(write(tmp_path, "ext.txt", text.encode("gb18030"))) == text


def test_gbk_full_width_indent_is_an_ideographic_space(tmp_path: Path) -> None:
    """Old GBK files indent paragraphs with A3A0; it must not read as a private-use code."""
    body = "\n".join(f"第{i}段，坚持党建引领，推进基层治理。" for i in range(40))
    data = b"".join(b"\xa3\xa0\xa3\xa0" + line.encode("gbk") + b"\r\n" for line in body.split("\n"))
    text = load(write(tmp_path, "indented.txt", data))
    assert "\ue5e5" not in text and text.startswith("\u3000\u3000第0段")


@pytest.mark.parametrize("encoding", ["big5", "gbk"])
def test_traditional_chinese_is_not_garbled(tmp_path: Path, encoding: str) -> None:
    text = "堅持黨建引領，推進基層治理。紅色驛站服務群眾，黨員教育基地建設成效顯著。" * 5
    # Big5 bytes also decode as GB18030 (into garbage): the detector must be consulted
    assert load(write(tmp_path, f"{encoding}.txt", text.encode(encoding))) == text


def test_markdown_and_crlf_normalised(tmp_path: Path) -> None:
    raw = "# 标题\r\n\r\n第一段。\r第二段。\r\n".encode()
    assert load(write(tmp_path, "a.md", raw)) == "# 标题\n\n第一段。\n第二段。\n"


def test_bom_is_stripped(tmp_path: Path) -> None:
    text = load(write(tmp_path, "bom.txt", b"\xef\xbb\xbf" + SAMPLE.encode()))
    assert not text.startswith("\ufeff")


def test_binary_renamed_txt_is_refused(tmp_path: Path) -> None:
    assert_refused(write(tmp_path, "image.txt", bytes(range(256)) * 8), "二进制")


def test_binary_without_nul_bytes_is_refused(tmp_path: Path) -> None:
    rng = random.Random(7)
    data = bytes(rng.randrange(1, 256) for _ in range(4000))
    assert_refused(write(tmp_path, "noise.txt", data))


def test_png_renamed_txt_is_refused(tmp_path: Path) -> None:
    assert_refused(write(tmp_path, "photo.txt", _png_bytes()))


def test_empty_file_is_refused(tmp_path: Path) -> None:
    assert_refused(write(tmp_path, "empty.txt", b""), "空")


def test_whitespace_only_file_is_refused(tmp_path: Path) -> None:
    assert_refused(write(tmp_path, "blank.txt", " \n\n\u3000 \r\n".encode()), "没有文字")


def test_oversize_file_is_refused_before_reading(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path, "big.txt", ("党建" * 200).encode())

    def no_read(self):  # the size check must come first
        raise AssertionError("file was read")

    monkeypatch.setattr(Path, "read_bytes", no_read)
    assert_refused(path, "太大", max_bytes=100)


def test_too_many_characters_is_refused(tmp_path: Path) -> None:
    assert_refused(write(tmp_path, "long.txt", ("党" * 500).encode()), "太长", max_chars=100)


def test_unsupported_extension_lists_supported_ones(tmp_path: Path) -> None:
    err = assert_refused(write(tmp_path, "old.doc", b"whatever"), "不支持")
    for suffix in SUPPORTED_SUFFIXES:
        assert suffix in err.reason
    assert SUPPORTED_SUFFIXES == (".txt", ".md", ".docx", ".pdf", ".html", ".htm", ".mhtml")


def test_nul_bytes_never_returned(tmp_path: Path) -> None:
    text = load(write(tmp_path, "u16.txt", SAMPLE.encode("utf-16")))
    assert "\x00" not in text


# --- docx -----------------------------------------------------------------------------------


def test_real_docx_with_chinese_paragraphs_and_table(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("强基固本筑堡垒")
    document.add_paragraph("坚持党建引领，推进基层治理。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "指标"
    table.cell(0, 1).text = "数量"
    table.cell(1, 0).text = "红色驿站"
    table.cell(1, 1).text = "210个"
    document.add_paragraph("表后一段。")
    path = tmp_path / "report.docx"
    document.save(path)

    text = load(path)
    assert text.split("\n\n")[:2] == ["强基固本筑堡垒", "坚持党建引领，推进基层治理。"]
    assert "红色驿站" in text and "210个" in text
    assert text.index("红色驿站") < text.index("表后一段。")


def test_zip_renamed_docx_is_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes.txt", "不是 Word 文档")
    assert_refused(write(tmp_path, "fake.docx", buf.getvalue()), "Word")


def test_non_zip_docx_is_refused(tmp_path: Path) -> None:
    assert_refused(write(tmp_path, "text.docx", SAMPLE.encode()), "Word")


def test_truncated_docx_is_refused(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "full.docx"
    document = docx.Document()
    document.add_paragraph("内容" * 200)
    document.save(path)
    data = path.read_bytes()
    assert_refused(write(tmp_path, "cut.docx", data[: len(data) // 2]), "Word")


def test_docx_with_broken_xml_is_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document><unclosed>")
    assert_refused(write(tmp_path, "broken.docx", buf.getvalue()), "Word")


def test_docx_zip_bomb_is_refused_before_parsing(tmp_path: Path, monkeypatch) -> None:
    import docx

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"<w:t>" + b" " * (8 * 1024 * 1024) + b"</w:t>")
    data = buf.getvalue()
    assert len(data) < 100_000  # compresses small

    def no_parse(*args, **kwargs):
        raise AssertionError("the bomb reached the parser")

    monkeypatch.setattr(docx, "Document", no_parse)
    assert_refused(write(tmp_path, "bomb.docx", data), "过大", max_chars=100_000)


# --- docx structure -------------------------------------------------------------------------

DOCX_FIXTURE = Path(__file__).parent / "fixtures" / "docx" / "party_statistics.docx"


def test_docx_headings_carry_their_level_and_automatic_numbers() -> None:
    paragraphs = load(DOCX_FIXTURE).split("\n\n")
    assert paragraphs[0] == "党内统计数据摘要"  # Title style: plain, cleaning takes it as title
    headings = [p for p in paragraphs if p.startswith("#")]
    assert headings == [
        "# 一、党员队伍情况",  # Heading 1 numbered by Word: 一、
        "## （一）党员的职业构成",  # Heading 2, second level of the same numbering
        "## 党员和党组织数量的增长",  # Heading 2 without a number
        "# 二、基层组织建设",
    ]


def test_docx_list_items_stay_separate_sentences() -> None:
    paragraphs = load(DOCX_FIXTURE).split("\n\n")
    k = paragraphs.index("主要特点如下：")
    assert paragraphs[k + 1 : k + 4] == [
        "1.党员总数首次突破1亿名。",
        "2.基层党组织数量持续增加。",
        "3.党员队伍结构不断优化。",
    ]
    assert "• 行政村已建立党组织。" in paragraphs


def test_docx_tables_in_body_order_with_caption_header_and_merged_cells() -> None:
    paragraphs = load(DOCX_FIXTURE).split("\n\n")
    assert "表1 2024年底党员职业分布" not in paragraphs  # the caption went into the rows
    first = paragraphs.index(
        "表1 2024年底党员职业分布｜农牧渔民｜2024年底·人数（万名）：2614.4｜2024年底·占党员总数（%）：26.1。"
    )
    assert paragraphs[first - 1] == "截至2024年12月31日，中国共产党党员总数为10027.1万名。"
    assert paragraphs[first + 8] == "农牧渔民和离退休人员合计占党员总数的近一半。"
    # a bold header row, a numeric label column, a "表2" line above the table as its caption
    assert (
        "表2 党员和基层党组织数量｜年份：2024｜党员（万名）：10027.1｜基层党组织（万个）：525。"
        in paragraphs
    )
    # a title row merged across the table is its caption
    assert (
        "城乡基层党组织覆盖情况｜社区｜已建党组织（万个）：3.0｜覆盖率（%）：99.9。" in paragraphs
    )


def test_docx_outline_levels_chinese_style_names_and_toc(tmp_path: Path) -> None:
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    document.add_paragraph(
        "目录行 1", style=document.styles.add_style("toc 1", WD_STYLE_TYPE.PARAGRAPH)
    )
    chinese = document.styles.add_style("标题 3", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("按中文样式名的三级标题", style=chinese)
    outlined = document.add_paragraph("按大纲级别的二级标题")
    level = OxmlElement("w:outlineLvl")
    level.set(qn("w:val"), "1")
    outlined._p.get_or_add_pPr().append(level)
    document.add_paragraph("正文一句。")
    document.add_paragraph("第一条要求", style="List Number")  # a numbered line on its own
    document.add_paragraph("正文二句。")
    path = tmp_path / "outline.docx"
    document.save(path)
    assert load(path).split("\n\n") == [
        "### 按中文样式名的三级标题",
        "## 按大纲级别的二级标题",
        "正文一句。",
        "1.第一条要求",  # alone between body paragraphs: a numbered heading, not a list
        "正文二句。",
    ]


# --- pdf ------------------------------------------------------------------------------------


def _pdf_with_text(text: str) -> bytes:
    """A minimal valid one-page PDF showing `text` (ASCII) in Helvetica."""
    content = f"BT /F1 24 Tf 72 700 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


def _blank_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _png_bytes() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def test_pdf_with_text_is_extracted(tmp_path: Path) -> None:
    text = load(write(tmp_path, "hello.pdf", _pdf_with_text("Party building report 2021")))
    assert "Party building report 2021" in text


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_encrypted_pdf_is_refused_even_with_empty_password(tmp_path: Path, algorithm: str) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf_with_text("secret"))))
    writer.encrypt(user_password="", owner_password="owner", algorithm=algorithm)
    buf = io.BytesIO()
    writer.write(buf)
    assert_refused(write(tmp_path, "locked.pdf", buf.getvalue()), "PDF 已加密")


def test_png_renamed_pdf_is_refused(tmp_path: Path) -> None:
    assert_refused(write(tmp_path, "scan.pdf", _png_bytes()), "PDF")


def test_corrupt_pdf_is_refused(tmp_path: Path) -> None:
    data = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\ngarbage" + bytes(range(256))
    assert_refused(write(tmp_path, "broken.pdf", data))


def test_pdf_without_text_needs_ocr(tmp_path: Path) -> None:
    assert_refused(write(tmp_path, "scanned.pdf", _blank_pdf()), "OCR")


def test_pdf_over_max_chars_is_refused(tmp_path: Path) -> None:
    assert_refused(write(tmp_path, "long.pdf", _pdf_with_text("x" * 300)), "太长", max_chars=100)
