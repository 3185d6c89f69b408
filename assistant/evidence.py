"""How strongly retrieved passages support a question: evidence scores, calibrated thresholds.

Chinese paraphrases rarely share whole words ("建了" vs "新建") but they do share characters,
so lexical evidence is the share of the question's character bigrams found in a passage,
each weighted by how rare it is in the indexed corpus (the library itself says which pairs
are telling). Dense similarity from the embedding model is the second signal. Both feed one
score per passage; thresholds on it (data in `calibration.json`, with the question sets and
split they were fitted on) decide "strong" (answer), "moderate" (answer, flagged as possibly
only related) and "weak" (say it was not found).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from assistant.types import Passage

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")

STRONG = "strong"
MODERATE = "moderate"
WEAK = "weak"

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_ALNUM = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_YEAR = re.compile(r"^(?:19|20)\d\d$")

# Words that ask (多少, 哪些, 怎样 …) or only frame a question (请问, 介绍一下, 各地, 那篇文章
# 认为, 报告中提到): they say what kind of answer is wanted, not what it is about, so they
# never count as evidence. This
# is ordinary Chinese question grammar, matched against whole jieba words, not vocabulary of
# any report.
QUESTION_WORDS = frozenset(
    """请问 请 介绍 介绍一下 一下 说说 讲讲 谈谈 概括 总结 告诉 我 我们 想 知道 了解 想要
    有 哪些 哪个 哪几个 哪家 哪位 哪里 哪儿 哪 什么 什么样 怎么样 怎样 怎么 如何 为什么 为何
    是否 有没有 是不是 能否 可否 多少 多大 多高 多长 多久 多远 几 几个 几项 几次 几名 几家
    分别 具体 主要 一共 共计 总共 大约 大概 约 吗 呢 吧 啊 呀 么 的 了 着 过 是 在 和 与 及
    或 对 把 被 将 从 于 等 都 也 又 还 就 方面 情况 做法 经验 举措 措施 办法 方法 工作
    各地 各区 各县 各市 各个 各 地区 地方 有关 相关 哪些地方 哪些地区 比较 对比 异同 分别是
    报告 报告中 文章 篇文章 文中 资料 这篇 那篇 该文 本文 一文 篇 提到 提及 提出 谈到 谈 讲到
    说到 写到 认为 指出 表示 根据 按照 据 东西 事情 事儿 一些 这些 那些 这个 那个
    多少钱 啥 要是 如果 假如 的话""".split()
)
# "哪个县/哪些城市": the place-type noun after the question word is part of the question.
_WHICH_PLACE = re.compile(
    r"(?:哪|哪个|哪些|哪几个|什么)(?:地方|地区|城市|省份|省|市|县|区|旗|乡镇|镇|村)"
)
_SPLIT = "\u2002"
_SENTENCE = re.compile(
    r"[^。！？!?；;\n]+[。！？!?；;]?"
)  # stands where a removed word was, so no bigram spans the gap


@dataclass(frozen=True)
class Thresholds:
    """Calibrated decision values (see calibration.json for where they come from)."""

    sentence_weight: float = 0.5  # share of the score from the best single sentence
    char_weight: float = 0.0  # share of the lexical part from character coverage
    dense_weight: float = 1.0
    dense_center: float = 0.85
    strong: float = 0.55
    weak: float = 0.35
    dense_only_strong: float = 0.86  # questions with no Chinese content (e.g. English)
    dense_only_weak: float = 0.83
    # A region (or document) of a comparison covers the theme from this score up; fitted on
    # cross questions, so the theme's gold documents are kept (never above `weak`).
    region_weak: float = 0.35


def theme_thresholds(t: Thresholds) -> Thresholds:
    """`t` for judging whether a report covers a theme at all (`region_weak`): shared words
    only. Shared characters lift every report of the same field (党, 组, 建 are in all of
    them), so they help a paraphrased question find its passage but cannot tell a report
    that treats the theme from one that does not."""
    return replace(t, char_weight=0.0)


@lru_cache(maxsize=1)
def thresholds() -> Thresholds:
    """The shipped calibration; defaults when the file is missing or unreadable."""
    try:
        data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
        values = data.get("thresholds", {})
        return Thresholds(
            **{k: float(v) for k, v in values.items() if k in Thresholds.__annotations__}
        )
    except (OSError, ValueError, TypeError):
        return Thresholds()


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def grams(text: str) -> set[str]:
    """Character bigrams of every Chinese run, plus Latin words and numbers as they are,
    and numbers written in Chinese before a unit as digits too (一百岁 gives 100, as
    100周岁 does): a question and a report write the same figure either way."""
    text = normalize(text)
    out: set[str] = set()
    for run in _CJK_RUN.findall(text):
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    out.update(_ALNUM.findall(text))
    for m in _CN_NUMBER.finditer(text):
        value = cn_number(m.group(1))
        if value is not None and value >= 2:
            out.add(str(value))
    return out


_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_NUMBER = re.compile(
    r"(?<![零〇一二两三四五六七八九十百千万])([零〇一二两三四五六七八九十百千万]+)"
    r"(?=[岁周年个月日天名位人户元家次项条倍所座支场期村])"
)


def cn_number(text: str) -> int | None:
    """一百 -> 100, 三十五 -> 35, 两千 -> 2000, 十二万 -> 120000; None if not a number."""
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            if digit is not None:
                return None  # 一二 is not a number
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        elif ch == "万":
            total = (total + section + (digit or 0)) * 10000
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


def chars(text: str) -> set[str]:
    """The Chinese characters of `text`: what a paraphrase keeps when it shares no bigram
    (社工 for 社区工作者, 固定上岗 for 定岗)."""
    return {ch for run in _CJK_RUN.findall(normalize(text)) for ch in run}


def cjk_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalnum()]
    if not letters:
        return 0.0
    return sum(1 for ch in letters if _CJK_RUN.match(ch)) / len(letters)


class GramStats:
    """Document frequencies of bigrams over a set of chunk texts (an immutable snapshot).

    Given `keys` (one per text), the snapshot can be `updated` by adding and removing texts
    without counting the rest again (a new report in a big library)."""

    def __init__(self, texts: Iterable[str], keys: Iterable[Hashable] | None = None) -> None:
        df: Counter[str] = Counter()
        kept: list[str] = []
        for text in texts:
            df.update(grams(text) | chars(text))  # one table: a bigram is never one char
            kept.append(normalize(text))
        self._set(df, kept, None if keys is None else list(keys))

    def _set(self, df: Counter[str], kept: list[str], keys: list[Hashable] | None) -> None:
        if keys is not None and len(keys) != len(kept):
            raise ValueError("one key per text")
        self.n = len(kept)
        self.df = df
        self._keys = keys
        self._norm = kept if keys is not None else None
        self._text = "\n".join(kept)  # for `contains`: does the library ever say this?

    def updated(
        self, removed: Mapping[Hashable, str], added: Iterable[tuple[Hashable, str]]
    ) -> GramStats:
        """The statistics without the `removed` texts (key -> text) and with the `added`
        (key, text) pairs: the same as counting the resulting texts from scratch."""
        if self._keys is None or self._norm is None:
            raise ValueError("GramStats without keys cannot be updated")
        df = self.df.copy()
        touched: set[str] = set()
        for text in removed.values():
            gs = grams(text) | chars(text)
            df.subtract(gs)
            touched |= gs
        for g in touched:
            if df[g] <= 0:
                del df[g]
        keys = [k for k in self._keys if k not in removed]
        kept = [t for k, t in zip(self._keys, self._norm, strict=True) if k not in removed]
        for key, text in added:
            df.update(grams(text) | chars(text))
            keys.append(key)
            kept.append(normalize(text))
        out = GramStats.__new__(GramStats)
        out._set(df, kept, keys)
        return out

    def contains(self, term: str) -> bool:
        """Whether some chunk holds `term` verbatim (after width/case normalisation)."""
        term = normalize(term)
        if not term:
            return False
        # A chunk holding the term holds each of its Chinese pairs: a pair no chunk has
        # answers without reading the whole library (~40 ms at 100k chunks).
        for run in _CJK_RUN.findall(term):
            if any(run[i : i + 2] not in self.df for i in range(len(run) - 1)):
                return False
        return term in self._text

    def weight(self, gram: str) -> float:
        """Inverse document frequency; a pair the library never uses weighs most."""
        w = math.log(1.0 + (self.n + 1) / (self.df.get(gram, 0) + 1))
        if _YEAR.match(gram):
            w *= 0.5  # reports say 今年/上年 as often as the year itself
        return w

    def mentions(self, name: str) -> bool:
        """Whether some chunk holds every bigram of `name` (a cheap "is it named" test)."""
        gs = grams(name)
        return bool(gs) and all(self.df.get(g, 0) > 0 for g in gs)


EMPTY_STATS = GramStats([])


@dataclass
class Focus:
    """The part of a question that evidence must match: its weighted bigrams."""

    content: str
    weights: dict[str, float]
    char_weights: dict[str, float] = field(default_factory=dict)
    question: str = ""  # as asked, for the report titles it names

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    @property
    def lexical(self) -> bool:
        """False when the question has no Chinese content to match (e.g. English)."""
        return self.total > 0 and any(_CJK_RUN.match(g) for g in self.weights)


def content_of(question: str, drop: Iterable[str] = ()) -> str:
    """The question without the names in `drop` (regions) and without question words."""
    from assistant.wordseg import default_segmenter

    text = normalize(question)
    for name in sorted({normalize(d) for d in drop if d}, key=len, reverse=True):
        text = text.replace(name, _SPLIT)
    text = _WHICH_PLACE.sub(_SPLIT, text)
    words = default_segmenter().words(text)
    return "".join(_SPLIT if _asks(w.strip()) else w for w in words)


def _asks(word: str) -> bool:
    """A question word: listed, or any word jieba forms with 哪 (哪一天, 哪类, 哪种, 哪一级)."""
    return word in QUESTION_WORDS or word.startswith("哪")


# A noun counts as specific from this general-language IDF up (jieba's own table, built from
# a large general corpus, not from any report): 补贴标准, 月工资, 女党员 are; 报告, 名字,
# 差距, 时间 are not (they are said in other words everywhere).
SPECIFIC_IDF = 7.5
# Word classes that name a thing asked about. Places (ns) are judged by the gazetteer,
# people (nr) and organisations (nt) are often named differently by a question.
_THING_FLAGS = ("n", "nz", "vn", "ng", "nl")
_ASKING = ("多少", "多长", "多久", "多大", "几", "哪", "什么", "怎")


# Nouns that name the measure a question asks for (海岸线总长, 党员总数, 投资规模, 文号) rather
# than a thing: like 多少 they say what kind of figure is wanted, and a report answers them
# with the figure alone ("522.6公里海岸线", "晋某发〔2019〕21号"), so their absence says
# nothing. General Chinese.
MEASURE_WORDS = frozenset(
    """总长 总长度 长度 全长 总数 总量 总额 总计 总和 总值 总规模 规模 数量 数目 人数 总人数
    个数 次数 金额 面积 总面积 比例 占比 比重 比率 幅度 增幅 速度 总体 整体
    文号 发文号 编号 号码 字号 代码""".split()
)


def absent_terms(question: str, stats: GramStats, drop: Iterable[str] = ()) -> list[str]:
    """Specific nouns naming what the question asks for that no chunk of the library
    contains: a library that never says 女党员 or 月工资 cannot say how many or how much
    of them there are.

    Only the asked thing counts (the noun a how-many counts, or whose figure, date or name
    is asked), never the rest of the question: a writer's own word for the setting (念书
    for 重返校园, 表里 for a table, a county's 重点对象) is how paraphrases differ, and
    jieba's odd cuts (省里|和州|里) are not words of the question at all."""
    if not stats.n or cjk_share(question) < 0.5:
        return []
    import jieba.posseg as pseg
    from jieba.analyse import default_tfidf

    text = normalize(question)
    for name in sorted({normalize(d) for d in drop if d}, key=len, reverse=True):
        text = text.replace(name, _SPLIT)
    idf, median = default_tfidf.idf_freq, default_tfidf.median_idf
    tokens = [(t.word, t.flag) for t in pseg.lcut(text)]
    out: list[str] = []
    for k in sorted(_asked(tokens)):
        word, flag = tokens[k]
        if len(word) < 2 or not _CJK_RUN.fullmatch(word):
            continue
        if word in QUESTION_WORDS or word in MEASURE_WORDS:
            continue
        if flag not in _THING_FLAGS or any(a in word for a in _ASKING):
            continue
        if k > 0 and tokens[k - 1][0] in _ANAPHORA:
            continue  # "示范县这个牌子": the thing already named, in the writer's word
        if idf.get(word, median) < SPECIFIC_IDF or stats.contains(word) or word in out:
            continue
        out.append(word)
    return out


# Demonstratives that point back to what the question has just named ("拿到示范县这个牌子
# 是哪一年", "该项目"): the noun after them renames it.
_ANAPHORA = frozenset("这个 这 这一 这项 这种 这类 这份 这件 该 此 那个 那 那项".split())


# Between the asked thing and the asking word: copulas, adverbs, modals (……的任期是几年,
# ……总长大约是多少, ……每户能补多少钱).
_LINKS = frozenset(
    "是 有 为 达 达到 约 大约 大概 一共 共 共计 总共 合计 累计 都 又 还 能 可 可以 会 了 到底 究竟 要".split()
)


def _is_noun(flag: str) -> bool:
    return flag.startswith("n") and flag != "ns" or flag == "vn"


def _asked(tokens: Sequence[tuple[str, str]]) -> set[int]:
    """Indexes of the tokens naming what the question asks for: the nouns right after an
    asking word and its unit (多少名|女党员), and the noun phrase right before it (平均|月工资
    |是|多少; 海岸线|总长|大约|是|多少, going past a measure noun and 的 to its owner)."""
    out: set[int] = set()
    for a, (word, _flag) in enumerate(tokens):
        if not any(x in word for x in _ASKING) or "怎" in word:
            continue  # 怎样/怎么 ask for a manner: the noun before them is who acts
        j = a + 1
        while j < len(tokens) and tokens[j][1] in ("m", "q"):
            j += 1
        while j < len(tokens) and _is_noun(tokens[j][1]):
            out.add(j)
            j += 1
        i = a - 1
        while i >= 0 and (tokens[i][0] in _LINKS or tokens[i][1] == "d"):
            i -= 1
        while i >= 0:
            phrase = []
            while i >= 0 and _is_noun(tokens[i][1]):
                phrase.append(i)
                i -= 1
            out.update(phrase)
            measure_only = phrase and all(tokens[x][0] in MEASURE_WORDS for x in phrase)
            if measure_only and i >= 0 and tokens[i][0] == "的":
                i -= 1
                continue
            break
    return out


def focus(question: str, stats: GramStats, drop: Iterable[str] = ()) -> Focus:
    """The question's bigrams that evidence must match, weighted by rarity in the library.

    Only bigrams inside one word of the question count. A pair that straddles two words
    ("机制中" gives 制中, "文件要求" gives 件要) is an accident of how the question is
    phrased: passages rarely hold it, and as a pair the library never uses it would weigh
    most, so one phrasing could sink a passage that answers the question.
    """
    from assistant.wordseg import default_segmenter

    seg = default_segmenter()
    content = content_of(question, drop)
    words = seg.words(content)
    gs = grams(_SPLIT.join(words))
    # English words say nothing against Chinese passages; keep numbers and Latin acronyms
    # only when the question is mostly Chinese.
    if cjk_share(content) < 0.5:
        gs = {g for g in gs if _CJK_RUN.match(g) or g.isdigit()}
    # Characters of the words of two or more, not of one-character words (让, 到, 里:
    # function words a passage holds by chance).
    cs = set()
    if any(_CJK_RUN.match(g) for g in gs):
        cs = {c for w in words if len(w.strip()) >= 2 for c in chars(w)}
    weights = {g: stats.weight(g) for g in gs}
    for g in _mended_pairs(words, stats, seg):
        weights.setdefault(g, stats.weight(g))
    # A pair the library never uses can match no passage: its weight only lowers every
    # passage's coverage alike. Its word says whether that is telling (a term the reports
    # lack: 中德, 总投资) or how the question happens to be put (有人, 一位, 点头, 因此):
    # the latter are common in general Chinese, so they weigh less.
    # A word jieba's HMM made up (not in its dictionary, not one we added) that the library
    # never uses is how the question's characters happened to fall ("收支表贴到" gives 表贴,
    # "坐下来开例会" 来开), not a term: its unused pairs weigh nothing.
    for w in words:
        w = w.strip()
        factor = general_factor(seg.general_rarity(w)) if len(w) >= 2 else 1.0
        if len(w) >= 2 and not seg.known(w):
            factor = 0.0
        if factor < 1.0:
            for g in grams(w):
                if g in weights and stats.df.get(g, 0) == 0:
                    weights[g] *= factor
    return Focus(
        content=content,
        weights=weights,
        char_weights={c: stats.weight(c) for c in cs},
        question=question,
    )


def _mended_pairs(words: list[str], stats: GramStats, seg) -> list[str]:
    """Pairs across a cut jieba's HMM made ("公务|卡能|不能" for 公务卡能不能): where a word it
    made up (not in its dictionary) begins with a character that, joined to the word before
    it, is a term the library writes (公务卡), that pair counts as inside one word."""
    out: list[str] = []
    for a, b in zip(words, words[1:], strict=False):
        a, b = a.strip(), b.strip()
        if len(a) < 2 or len(b) < 2 or seg.known(b):
            continue
        if not (_CJK_RUN.fullmatch(a) and _CJK_RUN.fullmatch(b)):
            continue
        if stats.contains(a + b[0]):
            out.append(a[-1] + b[0])
    return out


# General-language rarity (see Segmenter.general_rarity) below which an unused pair weighs
# GENERAL_FLOOR of its weight, above which all of it, linearly between. None disables.
GENERAL_RARITY: tuple[float, float] | None = (8.0, 12.0)
GENERAL_FLOOR = 0.25


def general_factor(rarity: float) -> float:
    if GENERAL_RARITY is None:
        return 1.0
    lo, hi = GENERAL_RARITY
    return min(1.0, max(GENERAL_FLOOR, (rarity - lo) / (hi - lo)))


def coverage(f: Focus, text: str) -> float:
    """Weighted share of the question's bigrams present in `text` (0..1)."""
    total = f.total
    if total <= 0:
        return 0.0
    present = grams(text)
    return sum(w for g, w in f.weights.items() if g in present) / total


def char_coverage(f: Focus, text: str) -> float:
    """Weighted share of the question's Chinese characters present in `text` (0..1); rare
    characters weigh most, so 的/区/工 say little and 岗/聘 say more."""
    total = sum(f.char_weights.values())
    if total <= 0:
        return 0.0
    present = chars(text)
    return sum(w for c, w in f.char_weights.items() if c in present) / total


@dataclass
class Evidence:
    """One passage's support for the question."""

    passage: Passage
    lexical: float
    dense: float
    score: float
    sentence: float = 0.0  # coverage by the passage's best sentence
    chars: float = 0.0  # character coverage (see `char_coverage`)


@dataclass
class Verdict:
    """The evidence for a question over a set of passages."""

    level: str
    best: float
    evidence: list[Evidence]

    @property
    def found(self) -> bool:
        return self.level != WEAK


def score_passages(
    f: Focus, passages: Sequence[Passage], t: Thresholds | None = None
) -> list[Evidence]:
    from assistant.catalog import titled_documents

    t = t or thresholds()
    # A report the question names by its title ("《某某条例》是哪天印发的？") has that title
    # around every passage and sentence of it: the title's words are matched there.
    docs = {p.chunk.doc_id: p.chunk for p in passages}
    named = set(titled_documents(f.question, docs.values())) if f.question else set()
    out: list[Evidence] = []
    for p in passages:
        title = p.chunk.title + " " if p.chunk.doc_id in named else ""
        whole = title + p.chunk.text + " " + p.chunk.section
        lex = coverage(f, whole)
        soft = char_coverage(f, whole)
        sent = max((coverage(f, title + x) for x in _SENTENCE.findall(p.chunk.text)), default=0.0)
        # A passage only BM25 found is a lexical match: its dense term is neutral.
        dense = p.dense_sim if p.dense_sim is not None else t.dense_center
        if f.lexical:
            mixed = t.sentence_weight * sent + (1 - t.sentence_weight) * lex
            mixed = (1 - t.char_weight) * mixed + t.char_weight * soft
            score = mixed + t.dense_weight * (dense - t.dense_center)
        else:
            score = dense
        out.append(Evidence(p, lex, dense, score, sent, soft))
    return out


def assess(f: Focus, passages: Sequence[Passage], t: Thresholds | None = None) -> Verdict:
    """strong / moderate / weak from the best passage's score."""
    t = t or thresholds()
    ev = score_passages(f, passages, t)
    if not ev:
        return Verdict(WEAK, 0.0, [])
    best = max(e.score for e in ev)
    strong, weak = (t.strong, t.weak) if f.lexical else (t.dense_only_strong, t.dense_only_weak)
    level = STRONG if best >= strong else MODERATE if best >= weak else WEAK
    return Verdict(level, best, ev)
