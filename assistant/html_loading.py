"""Text of a saved web page (.html, .htm, .mhtml): title, date line, article, tables as rows.

The article is found by trafilatura, chosen over readability-lxml by measuring both on saved
Chinese government and news pages (bench/notes.md, "HTML main-content extraction"). This
module adds what the extractor leaves out or gets wrong on such pages: decoding of GBK and
mislabelled pages, the page title without the site name, the date/source line, tables with
merged cells (and tables the extractor dropped), layout tables flattened into paragraphs,
and the site chrome (toolbars, breadcrumbs, copyright and ICP lines) some pages leave inside
the article box. Pages with no article are refused with a Chinese reason.

The text starts with the title and the date/source line, each its own paragraph, so that
`assistant.cleaning.infer_meta` reads them as it reads the head of a plain-text report.
"""

from __future__ import annotations

import codecs
import copy
import email
import email.policy
import re
import unicodedata
from dataclasses import dataclass

import lxml.etree
import lxml.html

from assistant.loading import (
    Loaded,
    LoadError,
    _charset_normalizer,
    _rare_hanzi_share,
    _reject_garbled,
    _strict,
)
from assistant.tables import is_table_row, table_paragraphs

# Real saved pages have a few thousand elements; a page beyond this would take trafilatura
# tens of seconds (300k elements: 30 s on this machine), so it is refused instead.
MAX_ELEMENTS = 100_000
# A merged cell spanning more than this is a broken or hostile table, not a real one.
MAX_SPAN = 100
MAX_TABLE_CELLS = 20_000
# A cell longer than this holds page layout (a column of text), not a table value.
LAYOUT_CELL_CHARS = 200
# cleaning.py reads the first short paragraphs (_HEADER_LINE_MAX = 40) as header lines.
HEADER_LINE_MAX = 40

_NOT_HTML = (
    "文件内容看起来不是网页(可能是图片或其他文件改了扩展名)。请上传浏览器保存的 .html 网页。"
)
_NO_ARTICLE = (
    "网页中没有找到正文(可能只有导航、链接或图片,或者是跳转页)。"
    "请在浏览器中打开文章页面后用“另存为”保存,再上传。"
)
_REDIRECT = "这是一个自动跳转页面,没有正文。请打开跳转后的文章页面,另存为网页后再上传。"
_TOO_BIG = (
    "网页结构过于庞大(元素超过 {n} 个),无法可靠提取正文。"
    "请只保存文章页面,或把正文复制到 .txt 文件后上传。"
)
_BAD_MHTML = "不是有效的 .mhtml 网页存档,或文件已损坏。请在浏览器中重新保存后上传。"

_BLOCK_TAGS = frozenset(
    "address article aside blockquote body caption center dd details dialog div dl dt "
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr li main nav "
    "ol p pre section table tbody td tfoot th thead tr ul".split()
)
_SKIP_TAGS = frozenset(
    "script style noscript template head title iframe object embed svg math select option "
    "button textarea input audio video canvas map".split()
)
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_SPACE_RE = re.compile(r"\s+")
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*>")
# Saved pages often have markup after </html> (share widgets, counters); browsers show it,
# libxml2 starts a second tree and loses it. The closing tags are implied anyway.
_STRAY_CLOSE_RE = re.compile(r"</(?:html|body)\s*>", re.I)
_REFRESH_RE = re.compile(r"<meta[^>]+http-equiv\s*=\s*[\"']?refresh", re.I)
_HAN_RE = re.compile(r"[\u3400-\u9fff]")
_CJK = r"\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
_CJK_END_RE = re.compile(rf"[{_CJK}]$")
_CJK_START_RE = re.compile(rf"^[{_CJK}]")
_TITLE_CLASS_RE = re.compile(r"title|biaoti|headline|heading", re.I)

# Site chrome lines that some pages keep inside the article box (generic to Chinese sites).
_TOOLBAR_RE = re.compile(r"^(?:\s*[【\[［〖][^】\]］〗]{1,12}[】\]］〗]\s*)+$")
_BREADCRUMB_RE = re.compile(r"^(?:当前位置|您的位置|您所在的位置|现在位置|所在位置|位置)\s*[:：]")
_FOOTER_RE = re.compile(
    r"ICP备|ICP证|公网安备|网站标识码|版权|Copyright|©|\(C\)|转载|侵权|主办单位|承办单位|技术支持",
    re.I,
)
# A site's contact line: two or more of these labels ("医院地址：… 24小时急救电话：…",
# "传真：… 联系邮箱：…"); a notice's own 联系人/联系电话 line is not one.
_CONTACT_RE = re.compile(
    r"(?:地址|传真|邮箱|邮编|e-?mail|急救电话|服务电话|热线电话)\s*[:：]", re.I
)
_PAGER_RE = re.compile(r"^(?:上一篇|下一篇|上一条|下一条|上一页|下一页)\s*[:：]")
_CHROME_START_RE = re.compile(
    r"^(?:分享|扫一扫|打印本页|关闭窗口|返回顶部|字号\s*[:：]|字体\s*[:：])"
)
_URL_ONLY_RE = re.compile(r"^(?:https?://|www\.)\S+$", re.I)
_NAV_SEP_RE = re.compile(r"[|｜\s]+")
# A paragraph that is only a link and this short is a menu item or a related-article title.
LINK_ONLY_MAX = 60

_DATE_LABELS = "发布时间|发布日期|发文日期|成文日期|更新时间|发表时间|时间|日期"
_DATE_RE = re.compile(
    rf"(?:({_DATE_LABELS})\s*[:：]?\s*)?"
    r"((?:19|20)\d{2}(?:\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,2}|\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)"
    r"(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?)"
)
_SOURCE_RE = re.compile(
    r"(来源于|信息来源|稿件来源|文章来源|来源|发布机构|发布单位)\s*[:：]\s*([^\s|｜:：【】]{2,30})"
)
_DATE_META_NAMES = (
    "pubdate",
    "publishdate",
    "firstpublishedtime",
    "publishtime",
    "article:published_time",
    "og:release_date",
)
_TITLE_META_NAMES = ("articletitle", "og:title", "twitter:title", "title")
# A trailing title segment naming the site or its channel ("_XX市人民政府网站", " - 新华网").
_SITE_SEGMENT_RE = re.compile(
    r"(?:网|网站|门户|政府|频道|在线|日报|晚报|时报|报社|报业|新闻|官网|官方网站|客户端|平台|"
    r"中心|杂志|杂志社|电视台|广播|传媒)$|\.(?:com|cn|net|org|gov)\b|^[A-Za-z0-9 .&-]+$"
)
_TITLE_SEP_RE = re.compile(r"\s*(?:_+|\|+|｜|-{2,}|\s[-–—]\s)\s*")
_TITLE_LAST_DASH_RE = re.compile(r"^(.{6,}?)\s*[-–—]\s*([^-–—]{2,12})$")


def read(name: str, data: bytes, *, max_chars: int, max_bytes: int) -> Loaded:
    """`data` (the bytes of web page `name`) loaded; raises LoadError with a Chinese reason."""
    fmt = "html"
    declared = None
    if name.lower().endswith((".mhtml", ".mht")):
        data, declared = _mhtml_html(name, data)
        fmt = "mhtml"
    text = decode_html(name, data, declared)
    root = _parse(name, text)
    return Loaded(page_text(name, root, refresh=bool(_REFRESH_RE.search(text[:20000]))), fmt)


# --- bytes to text ---------------------------------------------------------------------------


def decode_html(name: str, data: bytes, declared: str | None = None) -> str:
    """The page decoded: BOM, then strict UTF-8, the declared charset, GB18030, the detector.

    Strict UTF-8 goes before the declared charset: multi-byte UTF-8 is almost never valid by
    accident, while pages saved by a browser are UTF-8 but keep their old "gb2312" meta tag.
    """
    if data.startswith(codecs.BOM_UTF8):
        text = _strict(data[len(codecs.BOM_UTF8) :], "utf-8")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _strict(data, "utf-16")
    else:
        if b"\x00" in data[:4096]:
            raise LoadError(name, _NOT_HTML)
        text = _strict(data, "utf-8")
        label = _codec(declared) or _codec(_meta_charset(data))
        if text is None and label:
            text = _strict(data, label)
            if text is not None and label == "gb18030" and _rare_hanzi_share(text) > 0.2:
                text = None  # Big5 bytes under a GB label decode into rare characters
        if text is None:
            text = _strict(data, "gb18030")
            if text is not None and _rare_hanzi_share(text) > 0.2:
                text = None
        if text is None:
            text = _charset_normalizer(data)
        if text is None and label:
            # A real page with a few broken bytes (a truncated character, a pasted snippet):
            # keep it if the damage is small; _reject_garbled refuses it otherwise.
            text = data.decode(label, errors="replace")
    if text is None:
        raise LoadError(name, "无法可靠识别网页的文字编码。请在浏览器中重新“另存为”网页后上传。")
    # GBK 0xA3A0, the full-width space old pages indent with, decodes to private-use U+E5E5;
    # browsers (WHATWG Encoding Standard) show it as U+3000.
    text = text.lstrip("\ufeff").replace("\ue5e5", "\u3000")
    if "<" not in text[:4096] and "<" not in text[-4096:]:
        raise LoadError(name, _NOT_HTML)
    _reject_garbled(name, _visible_sample(text))
    return text


def _meta_charset(data: bytes) -> str | None:
    m = _META_CHARSET_RE.search(data[:8192])
    return m.group(1).decode("ascii", "ignore") if m else None


def _codec(label: str | None) -> str | None:
    """Python codec for a charset label; GB2312/GBK pages decode with their superset GB18030."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    if name in ("gb2312", "gbk", "gb18030", "hz"):
        return "gb18030"
    return name


def _visible_sample(text: str) -> str:
    """The page without markup, for the garbled-text checks (markup itself is ASCII)."""
    return re.sub(r"<[^>]{0,2000}>", " ", text)


def _mhtml_html(name: str, data: bytes) -> tuple[bytes, str | None]:
    """The HTML part of an MHTML archive (the one at the snapshot's location) and its charset."""
    try:
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception as exc:  # the email parser raises many kinds on broken input
        raise LoadError(name, _BAD_MHTML) from exc
    if not msg.is_multipart():
        raise LoadError(name, _BAD_MHTML)
    location = (msg.get("Snapshot-Content-Location") or "").strip()
    parts = [p for p in msg.walk() if p.get_content_type() == "text/html"]
    if not parts:
        raise LoadError(name, _BAD_MHTML)
    part = next(
        (p for p in parts if location and (p.get("Content-Location") or "").strip() == location),
        parts[0],
    )
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes) or not payload.strip():
        raise LoadError(name, _BAD_MHTML)
    return payload, part.get_content_charset()


# --- parsing ---------------------------------------------------------------------------------


def _parse(name: str, text: str) -> lxml.html.HtmlElement:
    text = _STRAY_CLOSE_RE.sub("", _XML_DECL_RE.sub("", text))
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False)
    try:
        # libxml2 stops nesting at depth 256, so a deep document cannot exhaust the stack.
        root = lxml.html.document_fromstring(text, parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise LoadError(name, _NOT_HTML) from exc
    count = 0
    for _ in root.iter():
        count += 1
        if count > MAX_ELEMENTS:
            raise LoadError(name, _TOO_BIG.format(n=MAX_ELEMENTS))
    return root


def _norm(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip()


def _squash(text: str) -> str:
    return _SPACE_RE.sub("", text)


def _hidden(el) -> bool:
    return (
        el.get("hidden") is not None
        or (el.get("type") or "").lower() == "hidden"
        or (el.get("aria-hidden") or "").lower() == "true"
        or bool(_HIDDEN_STYLE_RE.search(el.get("style") or ""))
    )


@dataclass
class _Line:
    text: str
    table: int = -1  # index into the data tables when this line stands for one


def _visible_lines(root, data_tables: dict[int, int]) -> list[_Line]:
    """The page's visible text as block lines in document order; a data table is one marker.

    Iterative, so a deep tree cannot exhaust the stack; scripts, styles and hidden elements
    never reach the text.
    """
    lines: list[_Line] = []
    buf: list[str] = []

    def flush() -> None:
        text = _norm("".join(buf))
        buf.clear()
        if text:
            lines.append(_Line(text))

    stack: list[tuple[object, bool]] = [(root, False)]
    while stack:
        el, leaving = stack.pop()
        tag = el.tag if isinstance(el.tag, str) else ""
        if leaving:
            if tag in _BLOCK_TAGS or tag == "br":
                flush()
            if el.tail:
                buf.append(el.tail)
            continue
        if not tag or tag in _SKIP_TAGS or _hidden(el):
            if el.tail:
                buf.append(el.tail)
            continue
        if id(el) in data_tables:
            flush()
            lines.append(_Line("", data_tables[id(el)]))
            if el.tail:
                buf.append(el.tail)
            continue
        if tag in _BLOCK_TAGS or tag == "br":
            flush()
        if el.text:
            buf.append(el.text)
        stack.append((el, True))
        for child in reversed(el):
            stack.append((child, False))
    flush()
    return lines


# --- the page ------------------------------------------------------------------------------


def page_text(name: str, root, *, refresh: bool = False) -> str:
    """Title, date/source line and article paragraphs of a parsed page, "\\n\\n"-separated."""
    tables = _data_tables(root)
    lines = _visible_lines(root, {id(t.element): i for i, t in enumerate(tables)})
    body = _article(root, tables, lines)
    if not any(_is_prose(p) or is_table_row(p) for p in body):
        raise LoadError(name, _REDIRECT if refresh else _NO_ARTICLE)
    title = page_title(root, body)
    if title:
        body = _drop_title(body, title)
    header, used = _header_lines(root, lines, title, body)
    body = [p for k, p in enumerate(body) if k not in used]
    if header:
        keys = {_squash(h) for h in header}
        body = [p for k, p in enumerate(body) if not (k < 3 and _squash(p) in keys and len(p) < 80)]
    head = [t for t in (title, *header) if t]
    return "\n\n".join([*head, *body])


def _drop_title(body: list[str], title: str) -> list[str]:
    """The article's own copy of the title (its first lines, maybe broken by <br>) removed."""
    key = _squash(title)
    out = list(body)
    for k, p in enumerate(body[:3]):
        lines = p.split("\n")
        for n in range(1, len(lines) + 1):
            if _squash("".join(lines[:n])) == key:
                out[k] = "\n".join(lines[n:]).strip()
                return [x for x in out if x]
    return out


def _is_prose(paragraph: str) -> bool:
    """A statement of at least 10 Chinese characters ending in 。！；: menus, footers and
    dialog prompts ("是否确认跳转到登录页？") never have one."""
    return any(
        len(_HAN_RE.findall(s)) >= 10 for s in re.findall(r"[^。！？；!?;]+[。！；!;]", paragraph)
    )


def page_title(root, body: list[str] = ()) -> str:
    """The article's title: the longest heading, meta title or opening article line that
    begins <title>; else <title> without its site/channel suffix; else the first heading."""
    raw = _norm(root.findtext(".//title") or "")
    metas = [_norm(t) for t in _meta_values(root, _TITLE_META_NAMES)]
    headings = []
    for el in root.iter("h1", "h2", "h3"):
        if not _hidden(el):
            t = join_lines(el.text_content().split("\n"))
            if 4 <= len(t) <= 120:
                headings.append(t)
        if len(headings) >= 6:
            break
    for el in root.iter():
        if len(headings) >= 12:
            break
        if isinstance(el.tag, str) and el.tag not in _SKIP_TAGS and not _hidden(el):
            if _TITLE_CLASS_RE.search(f"{el.get('class') or ''} {el.get('id') or ''}"):
                t = join_lines(el.text_content().split("\n"))
                if 4 <= len(t) <= 120:
                    headings.append(t)
    opening = []
    for p in body[:3]:
        lines = [x for x in p.split("\n") if x.strip()]
        opening += [join_lines(lines[:k]) for k in range(1, len(lines) + 1)]
    opening = [t for t in opening if len(t) <= 120]
    sq_raw = _squash(raw)
    best = ""
    for c in [*metas, *headings, *opening]:
        sc = _squash(c)
        if len(sc) >= 4 and sq_raw.startswith(sc) and len(sc) > len(_squash(best)):
            best = c
    if best:
        return best
    stripped = strip_site_suffix(raw) if raw else ""
    if stripped and not _site_like(stripped):
        return stripped
    # <title> names only the site or a channel ("XX网>艺术教育"): take the page's own heading.
    for c in [*metas, *headings]:
        if not _site_like(c):
            return c
    short = [p for p in opening if not p.endswith(("。", "！", "？", "；"))]
    return short[0] if short else stripped


def _site_like(text: str) -> bool:
    """A site or channel name, or a breadcrumb, rather than an article title."""
    t = text.strip()
    return (bool(_SITE_SEGMENT_RE.search(t)) and len(t) <= 12) or ">" in t or "»" in t


def strip_site_suffix(title: str) -> str:
    """'标题_部门动态_XX省人民政府门户网站' -> '标题': drop trailing site and channel segments."""
    parts = [p for p in _TITLE_SEP_RE.split(title) if p.strip()]
    if len(parts) == 1:
        m = _TITLE_LAST_DASH_RE.match(title)
        if m and _SITE_SEGMENT_RE.search(m.group(2).strip()):
            return m.group(1).strip()
        return title.strip()
    while len(parts) > 1:
        last = parts[-1].strip()
        rest = "".join(parts[:-1])
        if _SITE_SEGMENT_RE.search(last) or (len(last) <= 4 and len(rest) >= 8):
            parts.pop()
        else:
            break
    if len(parts) == 1:
        return strip_site_suffix(parts[0]) if _TITLE_LAST_DASH_RE.match(parts[0]) else parts[0]
    return title[: title.find(parts[-1]) + len(parts[-1])].strip()


def _meta_values(root, names: tuple[str, ...]) -> list[str]:
    found: dict[str, str] = {}
    for meta in root.iter("meta"):
        key = (meta.get("name") or meta.get("property") or meta.get("itemprop") or "").lower()
        value = meta.get("content") or ""
        if key in names and value.strip() and key not in found:
            found[key] = value
    return [found[n] for n in names if n in found]


def _header_lines(
    root, lines: list[_Line], title: str, body: list[str]
) -> tuple[list[str], set[int]]:
    """The date/source line between the title and the article (or the page's date meta),
    and the indexes of body paragraphs it was taken from."""
    used: set[int] = set()
    texts = [ln.text for ln in lines]
    first = next((p for p in body if len(_HAN_RE.findall(p)) >= 10), "")
    anchor = _squash(first)[:16]
    start = _find_line(texts, _squash(title), 0) if title else -1
    body_at = _find_line(texts, anchor, max(start, 0)) if anchor else -1
    if body_at < 0:
        window: list[str] = []
    elif 0 <= start < body_at and body_at - start <= 15:
        window = texts[start + 1 : body_at]
    else:
        window = texts[max(0, body_at - 8) : body_at]
    date, label = _date_in(" ".join(window))
    source = _source_in(" ".join(window))
    if not date:
        # Some pages put the labelled date under the article (发布日期：… after the text).
        for k in range(len(body) - 1, max(len(body) - 5, -1), -1):
            if len(body[k]) <= HEADER_LINE_MAX:
                date, label = _date_in(body[k], labelled_only=True)
                if date:
                    used.add(k)
                    break
    if not date and body_at >= 0:
        last = _squash(body[-1])[:16] if body else ""
        end = _find_line(texts, last, body_at) if last else -1
        if end >= 0:
            date, label = _date_in(" ".join(texts[end + 1 : end + 6]), labelled_only=True)
    if not date and not any(len(p) <= HEADER_LINE_MAX and _date_in(p)[0] for p in body[:3]):
        # The page's date meta only when the article does not open with its own date line.
        for value in _meta_values(root, _DATE_META_NAMES):
            date, _ = _date_in(value)
            if date:
                label = "发布时间"
                break
    parts = []
    if date:
        parts.append(f"{label}：{date}" if label else date)
    if source:
        parts.append(source)
    line = " ".join(parts)
    if len(line) <= HEADER_LINE_MAX:
        return ([line] if line else []), used
    return parts, used


def _find_line(texts: list[str], needle: str, start: int) -> int:
    if not needle:
        return -1
    for i in range(max(start, 0), len(texts)):
        if needle in _squash(texts[i]):
            return i
    return -1


def _date_in(text: str, *, labelled_only: bool = False) -> tuple[str, str]:
    for m in _DATE_RE.finditer(text):
        if labelled_only and not m.group(1):
            continue
        return _SPACE_RE.sub(" ", m.group(2)).strip(), m.group(1) or ""
    return "", ""


def _source_in(text: str) -> str:
    m = _SOURCE_RE.search(text)
    return f"{m.group(1)}：{m.group(2)}" if m else ""


# --- the article -----------------------------------------------------------------------------


@dataclass
class _Table:
    element: object
    rows: list[list[str]]
    header_rows: int
    caption: str
    cells: frozenset[str]  # squashed non-empty cell texts, to match the extractor's tables


def _data_tables(root) -> list[_Table]:
    """Innermost tables that hold data (not page layout or link lists), as grids."""
    out = []
    for table in root.iter("table"):
        if _hidden(table):
            continue
        if any(t is not table for t in table.iter("table")):
            continue  # holds another table: page layout
        grid = _grid(table)
        if grid is None:
            continue
        rows, header_rows, caption, links = grid
        width = max((len(r) for r in rows), default=0)
        cells = [c for r in rows for c in r if c]
        if len(rows) < 2 or width < 2 or not cells:
            continue
        if any(len(c) > LAYOUT_CELL_CHARS for c in cells) or links > 0.5 * len(set(cells)):
            continue
        out.append(_Table(table, rows, header_rows, caption, frozenset(_squash(c) for c in cells)))
    return out


def _grid(table) -> tuple[list[list[str]], int, str, int] | None:
    """Rows of cell text with merged cells repeated into every position they cover."""
    rows: list[list[str]] = []
    pending: dict[int, tuple[int, str]] = {}  # column -> (rows still covered, text)
    header_rows = 0
    header_done = False
    links = 0
    n_cells = 0
    for tr in table.iter("tr"):
        if _closest_table(tr) is not table:
            continue
        row: list[str] = []
        col = 0
        cells = [c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]
        all_th = bool(cells) and all(c.tag == "th" for c in cells)
        for cell in cells:
            while col in pending:
                left, text = pending[col]
                row.append(text)
                if left <= 1:
                    del pending[col]
                else:
                    pending[col] = (left - 1, text)
                col += 1
            text = _cell_text(cell)
            if text and cell.find(".//a") is not None and _norm(_links_text(cell)) == text:
                links += 1
            span = _span(cell.get("colspan"))
            down = _span(cell.get("rowspan"))
            for _ in range(span):
                row.append(text)
                if down > 1:
                    pending[col] = (down - 1, text)
                col += 1
            n_cells += span
            if n_cells > MAX_TABLE_CELLS:
                return None
        while col in pending:
            left, text = pending[col]
            row.append(text)
            if left <= 1:
                del pending[col]
            else:
                pending[col] = (left - 1, text)
            col += 1
        if not header_done and all_th:
            header_rows += 1
        elif row:
            header_done = True
        rows.append(row)
    caption_el = table.find("caption")
    caption = _norm(caption_el.text_content()) if caption_el is not None else ""
    return [r for r in rows if any(r)], header_rows, caption, links


def _closest_table(el):
    parent = el.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


def _span(value: str | None) -> int:
    try:
        return min(max(int((value or "1").strip()), 1), MAX_SPAN)
    except ValueError:
        return 1


def _cell_text(cell) -> str:
    return join_lines([ln.text for ln in _visible_lines(cell, {})])


def join_lines(lines: list[str]) -> str:
    """Lines of one cell or title joined: no space between two Chinese characters."""
    out = ""
    for line in (x.strip() for x in lines):
        if not line:
            continue
        if out and not (_CJK_END_RE.search(out) and _CJK_START_RE.match(line)):
            out += " "
        out += line
    return out


def _links_text(cell) -> str:
    return " ".join(a.text_content() for a in cell.iter("a"))


@dataclass
class _Para:
    text: str
    linked: int = 0  # characters of `text` inside links
    table: bool = False  # a table row paragraph, never site chrome


def _article(root, tables: list[_Table], lines: list[_Line]) -> list[str]:
    """Article paragraphs from trafilatura's XML, with data tables as row paragraphs."""
    import trafilatura

    tree = copy.deepcopy(root)
    _prepare(tree)
    xml = trafilatura.extract(
        tree,
        output_format="xml",
        include_tables=True,
        include_comments=False,
        include_images=False,
        include_links=True,
        deduplicate=False,
        with_metadata=False,
    )
    if not xml:
        return []
    try:
        doc = lxml.etree.fromstring(xml.encode("utf-8"))
    except lxml.etree.XMLSyntaxError:
        return []
    main = doc.find("main")
    if main is None:
        return []
    blocks: list[_Para | int] = []  # a paragraph, or the index of a data table
    used: set[int] = set()
    for el in main:
        _blocks_of(el, blocks, tables, used)
    _insert_dropped_tables(blocks, tables, used, lines)
    out: list[str] = []
    seen: set[str] = set()
    for b in blocks:
        if isinstance(b, int):
            t = tables[b]
            out.extend(
                table_paragraphs(t.rows, caption=t.caption, header_rows=t.header_rows or None)
            )
            continue
        p = _tidy(b.text)
        key = _squash(p)
        if b.table:
            out.append(p)
            continue
        p = "\n".join(x for x in p.split("\n") if not is_chrome(x))
        key = _squash(p)
        if not key:
            continue
        if len(key) <= LINK_ONLY_MAX and b.linked >= 0.9 * len(_squash(b.text)):
            continue  # a menu item or a related-article title
        if len(key) >= 20 and key in seen:
            continue  # the same paragraph again (desktop and mobile copies of the article)
        seen.add(key)
        out.append(p)
    return out


_NO_WRAP = frozenset("table tbody thead tfoot tr ul ol dl select head html".split())


def _prepare(tree) -> None:
    """Give text that sits between block elements its own <p>, as a browser gives it an
    anonymous block box. Word-made pages leave sentences in bare <font>/<span> runs between
    paragraphs (often cut at a number: "投入</p><font>100</font>万…"), and the extractor
    reads only paragraph-like elements. An inline element or a <p> that holds blocks is a
    container, so it becomes a <div> first (children before their parents)."""
    elements = list(tree.iter())
    for el in reversed(elements):
        tag = el.tag if isinstance(el.tag, str) else ""
        if not tag or (tag in _BLOCK_TAGS and tag != "p") or tag in _SKIP_TAGS or tag in _NO_WRAP:
            continue
        if any(isinstance(c.tag, str) and c.tag in _BLOCK_TAGS for c in el):
            el.tag = "div"
    for parent in elements:
        tag = parent.tag if isinstance(parent.tag, str) else ""
        if not tag or tag in _NO_WRAP or tag in _SKIP_TAGS or tag == "p":
            continue
        children = list(parent)
        if any(isinstance(c.tag, str) and c.tag in _BLOCK_TAGS for c in children):
            _wrap_runs(parent, children)


def _wrap_runs(parent, children: list) -> None:
    run: list = []  # inline elements since the last block child
    lead = parent.text  # text before the run: parent.text or the last block's tail
    owner = None  # the block element whose tail `lead` is
    for child in [*children, None]:
        tag = child.tag if child is not None and isinstance(child.tag, str) else ""
        if child is not None and tag not in _BLOCK_TAGS and tag not in _SKIP_TAGS and tag != "br":
            run.append(child)
            continue
        text = (lead or "") + "".join(
            lxml.etree.tostring(e, method="text", encoding="unicode", with_tail=True) for e in run
        )
        if len(_squash(text)) >= 2 and _HAN_RE.search(text):
            para = lxml.html.Element("p")
            para.text = lead
            if owner is None:
                parent.text = None
            else:
                owner.tail = None
            if run:
                at = parent.index(run[0])
            else:
                at = parent.index(owner) + 1 if owner is not None else 0
            for e in run:
                para.append(e)  # moves the element, with its tail, into the paragraph
            parent.insert(at, para)
        if child is not None:
            run, lead, owner = [], child.tail, child


class _Text:
    """Text being collected for one paragraph, with how much of it is link text."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.linked = 0

    def add(self, text: str, link: bool) -> None:
        self.parts.append(text)
        if link:
            self.linked += len(_squash(text))

    def flush(self, blocks: list) -> None:
        text = "".join(self.parts)
        if _squash(text):
            blocks.append(_Para(text, self.linked))
        self.parts.clear()
        self.linked = 0


def _blocks_of(el, blocks: list, tables: list[_Table], used: set[int]) -> None:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag == "table":
        _table_blocks(el, blocks, tables, used)
    elif tag == "list":
        for item in el:
            _blocks_of(item, blocks, tables, used)
    elif tag not in ("graphic", "comments"):
        text = _Text()
        _inline(el, text, blocks, tables, used, tag == "ref")
        text.flush(blocks)


def _inline(
    el, text: _Text, blocks: list, tables: list[_Table], used: set[int], link: bool
) -> None:
    """Text of `el`; nested block children (a cell's paragraphs) become their own blocks."""
    if el.text:
        text.add(el.text, link)
    for child in el:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "lb":
            text.add("\n", False)
        elif tag in ("p", "head", "list", "table", "quote", "item"):
            text.flush(blocks)
            _blocks_of(child, blocks, tables, used)
        else:
            _inline(child, text, blocks, tables, used, link or tag == "ref")
        if child.tail:
            text.add(child.tail, link)


def _table_blocks(el, blocks: list, tables: list[_Table], used: set[int]) -> None:
    """A data table found in the page's DOM replaces the extractor's copy (which loses
    merged cells); a layout table's cells become ordinary paragraphs."""
    cells = [c for row in el.iter("row") for c in row if c.tag == "cell"]
    texts = frozenset(_squash("".join(c.itertext())) for c in cells) - {""}
    best, score = -1, 0.0
    for i, t in enumerate(tables):
        if i in used or not texts:
            continue
        s = len(texts & t.cells) / len(texts | t.cells)
        if s > score:
            best, score = i, s
    if best >= 0 and score >= 0.5:
        used.add(best)
        blocks.append(best)
        return
    layout = any(
        len(_squash("".join(c.itertext()))) > LAYOUT_CELL_CHARS or c.find("p") is not None
        for c in cells
    )
    rows = [
        [_norm("".join(c.itertext())) for c in row if c.tag == "cell"] for row in el.iter("row")
    ]
    full_rows = sum(1 for r in rows if sum(1 for c in r if c) >= 2)
    if layout or full_rows < 2:
        for c in cells:
            _blocks_of(c, blocks, tables, used)
        return
    blocks.extend(_Para(p, table=True) for p in table_paragraphs(rows))


def _insert_dropped_tables(blocks: list, tables: list[_Table], used: set[int], lines) -> None:
    """Put back data tables the extractor left out, next to the article text around them."""
    for i in range(len(tables)):
        if i in used:
            continue
        at = next((k for k, ln in enumerate(lines) if ln.table == i), -1)
        if at < 0:
            continue
        paras = [
            (k, _squash(b.text))
            for k, b in enumerate(blocks)
            if isinstance(b, _Para) and _squash(b.text)
        ]
        place = -1
        for ln in lines[at + 1 : at + 6]:
            key = _squash(ln.text)[:30]
            if len(key) >= 6:
                place = next((k for k, p in paras if key in p), -1)
                if place >= 0:
                    break
        if place < 0:
            for ln in reversed(lines[max(0, at - 5) : at]):
                key = _squash(ln.text)[-30:]
                if len(key) >= 6:
                    hit = next((k for k, p in paras if key in p), -1)
                    if hit >= 0:
                        place = hit + 1
                        break
        if place >= 0:
            blocks.insert(place, i)
            used.add(i)


def _tidy(paragraph: str) -> str:
    lines = [_norm(x) for x in paragraph.split("\n")]
    return "\n".join(x for x in lines if x)


def is_chrome(paragraph: str) -> bool:
    """Site chrome: a toolbar, breadcrumb, pager, share prompt, copyright or ICP line."""
    p = _norm(paragraph)
    if _TOOLBAR_RE.match(p) or _BREADCRUMB_RE.match(p) or _PAGER_RE.match(p):
        return True
    if _URL_ONLY_RE.match(p):
        return True
    items = [x for x in _NAV_SEP_RE.split(p) if x]
    if len(re.findall("[|｜]", p)) >= 3 and all(len(x) <= 8 for x in items):
        return True  # a menu: 首页|要闻|政务公开|…
    if _CHROME_START_RE.match(p) and len(p) <= 30:
        return True
    if _FOOTER_RE.search(p) and len(p) <= 150 and not p.endswith(("。", "！", "？")):
        return True
    if len(_CONTACT_RE.findall(p)) >= 2 and len(p) <= 150 and not p.endswith(("。", "！", "？")):
        return True
    # Text in private-use code points is an icon font, never prose.
    return bool(p) and all(unicodedata.category(ch) in ("Co", "Zs") for ch in p)
