"""The offline answerer: an answer quoted sentence by sentence from the retrieved passages.

No model writes anything here. The question's content words (weighted by how specific they
are), the numbers a 多少/几/比例 question asks for, and the named region select sentences of
the passages; each is quoted with its `[n]`. When the question's specific terms occur in no
passage the answer says so instead of quoting something loosely related.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.answers import OFFLINE, OFFLINE_LABEL, OFFLINE_NOT_FOUND_LABEL, Draft
from assistant.types import Passage
from assistant.wordseg import keywords as _wordseg_keywords

# A missing term at least this specific (jieba IDF; unknown words count as very specific)
# means the reports do not hold the answer.
SPECIFIC_IDF = 7.0
MIN_COVERAGE = 0.5
MAX_SENTENCE_CHARS = 180
SHORT_SENTENCE = 20
FOCUS_BONUS = 0.2

# Words that say what kind of answer is wanted, not what it is about.
_ANSWER_TYPE = re.compile(
    r"多少|多大|几|多高|多长|多久|比例|占比|比率|百分之|数量|人数|规模|哪些|怎样|如何"
)
# Nouns that name the kind of answer (“有哪些经验”) and match every passage equally.
_GENERIC = re.compile(r"经验|做法|举措|措施|方法|办法|情况|特点|亮点|工作|内容|方面|问题|有效")
_QUANTITY = re.compile(
    r"多少|几[个名家次项人户条件所座支场期村套批类处年天]|几次|多大|多高|多长|多久|比例|占比|比率|百分之|数量|人数|面积|金额|规模"
)
_UNIT_AFTER = re.compile(
    r"(?:多少|几)\s*(平方米|人次|万元|亿元|余人|[个名家次项人户元条件所座支场期村套册张岁年天亩吨批类处间级星])"
)
_QUOTED = re.compile(r"[“「『\"《]([^”」』\"》]{2,12})[”」』\"》]")
# Sentence ends: Chinese and ASCII marks, and an English full stop before a space.
_SENT_SPLIT = re.compile(r"(?:[^。！？!?；;\n.]|\.(?!\s|$))+(?:[。！？!?；;]+|\.(?=\s|$))?")
_CLAUSE_SPLIT = re.compile(r"[^,，]+[,，]?")
_NUM_UNIT = r"\d+(?:\.\d+)?\s*(?:余|多)?\s*(?:{units})"
_ANY_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SPACE_IN_CJK = re.compile(
    r"(?<=[\u4e00-\u9fff])[ \t\u3000]+(?=[\u4e00-\u9fff\d])|(?<=[\d%])[ \t\u3000]+(?=[\u4e00-\u9fff])"
)
# Text that addresses the assistant rather than reporting on Party building.
_INSTRUCTION = re.compile(
    r"忽略(以上|上述|之前|前面|此前|所有)|系统提示词?|提示词|API\s*密钥|api[\s_-]*key|密钥|"
    r"ignore\s+(all\s+)?(the\s+)?(previous|above|prior)|system\s+prompt|instructions?\b",
    re.IGNORECASE,
)
_HEADING_MARK = re.compile(
    r"^\s*(?:[(（][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+是|\d+[、.])"
)
_NUMBER_TERM = re.compile(r"^\d+(?:\.\d+)?$")


@lru_cache(maxsize=1)
def _idf_table() -> tuple[dict[str, float], float]:
    import jieba.analyse

    tfidf = jieba.analyse.default_tfidf
    return tfidf.idf_freq, tfidf.median_idf


_idf_lock = threading.Lock()


def general_idf(word: str) -> float:
    """How specific a word is in general Chinese; words jieba does not know are specific."""
    with _idf_lock:
        table, median = _idf_table()
    return min(max(table.get(word, median), 2.0), 12.0)


def squash_spaces(text: str) -> str:
    """Drop layout spaces between Chinese characters and numbers ("57 家" -> "57家")."""
    return _SPACE_IN_CJK.sub("", text)


def _norm(text: str) -> str:
    return squash_spaces(unicodedata.normalize("NFKC", text)).lower()


# ---- the question ------------------------------------------------------------------------


@dataclass
class Terms:
    """What a question is about: weighted content terms, the wanted unit, named regions."""

    question: str
    keywords: list[str]
    quoted: list[str]
    quantity: bool
    units: list[str]
    regions: list[str] = field(default_factory=list)

    @property
    def all_terms(self) -> list[str]:
        return list(dict.fromkeys([*self.quoted, *self.keywords]))

    def unit_pattern(self) -> re.Pattern[str] | None:
        if not self.units:
            return None
        units = "|".join(re.escape(u) for u in sorted(self.units, key=len, reverse=True))
        return re.compile(_NUM_UNIT.format(units=units))


def analyze(
    question: str,
    region_names: dict[str, str] | None = None,
    keywords: Callable[[str], list[str]] | None = None,
) -> Terms:
    """Split a question into content terms, the answer type, and the regions it names."""
    names = region_names or {}
    q = unicodedata.normalize("NFKC", question)
    regions: list[str] = []
    for name in sorted(names, key=len, reverse=True):
        if name and name in q:
            if names[name] not in regions:
                regions.append(names[name])
            q = q.replace(name, " ")
    quoted = [m.group(1).strip() for m in _QUOTED.finditer(q) if m.group(1).strip()]
    words = (keywords or _wordseg_keywords)(q)
    kept: list[str] = []
    for w in words:
        w = w.strip()
        if not w or w in names or _ANSWER_TYPE.search(w) or _GENERIC.fullmatch(w):
            continue
        if w not in kept:
            kept.append(w)
    units = [m.group(1) for m in _UNIT_AFTER.finditer(q)]
    if re.search(r"比例|占比|比率|百分之|覆盖率|率是", q):
        units.append("%")
    if "面积" in q and not units:
        units += ["平方米", "㎡"]
    if re.search(r"多少钱|资金|经费|金额", q) and not units:
        units += ["万元", "亿元", "元"]
    if units and "个" in units:
        units.append("家")
    quantity = bool(_QUANTITY.search(q)) or bool(units)
    return Terms(
        question=question,
        keywords=kept,
        quoted=quoted,
        quantity=quantity,
        units=units,
        regions=regions,
    )


# ---- matching ----------------------------------------------------------------------------


# Word-forming suffixes: a term without them still names the same thing.
_SUFFIXES = "化性式型"


def _bigrams(word: str) -> list[str]:
    return [word[i : i + 2] for i in range(len(word) - 1)]


def credit(term: str, text: str) -> float:
    """1 when `term` occurs in `text`; partial credit when most of its character pairs do."""
    if _NUMBER_TERM.match(term):
        return 1.0 if re.search(rf"(?<![\d.]){re.escape(term)}(?![\d])", text) else 0.0
    if term in text:
        return 1.0
    if len(term) >= 3 and term[-1] in _SUFFIXES and term[:-1] in text:
        return 0.8  # “网格化” is about 网格 too; “规范化” about 规范
    grams = _bigrams(term)
    if len(term) < 3 or not grams:
        return 0.0
    share = sum(1 for g in grams if g in text) / len(grams)
    return round(0.7 * share, 3) if share >= 0.5 else 0.0


def weights(terms: Terms, texts: Sequence[str]) -> dict[str, float]:
    """Term weights: general specificity, damped for terms found in most of the passages
    (in these reports 党组织 or 基层 say little about which passage answers)."""
    out: dict[str, float] = {}
    n = len(texts)
    for term in terms.all_terms:
        if _NUMBER_TERM.match(term):
            base = 10.0
        elif term in terms.quoted:
            base = 12.0
        else:
            base = general_idf(term)
        if n >= 3:
            share = sum(1 for t in texts if term in t) / n
            base *= 1.0 - 0.6 * share
        out[term] = base
    return out


def coverage(w: dict[str, float], text: str) -> float:
    total = sum(w.values())
    if total <= 0:
        return 0.0
    return sum(weight * credit(term, text) for term, weight in w.items()) / total


def missing_specific(terms: Terms, texts: Sequence[str]) -> list[str]:
    """Specific terms (or numbers) of the question that occur in none of the texts."""
    missing = []
    for term in terms.all_terms:
        best = max((credit(term, t) for t in texts), default=0.0)
        if best >= 0.5:
            continue
        if _NUMBER_TERM.match(term) or term in terms.quoted or general_idf(term) >= SPECIFIC_IDF:
            missing.append(term)
    return missing


# ---- sentences ---------------------------------------------------------------------------


@dataclass
class Pick:
    """A sentence chosen to quote: which passage (1-based n), the text, and why."""

    n: int
    passage: Passage
    text: str
    score: float
    order: int  # position in the passage, to keep reading order within one passage


def sentences_of(text: str) -> list[str]:
    return [s.strip() for s in _SENT_SPLIT.findall(text) if len(s.strip()) >= 4]


def _trim(sentence: str, w: dict[str, float], unit_re: re.Pattern[str] | None) -> str:
    """A long sentence shortened to its best run of clauses, marked with ……."""
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return sentence
    clauses = _CLAUSE_SPLIT.findall(sentence)
    best, best_score = sentence[:MAX_SENTENCE_CHARS], -1.0
    for i in range(len(clauses)):
        run = ""
        for j in range(i, len(clauses)):
            if len(run) + len(clauses[j]) > MAX_SENTENCE_CHARS and run:
                break
            run += clauses[j]
            score = coverage(w, _norm(run)) + (0.3 if unit_re and unit_re.search(run) else 0)
            if score > best_score:
                best, best_score = run, score
    best = best.strip().rstrip(",，")
    prefix = "" if sentence.startswith(best) else "……"
    suffix = "" if sentence.rstrip("。；;").endswith(best.rstrip("。；;")) else "……"
    return prefix + best + suffix


def score_sentence(
    terms: Terms, w: dict[str, float], sentence: str, focus: Sequence[str] = ()
) -> float:
    """Weighted share of the question's terms in the sentence, plus a bonus for its most
    specific terms and, for 多少/几 questions, for a number with the asked unit."""
    norm = _norm(sentence)
    score = coverage(w, norm)
    if focus:
        score += FOCUS_BONUS * max(credit(t, norm) for t in focus)
    if len(_HEADING_MARK.sub("", norm)) < SHORT_SENTENCE:
        score *= 0.6  # headings such as “三是阵地建设高效。” say little on their own
    if terms.quantity:
        unit_re = terms.unit_pattern()
        if unit_re is not None and unit_re.search(norm):
            score += 0.35
        elif _ANY_NUMBER.search(norm):
            score += 0.1
        else:
            score -= 0.15
    return score


def pick_sentences(
    terms: Terms,
    passages: Sequence[Passage],
    *,
    limit: int,
    numbering: Sequence[int] | None = None,
    w: dict[str, float] | None = None,
    floor: float = 0.3,
    relative: float = 0.6,
) -> list[Pick]:
    """The best sentences of the passages for these terms, at most `limit`.

    Besides the best one, a sentence is only quoted when it carries one of the question's
    focus terms (the most specific ones), so related-sounding filler stays out.
    """
    numbering = list(numbering or range(1, len(passages) + 1))
    w = w if w is not None else weights(terms, [_norm(p.chunk.text) for p in passages])
    focus = focus_terms(w)
    unit_re = terms.unit_pattern()
    picks: list[Pick] = []
    seen: set[str] = set()
    for rank, (n, p) in enumerate(zip(numbering, passages, strict=True)):
        sentences = sentences_of(p.chunk.text)
        for order, sentence in enumerate(sentences):
            key = _norm(sentence)
            if key in seen or _INSTRUCTION.search(sentence) or _is_heading(key, p):
                continue
            seen.add(key)
            score = score_sentence(terms, w, sentence, focus) + 0.03 / (1 + rank)
            text = _trim(sentence, w, unit_re)
            following = sentences[order + 1] if order + 1 < len(sentences) else ""
            if len(_HEADING_MARK.sub("", key)) < SHORT_SENTENCE and following:
                # “实施‘头雁工程’。” says what, the next sentence says how: quote both.
                if not _INSTRUCTION.search(following):
                    text = sentence + _trim(following, w, unit_re)
            picks.append(Pick(n=n, passage=p, text=text, score=score, order=order))
    if not picks:
        return []
    picks.sort(key=lambda k: -k.score)
    top = picks[0].score
    chosen = [
        k
        for i, k in enumerate(picks)
        if k.score >= max(floor, relative * top)
        and (i == 0 or not focus or any(credit(t, _norm(k.text)) >= 0.3 for t in focus))
    ][:limit]
    return chosen or picks[:1]


def _is_heading(sentence: str, passage: Passage) -> bool:
    """The section heading repeated as the passage's first sentence."""
    core = sentence.rstrip("。；;！!？?").strip()
    return len(core) < 30 and bool(core) and core in _norm(passage.chunk.section)


def focus_terms(w: dict[str, float], share: float = 0.6) -> list[str]:
    """The terms weighing at least `share` of the heaviest one."""
    if not w:
        return []
    top = max(w.values())
    return [t for t, v in w.items() if v >= share * top]


def quote(text: str) -> str:
    """A sentence as it appears in an answer: layout spaces gone, nothing else changed."""
    return squash_spaces(text.strip())


# ---- the answerer ------------------------------------------------------------------------


@dataclass
class Judgement:
    found: bool
    missing: list[str]
    coverage: float


def judge(terms: Terms, passages: Sequence[Passage]) -> Judgement:
    """Do these passages hold the answer? All specific terms present, most weight covered."""
    if not passages:
        return Judgement(False, terms.all_terms, 0.0)
    texts = [_norm(p.chunk.text) for p in passages]
    if not terms.all_terms:
        return Judgement(True, [], 1.0)
    missing = missing_specific(terms, texts)
    w = weights(terms, texts)
    union = " ".join(texts)
    cov = coverage(w, union)
    found = not missing and cov >= MIN_COVERAGE
    if not found and not missing:
        # Name what is absent rather than every term of the question.
        missing = [t for t in terms.all_terms if credit(t, union) < 0.5]
    return Judgement(found, missing, cov)


def not_found_text(terms: Terms, missing: Sequence[str], regions: Sequence[str]) -> str:
    shown = list(missing) or terms.all_terms
    about = f"关于“{'、'.join(shown[:4])}”的内容" if shown else "与该问题相关的内容"
    where = f"（已检索{'、'.join(regions)}的报告）" if regions else "（已检索全部报告）"
    return f"报告中未找到{about}{where}。"


class OfflineAnswerer:
    """Quotes the passages; labelled as the offline extract wherever it appears."""

    name = OFFLINE

    def __init__(
        self,
        region_names: dict[str, str] | None = None,
        keywords: Callable[[str], list[str]] | None = None,
        max_sentences: int = 4,
    ) -> None:
        self.region_names = region_names or {}
        self.keywords = keywords
        self.max_sentences = max_sentences

    def analyze(self, question: str) -> Terms:
        return analyze(question, self.region_names, self.keywords)

    def answer(
        self,
        question: str,
        passages: list[Passage],
        *,
        regions: list[str] | None = None,
        style: str = "",
        on_token: Callable[[str], None] | None = None,
    ) -> Draft:
        terms = self.analyze(question)
        wanted = list(regions or terms.regions)
        pool = [
            (i, p)
            for i, p in enumerate(passages, start=1)
            if not wanted or p.chunk.region in wanted
        ]
        if not pool:
            pool = list(enumerate(passages, start=1)) if not wanted else []
        verdict = judge(terms, [p for _, p in pool])
        if not verdict.found:
            text = f"{OFFLINE_NOT_FOUND_LABEL}\n\n{not_found_text(terms, verdict.missing, wanted)}"
            return _emit(
                Draft(text=text, answerer=OFFLINE, found=False, require_citation=False), on_token
            )
        limit = 3 if terms.quantity else self.max_sentences
        picks = pick_sentences(
            terms, [p for _, p in pool], limit=limit, numbering=[i for i, _ in pool]
        )
        if not picks:
            text = f"{OFFLINE_NOT_FOUND_LABEL}\n\n{not_found_text(terms, [], wanted)}"
            return _emit(
                Draft(text=text, answerer=OFFLINE, found=False, require_citation=False), on_token
            )
        text = f"{OFFLINE_LABEL}\n\n{render_picks(picks)}"
        return _emit(
            Draft(text=text, answerer=OFFLINE, found=True, require_citation=False), on_token
        )


def render_picks(picks: Sequence[Pick]) -> str:
    """One line per quoted sentence, grouped by region (in order of first appearance)."""
    by_region: dict[str, list[Pick]] = {}
    for k in picks:
        by_region.setdefault(k.passage.chunk.region or "（未标注地区）", []).append(k)
    lines = []
    for region, group in by_region.items():
        for k in group:
            lines.append(f"- **{region}**：{quote(k.text)}[{k.n}]")
    return "\n".join(lines)


def _emit(draft: Draft, on_token: Callable[[str], None] | None) -> Draft:
    if on_token is not None:
        on_token(draft.text)
    return draft


def figures(text: str, limit: int = 3) -> list[str]:
    """Key figures of a sentence: numbers with their units (46个, 94.48%, 1300余名)."""
    found = re.findall(
        r"\d+(?:\.\d+)?\s*(?:余|多)?\s*(?:平方米|人次|万元|亿元|万余?[个名人元册张套件]?|%|[个名家次项人户元条件所座支场期村套册张岁亩吨批类处间级])",
        squash_spaces(unicodedata.normalize("NFKC", text)),
    )
    out: list[str] = []
    for f in found:
        f = f.replace(" ", "")
        if f not in out and not re.fullmatch(r"\d{4}年?", f):
            out.append(f)
    return out[:limit]
