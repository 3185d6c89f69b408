"""Main-content extraction of saved Chinese web pages: body kept, boilerplate dropped.

    .venv/bin/python -m bench.html_extract                 # the annotated fixtures
    .venv/bin/python -m bench.html_extract --heldout DIR   # + a checkout of
        immortal-autumn/Chinese-Web-Content-Extraction-Dataset (original/*.html with
        hand-cut cleaned/*.txt), minus the pages that are fixtures

Fixtures (tests/fixtures/html/annotations.json): recall of hand-marked body sentences and
the share of hand-marked boilerplate strings (menus, related links, toolbars, footers)
that is gone. Held-out pages: recall of the dataset's body sentences and precision (share
of output characters, in sentence segments, found in the dataset's body text).
readability-lxml is compared only when it is installed (`pip install readability-lxml`).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from assistant import html_loading
from assistant.loading import LoadError

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "html"
_HAN = re.compile(r"[\u4e00-\u9fff]")
_SEGMENT = re.compile(r"[\n|。！？；]")


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text or "")


def sentences(text: str) -> list[str]:
    """Whole sentences with at least 10 Chinese characters (titles and bylines are not)."""
    out = []
    for line in text.split("\n"):
        for s in re.findall(r"[^。！？!?]*[。！？!?][”’」』）)]*", line):
            if len(_HAN.findall(s)) >= 10:
                out.append(s.strip())
    return list(dict.fromkeys(out))


def _decoded(data: bytes) -> str:
    text = html_loading.decode_html("page.html", data)
    return html_loading._STRAY_CLOSE_RE.sub("", html_loading._XML_DECL_RE.sub("", text))


def _trafilatura(data: bytes) -> str:
    import trafilatura

    return trafilatura.extract(_decoded(data), include_tables=True, include_comments=False) or ""


def _readability(data: bytes) -> str:
    import lxml.html
    from readability import Document

    summary = Document(_decoded(data)).summary(html_partial=True)
    doc = lxml.html.fromstring(summary)
    for el in doc.iter():
        if isinstance(el.tag, str) and el.tag in ("p", "div", "br", "li", "tr", "td", "h1", "h2"):
            el.tail = "\n" + (el.tail or "")
    return doc.text_content()


def _ours(data: bytes) -> str:
    try:
        return html_loading.read("page.html", data, max_chars=10**7, max_bytes=10**8).text
    except LoadError:
        return ""


def extractors() -> dict[str, Callable[[bytes], str]]:
    out = {
        "trafilatura (plain)": _trafilatura,
        "html_loading": _ours,
    }
    try:
        import readability  # noqa: F401

        out["readability-lxml"] = _readability
    except ImportError:
        pass
    return out


def fixtures_report(names: dict[str, Callable[[bytes], str]]) -> None:
    ann = json.loads((FIXTURES / "annotations.json").read_text(encoding="utf-8"))
    print(f"Fixtures: {len(ann)} pages, tests/fixtures/html")
    for label, fn in names.items():
        got = total = leaked = marks = 0
        macro_r, lost, t0 = [], 0, time.perf_counter()
        for name, a in ann.items():
            out = squash(fn((FIXTURES / name).read_bytes()))
            g = sum(1 for s in a["body"] if squash(s) in out)
            b = sum(1 for s in a["boilerplate"] if squash(s) in out)
            got, total = got + g, total + len(a["body"])
            leaked, marks = leaked + b, marks + len(a["boilerplate"])
            macro_r.append(g / len(a["body"]))
            lost += g == 0
        print(
            f"  {label:34s} body sentences kept {got}/{total} = {got / total:.3f}"
            f" (per page {statistics.mean(macro_r):.3f}), boilerplate dropped"
            f" {marks - leaked}/{marks} = {1 - leaked / marks:.3f}, pages with no body {lost},"
            f" {time.perf_counter() - t0:.1f}s"
        )


def heldout_report(root: Path, names: dict[str, Callable[[bytes], str]]) -> None:
    ann = json.loads((FIXTURES / "annotations.json").read_text(encoding="utf-8"))
    used = {Path(a["source"]["path"]).stem for a in ann.values()}
    pages = []
    for page in sorted((root / "original").glob("*.html")):
        gold_file = root / "cleaned" / f"{page.stem}.txt"
        if page.stem in used or not gold_file.exists():
            continue
        gold = gold_file.read_text(encoding="utf-8", errors="replace")
        data = page.read_bytes()
        try:
            visible = squash(_readability_free_text(data))
        except LoadError:
            continue  # refused pages count in the fixtures report, not here
        body = [s for s in sentences(gold) if squash(s) in visible]
        if len(body) >= 3:
            pages.append((data, squash(gold), body))
    print(f"Held out: {len(pages)} pages with >= 3 body sentences, {root}")
    for label, fn in names.items():
        recalls, precisions = [], []
        for data, gold, body in pages:
            out = fn(data)
            q = squash(out)
            recalls.append(sum(1 for s in body if squash(s) in q) / len(body))
            segs = [squash(x) for x in _SEGMENT.split(out) if len(squash(x)) >= 4]
            chars = sum(map(len, segs))
            precisions.append(sum(len(x) for x in segs if x in gold) / chars if chars else 0.0)
        print(
            f"  {label:34s} recall {statistics.mean(recalls):.3f}, precision"
            f" {statistics.mean(precisions):.3f}, pages < 50% recall"
            f" {sum(r < 0.5 for r in recalls)}, pages with no body {sum(r == 0 for r in recalls)}"
        )


def _readability_free_text(data: bytes) -> str:
    """All visible text of a page (to keep only gold sentences that the page really has)."""
    root = html_loading._parse("page.html", _decoded(data))
    return "\n".join(ln.text for ln in html_loading._visible_lines(root, {}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--heldout", type=Path, help="checkout with original/ and cleaned/")
    args = parser.parse_args()
    names = extractors()
    fixtures_report(names)
    if args.heldout:
        heldout_report(args.heldout, names)


if __name__ == "__main__":
    main()
