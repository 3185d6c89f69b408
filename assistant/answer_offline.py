"""The offline answerer: an answer quoted sentence by sentence from the retrieved passages.

No model writes anything here. Whether the passages answer the question at all is decided
from calibrated evidence (`assistant.evidence`: weighted character-bigram overlap and dense
similarity), never from one missing word. The sentence that best matches the question (and,
for 多少/几/比例 questions, carries a number with the asked unit) comes first, quoted with its
`[n]`; a few supporting sentences follow. When the evidence is only moderate the answer says
the passages may only be related, so the writer checks them instead of losing them.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant import evidence as ev
from assistant.answers import (
    OFFLINE,
    OFFLINE_LABEL,
    OFFLINE_NOT_FOUND_LABEL,
    Draft,
    DraftSentence,
)
from assistant.catalog import written_names
from assistant.chunking import heads_case
from assistant.evidence import cjk_share as cjk_share_of
from assistant.gazetteer import finer_places
from assistant.types import Passage

log = logging.getLogger(__name__)

MAX_SENTENCE_CHARS = 180
FIRST_SENTENCE_CHARS = 120  # the answer's first quote: short enough to read at a glance
SHORT_SENTENCE = 20
MODERATE_NOTE = "以下段落与问题相关，但未必直接回答问题，请核对原文。"
CROSSLINGUAL_NOTE = (
    "问题不是中文：离线摘录只能按语义找出最接近的中文原文，无法判断它们是否回答了问题，"
    "请核对原文，或用中文提问。"
)

# "哪几个程序" asks which ones, not how many: 几 after 哪 is not a quantity.
_UNIT_AFTER = re.compile(
    r"(?:多少|(?<![哪那这])几)\s*(平方米|平方公里|公里|千米|人次|万元|亿元|余人|小时|分钟|周岁|"
    r"[个名位家次项人户元条件所座支场期村套册张岁年天亩吨批类处间级星米台辆对种轮届份])"
)
_QUANTITY = re.compile(
    r"多少|(?<![哪那这])几[个名位家次项人户条件所座支场期村套批类处年天对种轮届份]|(?<![哪那这])几次|多大|多高|多长|多久|"
    r"多深|多宽|多远|多重|比例|占比|"
    r"比率|百分之|数量|人数|面积|金额|规模|how many|how much|what share|percentage",
    re.IGNORECASE,
)
# Nouns of amount that ask for a figure only when nothing else is asked: "哪种药材的种植规模
# 数第一" asks which one, "党员人数" alone asks how many.
_AMOUNT_NOUNS = frozenset({"数量", "人数", "面积", "金额", "规模"})
_WHICH = re.compile(r"哪|什么|谁|which|what(?! share)|who", re.IGNORECASE)


def _asks_quantity(q: str) -> bool:
    found = {m.group(0) for m in _QUANTITY.finditer(q)}
    if not found:
        return False
    return not (found <= _AMOUNT_NOUNS and _WHICH.search(q))


_WHEN = re.compile(
    r"何时|什么时候|什么时间|哪一年|哪年|哪一天|哪天|哪月|几月|几号|几时|日期|when\b|what date",
    re.IGNORECASE,
)
# Question grammar, not vocabulary: "叫什么 / 是什么 / 提出了什么要求 / 哪几方面 / 哪项 / 谁 /
# 是否" ask for one named thing (or a yes or no); "哪些 / 如何 / 怎样 / 各地 / 有什么" ask for a range or a manner, which
# several reports may each answer.
_SPECIFIC = re.compile(
    r"(?<!有)什么(?!样)|哪(?![些里儿怕])[\u4e00-\u9fff]|谁|是否|是不是|有没有|能否|可否|要不要|"
    r"\b(?:who|what|which|whether)\b",
    re.IGNORECASE,
)
_BROAD = re.compile(r"哪些|如何|怎样|怎么|各[地区县市省镇乡村级]|\bhow\b", re.IGNORECASE)
# A person asked for by role: "党总支书记叫什么名字", "负责人是谁", "村主任的姓名".
_WHO_ROLE = re.compile(
    r"(书记|副书记|主任|负责人|[\u4e00-\u9fff]长|主席|委员|代表|同志|队员|网格员)"
    r"(?:的)?(?:叫什么名字|叫什么|是谁|姓名|名字是什么|是哪位)"
)
# The same in English ("Who became secretary of the village Party branch?"): the role's
# Chinese title, which the reports use.
_EN_ROLES = {"secretary": "书记", "director": "主任", "head": "负责人", "chairman": "主席"}
_WHO_EN = re.compile(
    r"\bwho\b.*?\b(secretary|director|head|chairman)\b"
    r"|\b(secretary|director|head|chairman)\b.*?\bwho\b",
    re.IGNORECASE,
)
# A year, a month, a day of the month ("每月10日前", "10号") or a weekday ("每周二").
_DATE = re.compile(
    r"(?:19|20)\d\d\s*年|\d{1,2}\s*月|(?<![\d.])\d{1,2}\s*[日号](?!报)"
    r"|(?:周|星期|礼拜)[一二三四五六日天]"
)
# A figure in Arabic or Chinese numerals ("5项", "五级", "两批", "1300余名") with its unit.
# "作为一名居委干部", "是一个好办法", "每一位党员": 一 with a measure word after 作为, 成为,
# 是 or 每 is an article (or "each"), not a count.
_NUM_UNIT = (
    r"(?:\d+(?:\.\d+)?|(?<!作为)(?<!成为)(?<!身为)(?<!是)(?<!当)(?<!每)一(?![零〇一二两三四五六七八九十百千万])"
    r"|[零〇一二两三四五六七八九十百千万]*[零〇二两三四五六七八九十百千万][零〇一二两三四五六七八九十百千万]*)"
    r"\s*(?:余|多)?\s*(?:{units})"
)
# Shares said in words: 三分之一, 百分之八十, 七成, 过半, 半数.
_SHARE_WORDS = (
    r"[零〇一二两三四五六七八九十百千\d]+分之[零〇一二两三四五六七八九十百千\d]+"
    r"|[一二三四五六七八九十]成|过半|半数|全部|全覆盖"
)
# Units said either way: a question's 多少人 is answered by "1300余名", 多少个 by "57家".
# Units that count people or households, whose 次 form counts visits instead.
_HEADS = frozenset({"人", "名", "位", "户", "家"})
_SAME_UNIT = {
    "个": ("家",),
    "人": ("名", "人次"),
    "名": ("人", "位"),
    "位": ("名", "人"),
    "条": ("项",),  # requirements and measures are counted either way
    "项": ("条",),
}
_ANY_NUMBER = re.compile(r"\d+(?:\.\d+)?|[一二三四五六七八九十百千万]+[个项条次名家]")
# Sentence ends: Chinese and ASCII marks, and an English full stop before a space.
_SENT_SPLIT = re.compile(r"(?:[^。！？!?；;\n.]|\.(?!\s|$))+(?:[。！？!?；;]+|\.(?=\s|$))?")
_CLAUSE_SPLIT = re.compile(r"[^,，]+[,，]?")
_SPACE_IN_CJK = re.compile(
    r"(?<=[\u4e00-\u9fff])[ \t\u3000]+(?=[\u4e00-\u9fff\d])|(?<=[\d%])[ \t\u3000]+(?=[\u4e00-\u9fff])"
)
# Text that addresses the assistant rather than reporting on the subject.
_INSTRUCTION = re.compile(
    r"忽略(以上|上述|之前|前面|此前|所有)|系统提示词?|提示词|API\s*密钥|api[\s_-]*key|密钥|"
    r"ignore\s+(all\s+)?(the\s+)?(previous|above|prior)|system\s+prompt|instructions?\b",
    re.IGNORECASE,
)
_HEADING_MARK = re.compile(
    r"^\s*(?:[(（][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+是|[一二三四五六七八九十]+、|\d+[、.])"
)


def squash_spaces(text: str) -> str:
    """Drop layout spaces between Chinese characters and numbers ("57 家" -> "57家")."""
    return _SPACE_IN_CJK.sub("", text)


def _norm(text: str) -> str:
    return squash_spaces(unicodedata.normalize("NFKC", text)).lower()


# ---- the question ------------------------------------------------------------------------


@dataclass
class Terms:
    """What kind of answer a question wants, and the regions it names."""

    question: str
    quantity: bool
    units: list[str]
    when: bool = False
    regions: list[str] = field(default_factory=list)
    role: str = ""  # asks for a person by this role (书记, 负责人): the answer is a name
    counted: str = ""  # what a how-many question counts, when it says so after the unit
    specific: bool = False  # asks for one named thing (叫什么, 哪几方面), not a range
    who: bool = False  # asks who (谁来当, 由谁负责): a person or the post that does it
    # The words naming what a figure question measures, and whether they follow 多少 (the
    # thing counted) or precede it: one or two readings (see measured_phrase).
    measures: tuple[tuple[str, bool], ...] = ()
    identifier: bool = False  # asks for a document number, a phone number, a code
    firm: bool = False  # asks which firm or institution (哪家企业, 哪家公司): a name is the answer

    @property
    def open(self) -> bool:
        """A theme over the whole library, which several reports may each answer."""
        return not (self.regions or self.quantity or self.when or self.specific)

    def unit_pattern(self) -> re.Pattern[str] | None:
        if not self.units:
            return None
        # 人 is not 人次 (visits), 户 not 户次: a count of people or households is not
        # answered by a count of visits, unless the question asks for that unit too. (场次
        # and 场, 批次 and 批 count the same things.)
        units = "|".join(
            re.escape(u) + ("(?!次)" if u in _HEADS and u + "次" not in self.units else "")
            for u in sorted(self.units, key=len, reverse=True)
        )
        pattern = _NUM_UNIT.format(units=units)
        if "%" in self.units:
            pattern += "|" + _SHARE_WORDS  # 三分之一以上, 七成, 过半 answer 多大比例 too
        return re.compile(pattern)


def analyze(question: str, region_names: dict[str, str] | None = None) -> Terms:
    """The answer type (a figure? which unit? a date?) and the regions the question names."""
    names = region_names or {}
    q = unicodedata.normalize("NFKC", question)
    regions: list[str] = []
    for name in sorted(names, key=len, reverse=True):
        if name and name in q:
            if names[name] not in regions:
                regions.append(names[name])
            q = q.replace(name, " ")
    units = [m.group(1) for m in _UNIT_AFTER.finditer(q)]
    if re.search(r"比例|占比|比率|百分之|覆盖率|率是|percentage|share", q, re.IGNORECASE):
        units.append("%")
    if "面积" in q and not units:
        units += ["平方米", "㎡", "亩"]
    if re.search(r"多深|多宽|多远", q) and not units:
        # (not 多长 or 多久: 多长时间 is answered by 每月 or 三个月 as often as by a figure)
        units += ["米", "公里", "千米", "厘米", "m", "km"]
    # Money is the unit when the question asks how much of it ("投入了多少资金"), not when
    # it only names funds ("规范集体资金使用方面有哪些制度安排").
    money = re.search(r"资金|经费|金额|投入", q) and re.search(
        r"多少|多大|(?<![哪那这])几|how much", q, re.I
    )
    if (money or "多少钱" in q) and not units:
        units += ["万元", "亿元", "元"]
    for unit in list(units):
        units += [u for u in _SAME_UNIT.get(unit, ()) if u not in units]
    identifier = bool(_IDENTIFIER.search(q))
    return Terms(
        question=question,
        quantity=_asks_quantity(q) or bool(units),
        units=units,
        when=bool(_WHEN.search(q)),
        regions=regions,
        specific=bool(_SPECIFIC.search(q)) and not _BROAD.search(q),
        role=_role_asked(q),
        who=bool(re.search(r"谁|\bwho\b", q, re.IGNORECASE)),
        counted=_counted_noun(q[m.end() :], head_only=False)
        if (m := _UNIT_AFTER.search(q))
        else "",
        # 文号是多少 asks for an identifier (晋某发〔2019〕21号), not an amount of something.
        measures=() if identifier else measured_phrase(q),
        identifier=identifier,
        firm=bool(_FIRM_ASKED.search(q)),
    )


_IDENTIFIER = re.compile(r"文号|编号|号码|电话|邮编|代码|字号|发文号")
# "由哪家企业建设", "哪家公司": answered by a firm's or an institution's name, which ends in
# what it is (…有限公司, …集团, …合作社); 企业 alone is said of firms in general.
_FIRM_ASKED = re.compile(r"哪家|哪一家|which (?:company|firm|enterprise)", re.IGNORECASE)
_FIRM_NAME = re.compile(
    r"[\u4e00-\u9fff]{2,}(?:公司|集团|工厂|厂|合作社|银行|医院|影院|影城|酒店|商场|超市|学校)"
)
# A document number (晋某党发〔2019〕21号, 国发[2023]5号) or a long run of digits (a phone).
_IDENTIFIER_TEXT = re.compile(r"[〔\[［(（]\s*(?:19|20)\d\d\s*[〕\]］)）]\s*\d+\s*号|\d{5,}")


# Grammar around a figure question's noun, not vocabulary: verbs of amount and position
# words that stand between the noun and 多少 ("收入|达到|多少", "考核|中|占|多少分").
_AMOUNT_GRAMMAR = frozenset(
    "是 有 为 达 达到 占 约 大约 一共 总共 共计 合计 累计 共 总计 的 中 里 上 内 了 能 可 "
    "要 会 拿到 得到 获得 给 需要 应 应该 应当 该 多 按 在 还".split()
)
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


MEASURE_REACH = 10  # characters next to 多少 read as naming what is measured


def measured_phrase(question: str) -> tuple[tuple[str, bool], ...]:
    """What a figure question asks the amount of, as readings (words, counted): the words
    after 多少 and its unit, up to MEASURE_REACH characters, are the thing counted ("多少名|
    队员", "多少位|退下来的老党员", "多少|奖金"); as many before 多少/几, once the verbs of
    amount are dropped, name it when nothing follows ("…项目总投资|是多少") or when what
    follows starts with a verb ("项目|有几个|实现了…覆盖": both readings are kept, since
    "走丢的人" starts with one too). () when the question asks no figure with 多少/几 or
    names nothing next to it (English; "面积", "比例" are their own noun)."""
    q = unicodedata.normalize("NFKC", question)
    m = _UNIT_AFTER.search(q) or _QUANTITY.search(q)
    if m is None or not m.group(0).startswith(("多少", "几")):
        return ()
    readings: list[tuple[str, bool]] = []
    after = _CJK_RUN.match(q[m.end() :])
    if after and len(after.group(0)) >= 2:
        readings.append((after.group(0)[:MEASURE_REACH], True))
        if _starts_with_noun(after.group(0)):
            return tuple(readings)
    from assistant.wordseg import default_segmenter

    runs = _CJK_RUN.findall(q[: m.start()])
    words = default_segmenter().words(runs[-1]) if runs else []
    while words and words[-1] in _AMOUNT_GRAMMAR:
        words.pop()
    before = "".join(words)[-MEASURE_REACH:]
    if len(before) >= 2:
        readings.append((before, False))
    return tuple(readings)


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


def _trim(sentence: str, score: Callable[[str], float], limit: int = MAX_SENTENCE_CHARS) -> str:
    """A long sentence shortened to its best run of clauses, marked with ……."""
    if len(sentence) <= limit:
        return sentence
    clauses = _CLAUSE_SPLIT.findall(sentence)
    best, best_score = sentence[:limit], -1.0
    for i in range(len(clauses)):
        run = ""
        for j in range(i, len(clauses)):
            if len(run) + len(clauses[j]) > limit and run:
                break
            run += clauses[j]
            s = score(run) - 0.0005 * len(run)
            if s > best_score:
                best, best_score = run, s
    best = best.strip().rstrip(",，")
    prefix = "" if sentence.startswith(best) else "……"
    suffix = "" if sentence.rstrip("。；;").endswith(best.rstrip("。；;")) else "……"
    return prefix + best + suffix


def _is_heading(sentence: str, passage: Passage) -> bool:
    """The section heading repeated as the passage's first sentence."""
    core = sentence.rstrip("。；;！!？?").strip()
    return len(core) < 30 and bool(core) and core in _norm(passage.chunk.section)


# Share of a sentence's lexical score from shared characters (the rest: shared bigrams).
# 0.3 and 0.5 gave the same answers on every question set; the lower one is kept.
SENTENCE_CHAR_WEIGHT = 0.3


# How much a mostly foreign-language question's Chinese words (a place name) count against
# its meaning when sentences are chosen.
MIXED_NAME_WEIGHT = 0.3


class SentenceScorer:
    """Scores sentences for one question: overlap with its focus, the answer type, and the
    evidence of the passage the sentence comes from."""

    def __init__(
        self, terms: Terms, focus: ev.Focus, semantic: dict[str, float] | None = None
    ) -> None:
        self.terms = terms
        self.focus = focus
        # Sentence -> similarity to the question in 0..1 among the candidates, from the
        # embedding model: what a question in another language shares with the reports.
        self.semantic = semantic or {}
        self.unit_re = terms.unit_pattern()

    def type_bonus(self, text: str) -> float:
        norm = _norm(text)
        bonus = 0.0
        if self.terms.quantity:
            if self.unit_re is not None and self.unit_re.search(norm):
                # More when the figure names what is asked (社工 / 1739名社区工作者), less
                # when every one counts something else (覆盖11个街道 for centres).
                grade = _counts_asked(norm, self.unit_re, self.terms.counted)
                bonus += (0.2, 0.3, 0.4)[grade]
            elif self._figure_on_topic(norm):
                bonus += 0.25  # “120个网格” for a question on 网格 and 规模
            elif _ANY_NUMBER.search(norm):
                bonus += 0.1
            else:
                bonus -= 0.15
        if self.terms.when:
            bonus += 0.2 if _DATE.search(norm) else -0.1
        if self.terms.identifier and _IDENTIFIER_TEXT.search(norm):
            bonus += 0.3  # the sentence that gives the number asked for
        if self.terms.firm and _FIRM_NAME.search(norm):
            bonus += 0.3  # the sentence that names a firm
        if self.terms.role and _names_person_by_role(norm, self.terms.role):
            bonus += 0.3  # who holds the role: the sentence that names them
        elif self.terms.who and _WHO_DOES.search(norm):
            bonus += 0.2  # “由村法律顾问担任”: the sentence that says who does it
        return bonus

    def _figure_on_topic(self, text: str) -> bool:
        """A figure whose counted thing shares a telling bigram with the question."""
        telling = {g for g, w in self.focus.weights.items() if w >= 1.0}
        return any(telling & ev.grams(f) for f in labelled_figures(text, limit=6))

    def _meaning(self, text: str) -> float:
        key = _norm(text)
        if key in self.semantic:
            return self.semantic[key]
        # A short sentence quoted with the next one: scored as its first sentence.
        return max((v for k, v in self.semantic.items() if key.startswith(k)), default=0.0)

    def lexical(self, text: str) -> float:
        if not self.focus.lexical:
            return self._meaning(text) if self.semantic else 0.0
        # Shared characters as well as shared pairs: a paraphrase keeps characters (念书 and
        # 重返校园 share none, 学校 and 校园 share 校) when it loses whole words.
        cw = SENTENCE_CHAR_WEIGHT
        shared = (1 - cw) * ev.coverage(self.focus, text) + cw * ev.char_coverage(self.focus, text)
        if self.semantic:
            # A question in another language naming a place in Chinese ("… in Zhangdian
            # Township (张店乡)?"): the name says which report, the meaning which sentence.
            return (1 - MIXED_NAME_WEIGHT) * self._meaning(text) + MIXED_NAME_WEIGHT * shared
        return shared

    def __call__(self, text: str, passage_score: float) -> float:
        score = 0.6 * self.lexical(text) + 0.4 * passage_score + self.type_bonus(text)
        core = _HEADING_MARK.sub("", _norm(text))
        if len(core) < SHORT_SENTENCE and not _CLAUSE_BREAK.search(core.rstrip("。；;！!？?")):
            # Headings such as “三是阵地建设高效。” say little on their own; a short sentence
            # of two clauses (“内容反动的，可交公安部门处理。”) says what is done when.
            score -= 0.15
        return score


def pick_sentences(
    scorer: SentenceScorer,
    evidence: Sequence[ev.Evidence],
    *,
    limit: int,
    numbering: Sequence[int] | None = None,
    relative: float = 0.75,
    per_passage: int = 2,
    per_doc: int | None = None,
) -> list[Pick]:
    """The best sentences of the passages, best first, at most `limit`.

    Besides the best one, a sentence is quoted only when it scores close to it, so filler
    that merely sounds related stays out.
    """
    numbering = list(numbering or range(1, len(evidence) + 1))
    picks: list[Pick] = []
    seen: set[str] = set()
    for n, e in zip(numbering, evidence, strict=True):
        p = e.passage
        sentences = sentences_of(p.chunk.text)
        for order, sentence in enumerate(sentences):
            key = _norm(sentence)
            if key in seen or _INSTRUCTION.search(sentence) or _is_heading(key, p):
                continue
            seen.add(key)
            text = sentence
            following = sentences[order + 1] if order + 1 < len(sentences) else ""
            if len(_HEADING_MARK.sub("", key)) < SHORT_SENTENCE and following:
                # “实施‘头雁工程’。” says what, the next sentence says how: quote both.
                if not _INSTRUCTION.search(following):
                    text = sentence + following
                    seen.add(_norm(following))
            score = scorer(text, e.score)
            picks.append(Pick(n=n, passage=p, text=text, score=score, order=order))
    if not picks:
        return []
    picks.sort(key=lambda k: (-k.score, k.n, k.order))
    top = picks[0].score
    chosen: list[Pick] = []
    used: dict[int, int] = {}
    docs: dict[str, int] = {}
    for k in picks:
        if len(chosen) >= limit:
            break
        if chosen and k.score < top - (1 - relative) * max(abs(top), 0.5):
            break
        doc = k.passage.chunk.doc_id
        if used.get(k.n, 0) >= per_passage or (per_doc and docs.get(doc, 0) >= per_doc):
            continue
        used[k.n] = used.get(k.n, 0) + 1
        docs[doc] = docs.get(doc, 0) + 1
        chosen.append(k)
    for i, k in enumerate(chosen):
        limit_chars = FIRST_SENTENCE_CHARS if i == 0 else MAX_SENTENCE_CHARS
        k.text = _trim(k.text, lambda run: scorer(run, 0.0), limit_chars)
    return chosen


def _same_report_first(
    picks: list[Pick], evidence: Sequence[ev.Evidence], t: ev.Thresholds
) -> list[Pick]:
    """A question about one thing is answered by the report the best quote comes from;
    another report's sentence joins only when its passage is itself strong evidence (a
    date of one branch is not told by another city's news that sounds alike)."""
    if len(picks) < 2:
        return picks
    strong = {e.passage.chunk.chunk_id for e in evidence if e.score >= t.strong}
    doc = picks[0].passage.chunk.doc_id
    return [k for k in picks if k.passage.chunk.doc_id == doc or k.passage.chunk.chunk_id in strong]


def _every_part(
    picks: list[Pick],
    scorer: SentenceScorer,
    evidence: Sequence[ev.Evidence],
    numbering: Sequence[int],
) -> list[Pick]:
    """A question that asks for a date and a figure ("哪天召开的？共有多少人参加？"), or asks
    two things of which one is a figure or a date ("原来喝的是哪儿的水？后来凑了多少钱？"),
    is answered by every part: when no quoted sentence holds the date or the figure, the
    best sentence of the same report that does joins right after the first (a report says
    them in different sentences, and each is scored down for lacking the other)."""
    if not picks:
        return picks
    questions = [q for q in re.split(r"[？?；;]", scorer.terms.question) if q.strip()]
    kinds: list[re.Pattern[str]] = []
    for terms in [analyze(q) for q in questions] if len(questions) > 1 else [scorer.terms]:
        unit = terms.unit_pattern() or (_AMOUNT if terms.measures else None)
        kinds += [k for k in (_DATE if terms.when else None, unit) if k is not None]
    if not kinds or (len(kinds) < 2 and len(questions) < 2):
        return picks
    doc = picks[0].passage.chunk.doc_id
    added: list[Pick] = []
    for kind in kinds:
        if any(kind.search(_norm(k.text)) for k in picks + added):
            continue
        best: Pick | None = None
        for n, e in zip(numbering, evidence, strict=True):
            p = e.passage
            if p.chunk.doc_id != doc:
                continue
            for order, sentence in enumerate(sentences_of(p.chunk.text)):
                norm = _norm(sentence)
                if not kind.search(norm) or _INSTRUCTION.search(sentence):
                    continue
                if any(_norm(k.text) == norm for k in picks + added):
                    continue
                score = scorer(sentence, e.score)
                if best is None or score > best.score:
                    best = Pick(n=n, passage=p, text=sentence, score=score, order=order)
        if best is not None:
            best.text = _trim(best.text, lambda run: scorer(run, 0.0), MAX_SENTENCE_CHARS)
            added.append(best)
    return picks[:1] + added + picks[1:]


def quote(text: str) -> str:
    """A sentence as it appears in an answer: layout spaces gone, nothing else changed."""
    return squash_spaces(text.strip())


# ---- the answerer ------------------------------------------------------------------------


StatsSource = Callable[[], ev.GramStats]
NamesSource = Callable[[], dict[str, str]]


def not_found_text(regions: Sequence[str]) -> str:
    where = f"（已检索{'、'.join(regions)}的报告）" if regions else "（已检索全部报告）"
    return f"报告中未找到能回答该问题的内容{where}。可以换个说法，或在资料库中补充相关报告。"


class OfflineAnswerer:
    """Quotes the passages; labelled as the offline extract wherever it appears."""

    name = OFFLINE

    def __init__(
        self,
        region_names: dict[str, str] | NamesSource | None = None,
        stats: StatsSource | None = None,
        max_sentences: int = 4,
        thresholds: ev.Thresholds | None = None,
        embeddings: Any = None,
    ) -> None:
        # Fixed names, or a source read at each question (the library changes under a
        # long-lived answerer as reports are added and removed).
        self._names = region_names if callable(region_names) else dict(region_names or {})
        self.stats = stats
        self.max_sentences = max_sentences
        self.thresholds = thresholds
        self.embeddings = embeddings

    @property
    def region_names(self) -> dict[str, str]:
        return self._names() if callable(self._names) else self._names

    def condense(self, history_text: str, question: str, deadline: Any = None) -> str | None:
        return None  # the chain's offline rewrite

    def compare(
        self,
        question: str,
        plan: Any,
        *,
        style: str = "",
        on_token: Callable[[str], None] | None = None,
        deadline: Any = None,
    ) -> Draft:
        from assistant.compare import offline_compare

        return _emit(offline_compare(plan), on_token)

    def analyze(self, question: str) -> Terms:
        return analyze(question, self.region_names)

    def focus(self, question: str, passages: Sequence[Passage]) -> ev.Focus:
        stats = self.stats() if self.stats is not None else None
        if stats is None or stats.n == 0:
            stats = ev.GramStats(p.chunk.text for p in passages)
        return ev.focus(question, stats, self.region_names)

    def answer(
        self,
        question: str,
        passages: list[Passage],
        *,
        regions: list[str] | None = None,
        style: str = "",
        on_token: Callable[[str], None] | None = None,
        deadline: Any = None,
    ) -> Draft:
        terms = self.analyze(question)
        wanted = list(regions or terms.regions)
        # A county asked about inside a named region may be quoted from any report that
        # names it (a case compilation with no region of its own).
        # So may a case of a compilation whose own region is another place, when its text or
        # heading names the region asked about.
        places = finer_places(question, wanted) if wanted and not regions else []
        heads = written_names(self.region_names or {}, wanted) if wanted and not regions else []
        pool = [
            (i, p)
            for i, p in enumerate(passages, start=1)
            if not wanted
            or p.chunk.region in wanted
            or any(n in p.chunk.text or n in p.chunk.title for n in places)
            or heads_case(p.chunk.section, heads)
        ]
        if not terms.open:
            # One thing asked of a named village: only the reports that name it answer.
            pool = _naming_local_places(pool, local_places(question, self.stats))
        focus = self.focus(question, passages)
        verdict = ev.assess(focus, [p for _, p in pool], self.thresholds)
        t = self.thresholds or ev.thresholds()
        crosslingual = not focus.lexical and cjk_share_of(question) < 0.5
        if crosslingual and verdict.evidence:
            # A question in another language shares no word with the reports, and its
            # similarity to them says little (an English question on the weather scores as
            # high as one on their grids): the closest passages are quoted, saying so.
            verdict.level = ev.MODERATE
        absent: list[str] | None = None
        weak_region = False
        if not verdict.found:
            # Weak evidence over passages on the theme (from the lenient `region_weak` cut)
            # whose library never names a word of the question says which word is missing,
            # with the closest quotes; otherwise it is a plain not found.
            on_theme = _theme_score(focus, pool, t) >= (
                t.region_weak if focus.lexical else t.dense_only_weak
            )
            absent = self.absent(question) if on_theme else []
            if on_theme and terms.open and not wanted and _several_docs(pool):
                # A theme over the library ("基层单位怎样推动党建和业务融合？") is answered
                # by every report that covers it, judged as a comparison judges a region
                # (`region_weak`): no one passage holds all the words such a question uses.
                verdict.level = ev.MODERATE
                absent = None
            elif on_theme and wanted and not absent:
                # A question on a region the library covers ("阳春查村账是哪些部门抽查
                # 的？") is judged as 跨地区比较 judges that region: its reports' closest
                # passages are quoted as possibly related, not "not found" in chat while
                # quoted in a comparison. What it asks for (a figure, a date, a name) is
                # still checked below.
                verdict.level = ev.MODERATE
                absent = None
                weak_region = True
            elif not absent:
                return _emit(not_found_draft(wanted, verdict.level), on_token)
        semantic = None
        foreign = cjk_share_of(question) < 0.5
        if (not focus.lexical or foreign) and self.embeddings is not None:
            semantic = self._semantic(question, verdict.evidence)
        scorer = SentenceScorer(terms, focus, semantic)
        numbering = [i for i, _ in pool]
        if not wanted and terms.open and _several_docs(pool):
            # An open question over the whole library ("党组织如何通过协商议事推动基层治理？"):
            # the best sentence of each report that covers the theme, best report first.
            theme = ev.score_passages(focus, [p for _, p in pool], ev.theme_thresholds(t))
            keep = [
                (n, e)
                for n, e, th in zip(numbering, verdict.evidence, theme, strict=True)
                if th.score >= t.region_weak
            ]
            picks = pick_sentences(
                scorer,
                [e for _, e in keep],
                limit=self.max_sentences + 2,
                numbering=[n for n, _ in keep],
                relative=0.0,
                per_passage=1,
                per_doc=1,
            )
        else:
            limit = 3 if terms.quantity else self.max_sentences
            picks = pick_sentences(scorer, verdict.evidence, limit=limit, numbering=numbering)
            picks = _same_report_first(picks, verdict.evidence, t)
            picks = _every_part(picks, scorer, verdict.evidence, numbering)
        if not picks:
            return _emit(not_found_draft(wanted, verdict.level), on_token)
        body = render_picks(picks)
        sentences = [DraftSentence(quote(k.text), [k.n], k.passage.chunk.region) for k in picks]
        if absent is None:
            absent = self.absent(question)
        # An open question ("怎样……解决居民身边的烦心事？") is answered by practices, which the
        # reports describe in their own words: a word of the question they never use is
        # said beside the quotes, and the evidence score alone decides.
        unnamed = absent if terms.open and verdict.found else []
        if unnamed:
            absent = []
        lacking = "" if absent else unanswered_type(terms, verdict, t, focus.lexical)
        if absent or lacking:
            # The reports match the theme but never name what is asked for, or hold no
            # figure (date) of the kind asked: not found, with the closest quotes for the
            # writer to check rather than nothing.
            draft = not_found_draft(wanted, verdict.level)
            if absent:
                missing = "、".join(f"“{w}”" for w in absent)
                draft.notice = f"报告中没有出现{missing}"
            else:
                draft.notice = f"相关段落中没有所问的{lacking}"
            draft.text = f"{OFFLINE_NOT_FOUND_LABEL}\n\n{draft.notice}。{not_found_text(wanted)}"
            if not weak_region:
                # (A region's closest passages are weak evidence already; lacking what is
                # asked for too, quoting them would only be noise.)
                draft.text += f"\n\n{CLOSEST_NOTE}\n\n{body}"
                draft.sentences = sentences
            return _emit(draft, on_token)
        note = MODERATE_NOTE if verdict.level == ev.MODERATE else ""
        if crosslingual:
            note = CROSSLINGUAL_NOTE
        if unnamed:
            words = "、".join(f"“{w}”" for w in unnamed)
            note = f"报告中没有出现{words}这一说法，以下是最接近的原文，请核对。"
        text = f"{OFFLINE_LABEL}\n\n" + (f"{note}\n\n" if note else "") + body
        draft = Draft(
            text=text,
            answerer=OFFLINE,
            found=True,
            require_citation=False,
            sentences=sentences,
            evidence=verdict.level,
            notice=note,
        )
        return _emit(draft, on_token)

    def _semantic(self, question: str, evidence: Sequence[ev.Evidence]) -> dict[str, float]:
        """Each sentence of the evidence passages by its embedding's similarity to the
        question, rescaled to 0..1 over these sentences (cosines of one model sit in a narrow
        band; the order is what counts). Only for questions that share no Chinese word with
        the reports (an English question): the vectors are cached by content hash."""
        keys: list[str] = []
        for e in evidence[:8]:
            for sentence in sentences_of(e.passage.chunk.text):
                key = _norm(sentence)
                if key and key not in keys:
                    keys.append(key)
        if len(keys) < 2:
            return {}
        try:
            q = self.embeddings.embed_query(question)
            vs = self.embeddings.embed_documents(keys)
        except Exception as exc:  # the extract still works without it
            log.warning("sentence embeddings failed: %s", type(exc).__name__)
            return {}
        sims = [sum(a * b for a, b in zip(q, v, strict=True)) for v in vs]
        lo, hi = min(sims), max(sims)
        if hi - lo < 1e-6:
            return {}
        return {k: (x - lo) / (hi - lo) for k, x in zip(keys, sims, strict=True)}

    def absent(self, question: str) -> list[str]:
        """Specific nouns of the question the library never contains (see evidence)."""
        library = self.stats() if self.stats is not None else None
        if library is None or library.n == 0:
            return []
        return ev.absent_terms(question, library, self.region_names)


def unanswered_type(terms: Terms, verdict: ev.Verdict, t: ev.Thresholds, lexical: bool) -> str:
    """What kind of answer the question asks for that no passage holds: "数字" when it asks
    how many of a unit (多少场, 几级) and no passage that counts as evidence (from `weak`
    up) has a figure in that unit; "时间" when it asks when and none has a date; "编号" when
    it asks for a document or phone number and none gives one; "单位名称" when it asks which
    firm and none names one; "人名"
    when it asks who holds a role and no passage names a person beside that role; ""
    otherwise."""
    cut = t.weak if lexical else t.dense_only_weak
    texts = [_norm(e.passage.chunk.text) for e in verdict.evidence if e.score >= cut]
    # Below the cut everywhere (a region's closest passages, quoted as possibly related):
    # the passages that would be quoted must hold it.
    texts = texts or [_norm(e.passage.chunk.text) for e in verdict.evidence]
    if not texts:
        return ""
    unit = terms.unit_pattern()
    if unit is not None and not any(unit.search(x) for x in texts):
        return "数字"
    if terms.measures and not any(
        states_measure(x, words, unit, counted=counted)
        for x in texts
        for words, counted in terms.measures
    ):
        return "数字"
    if terms.when and not any(_DATE.search(x) for x in texts):
        return "时间"
    if terms.identifier and not any(_IDENTIFIER_TEXT.search(x) for x in texts):
        return "编号"
    if terms.firm and not any(_FIRM_NAME.search(x) for x in texts):
        return "单位名称"
    if terms.role and not any(_names_person_by_role(x, terms.role) for x in texts):
        return "人名"
    if _TITLE_ASKED.search(_norm(terms.question)) and not any("《" in x for x in texts):
        return "书名或文件名"
    return ""


# A figure that is an amount: not a year, month, day or ordinal ("2020年", "第3", "5月").
_AMOUNT = re.compile(
    r"(?<![第\d.])\d+(?:\.\d+)?(?![\d.])(?!\s*(?:年(?!度)|月|日|号|时|届|次会议))"
    r"|(?<![第零〇一二两三四五六七八九十百千万亿])[零〇一二两三四五六七八九十百千万亿]+(?:余|多)?"
    r"[个项条名家户人位支批类所座元件场期处]"
)


# The measure word after a bare figure ("11|个|街道"), skipped to reach what it counts.
_MEASURE_WORD = re.compile(r"^\s*(?:余|多)?[个项条名家户人位支批类所座元件场期处次级张台套]?")


def _starts_with_noun(phrase: str) -> bool:
    """Whether jieba tags the first word of `phrase` a noun (n, ns, nz…)."""
    import jieba.posseg as pseg  # loaded on the first figure question that needs it

    with _POS_LOCK:
        first = next(iter(pseg.cut(phrase)), None)
    return first is not None and first.flag.startswith("n")


_CLAUSE = re.compile(r"[^，,。；;！!？?\n]+")


def states_measure(
    text: str, measure: str, unit: re.Pattern[str] | None = None, *, counted: bool = False
) -> bool:
    """Whether some clause of `text` gives an amount (in the asked unit, when there is one)
    beside a character pair of the words that name what is measured ("项目总投资" /
    "项目投资3亿元", "队员" / "队员1500名"). A figure question whose measured thing stands by
    no figure of any passage ("中德合作项目总投资是多少" over "推进中德合作项目，打造…") is
    not answered by the other figures on its theme.

    The thing a question counts after 多少 and its unit (`counted`: "多少个|走丢的人") may be counted
    in other words sharing two of its characters, as `_counts_asked` allows: with the
    figure's sentence when the figure is in the asked unit ("多少孩子又回学校念书": "…完成
    学业，…50名重返校园"), with its own clause when it is in another ("多少个|走丢的人":
    "找回走失人员21名"; not "共走访群众15924户" for 多少名队员)."""
    parts = {measure[i : i + 2] for i in range(len(measure) - 1)}
    chars = set(measure) - {"的"}
    need = min(2, len(chars))
    figure = unit or _AMOUNT

    def counts_it(clause: str, m: re.Match[str]) -> bool | None:
        """True when the noun after the figure names the counted thing, False when it is
        another noun ("覆盖11个|街道的…中心", "选派1名|业务骨干" for 统计员), None when
        nothing or no noun follows ("中心15个。", "50名|重返校园")."""
        noun = _counted_noun(_MEASURE_WORD.sub("", clause[m.end() :], count=1))
        if not noun:
            return None
        if len(chars & set(noun)) >= need:
            return True
        return False if _starts_with_noun(noun) else None

    for sentence in sentences_of(text):
        shares = counted and len(chars & set(sentence)) >= need
        for clause in _CLAUSE.findall(sentence):
            named = any(p in clause for p in parts)
            own = counted and len(chars & set(clause)) >= need
            for pattern, ok in ((figure, named or shares), (_AMOUNT, named or own)):
                for m in pattern.finditer(clause):
                    says = counts_it(clause, m) if counted else None
                    if says or (says is None and ok):
                        return True
                if not counted:
                    break  # only a thing counted after 多少 may be counted in another unit
    return False


_WHO_DOES = re.compile(r"由[^，。；]{1,24}?(?:担任|兼任|负责|承担|牵头)|担任|兼任")
# "推荐的是哪本书", "依据什么文件", "印发了哪部条例": the answer is a title, which Chinese text
# sets in 《》.
_TITLE_ASKED = re.compile(
    r"(?:哪|什么)(?:一)?(?:本|部|份|篇|个)?(?:书|书籍|著作|文件|条例|法规|规定|办法|意见|通知)"
)


def _role_asked(q: str) -> str:
    """The role a who-question asks the holder of ("书记叫什么名字", "who became secretary")."""
    if m := _WHO_ROLE.search(q):
        return m.group(1)
    if m := _WHO_EN.search(q):
        return _EN_ROLES[(m.group(1) or m.group(2)).lower()]
    return ""


def _counted_noun(tail: str, head_only: bool = True) -> str:
    """The words right after a figure's unit, up to punctuation or eight characters ("个|
    社区邻里中心"); in a passage only up to 的 ("11个|街道|的社区邻里中心" counts streets),
    in a question the whole phrase ("多少位|退下来的老党员"). "" when the figure ends its
    clause."""
    m = re.match(r"[\u4e00-\u9fff]{1,8}", tail.lstrip())
    if not m:
        return ""
    return m.group(0).split("的", 1)[0] if head_only else m.group(0)


def _counts_asked(text: str, unit: re.Pattern[str], counted: str) -> int:
    """How well `text` answers a how-many question: 2 when a figure in the asked unit names
    what is asked (its noun shares characters with the asked one: 社工 / 1739名社区工作者),
    1 when a figure in the unit names nothing ("…中心15个。") or nothing is asked after the
    unit, 0 when there is none or every one counts something else ("覆盖11个街道" for
    centres)."""
    best = 0
    asked = set(counted) - {"的"}
    for m in unit.finditer(text):
        if not asked:
            return 1
        noun = _counted_noun(text[m.end() :])
        if noun and len(set(noun) & asked) >= min(2, len(asked)):
            return 2
        if not noun:
            best = 1
    return best


def _names_person_by_role(text: str, role: str, reach: int = 4) -> bool:
    """Whether a person's name stands next to `role` ("书记王建国", "王建国书记", "书记、主任
    王建国", "梁杰担任了村党支部书记"): a run of jieba nr-tagged tokens (part of speech:
    person name) of two or more characters within `reach` characters of a mention of the
    role, or in the same clause. A name elsewhere (the reporter's byline) does not say who
    holds the role."""
    if role not in text:
        return False
    import jieba.posseg as pseg  # loaded on the first who-question only

    names: list[tuple[int, int]] = []  # spans of nr runs
    roles: list[tuple[int, int]] = []
    pos = 0
    run: list[int] = []
    for word, flag in pseg.lcut(text):
        end = pos + len(word)
        if flag == "nr":
            run = [run[0] if run else pos, end]
        else:
            if run and run[1] - run[0] >= 2:
                names.append((run[0], run[1]))
            run = []
        if role in word:
            roles.append((pos, end))
        pos = end
    if run and run[1] - run[0] >= 2:
        names.append((run[0], run[1]))

    def same_clause(a: int, b: int) -> bool:
        return not _CLAUSE_BREAK.search(text[min(a, b) : max(a, b)])

    return any(
        (n0 - r1 <= reach and r0 - n1 <= reach) or same_clause(n0, r0)
        for r0, r1 in roles
        for n0, n1 in names
    )


# Marks that end a clause or set off a phrase (quotes, brackets, 、).
_CLAUSE_BREAK = re.compile(r"[，。；！？：“”‘’（）()、,;:!?\n]")


def _theme_score(focus: ev.Focus, pool: Sequence[tuple[int, Passage]], t: ev.Thresholds) -> float:
    """The best passage's score on the `region_weak` scale (see `evidence.theme_thresholds`)."""
    scored = ev.score_passages(focus, [p for _, p in pool], ev.theme_thresholds(t))
    return max((e.score for e in scored), default=0.0)


def _several_docs(pool: Sequence[tuple[int, Passage]]) -> bool:
    return len({p.chunk.doc_id for _, p in pool}) >= 2


CLOSEST_NOTE = "以下是与问题最接近的原文，供核对（未必回答了问题）："


# A town, village or neighbourhood named in a question (大杨镇, 聂关村, 景苑居民区): the
# two characters before the word that says what kind of place it is.
_PLACE_KIND = re.compile(r"镇|乡|村|社区|街道|居民区|小区")
_NOT_A_NAME = re.compile(r"^[各本全该每此这那其某哪新老我贵]")


def local_places(question: str, stats: Callable[[], Any] | None) -> list[str]:
    """Places below a county the question names and the library writes (聂关村 in
    "大杨镇聂关村的党支部书记是谁？"): not common nouns of jieba's dictionary (全村,
    贫困村), not a word before 社区/小区 (城市社区; so 光明社区 is missed), not begun by the end
    of a word (美丽|乡村). The gazetteer holds no towns or villages."""
    from assistant.wordseg import default_segmenter

    library = stats() if stats is not None else None
    if library is None or not getattr(library, "n", 0):
        return []
    seg = default_segmenter()
    q = unicodedata.normalize("NFKC", question)
    out: list[str] = []
    for m in _PLACE_KIND.finditer(q):
        a = m.start() - 2
        if a < 0 or not _CJK_RUN.fullmatch(q[a : m.start()]):
            continue
        name = q[a : m.end()]
        if _NOT_A_NAME.match(name) or seg.known(name) and _common_noun(name):
            continue  # 全村, 贫困村 (石桥镇 is a word of the dictionary too, and a name)
        if m.end() - m.start() >= 2 and seg.known(q[a : m.start()]):
            continue  # 城市|社区, 参与|社区, 老旧|小区: a word before the kind, not a name
        if seg.known(q[a + 1 : m.end()]) and a > 0 and seg.known(q[a - 1 : a + 1]):
            continue  # 美丽|乡村
        if m.end() - m.start() == 1 and seg.known(q[m.start() : m.end() + 1]):
            continue  # 乡 of 乡村, 村 of 村民: not a kind of place here
        if library.contains(name) and name not in out:
            out.append(name)
    return out


def _common_noun(word: str) -> bool:
    """Whether jieba's dictionary tags `word` a common noun (n), not a name (ns, nr…)."""
    import jieba.posseg as pseg

    with _POS_LOCK:
        pseg.dt.tokenizer.check_initialized()
        return pseg.dt.word_tag_tab.get(word) == "n"


def _naming_local_places(
    pool: list[tuple[int, Passage]], names: Sequence[str]
) -> list[tuple[int, Passage]]:
    """The pool cut to the reports whose quoted passages name one of `names`, when some
    do: a village's secretary is not another report's 副书记."""
    if not names:
        return pool

    def names_one(p: Passage) -> bool:
        c = p.chunk
        return any(n in c.text or n in c.title or n in c.section for n in names)

    docs = {p.chunk.doc_id for _, p in pool if names_one(p)}
    return [(i, p) for i, p in pool if p.chunk.doc_id in docs] if docs else pool


def not_found_draft(regions: Sequence[str], level: str = ev.WEAK) -> Draft:
    return Draft(
        text=f"{OFFLINE_NOT_FOUND_LABEL}\n\n{not_found_text(regions)}",
        answerer=OFFLINE,
        found=False,
        require_citation=False,
        evidence=level,
        failure="not_found",
    )


_LEVEL_RANK = {"province": 0, "city": 1, "county": 2}


def place_label(chunk) -> str:
    """Whom a quote speaks for: the place its top section heading names when that is not
    the report's region or inside it (a compilation of cases from many places: "山东省青岛市
    李沧区：……" gives 李沧区), else the report's region, else its title."""
    from assistant.chunking import top_heading
    from assistant.gazetteer import canonical, mentions

    top = top_heading(chunk.section)
    # A case heading opens with its place ("新疆生产建设兵团第八师石河子市：……"); a place
    # further in ("学习借鉴浙江经验") is what the section talks about, not who speaks.
    found = mentions(top)
    named = (
        [m.division for m in found if m.division.resolved] if found and found[0].start == 0 else []
    )
    if named:
        place = max(named, key=lambda d: _LEVEL_RANK.get(d.level, 0))
        own = canonical(chunk.region) if chunk.region else None
        inside = own is not None and (
            place.name == own.name or own.name in place.parents or place.name in own.parents
        )
        if not inside:
            return place.name
    return chunk.region or chunk.title or "（未标注地区）"


def render_picks(picks: Sequence[Pick]) -> str:
    """One line per quoted sentence, best first; a region's lines stay together."""
    by_region: dict[str, list[Pick]] = {}
    for k in picks:
        by_region.setdefault(place_label(k.passage.chunk), []).append(k)
    lines = []
    for region, group in by_region.items():
        for k in group:
            lines.append(f"- **{region}**：{quote(k.text)}[{k.n}]")
    return "\n".join(lines)


def _emit(draft: Draft, on_token: Callable[[str], None] | None) -> Draft:
    if on_token is not None:
        on_token(draft.text)
    return draft


_FIGURE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:余|多)?\s*(?:平方米|人次|万元|亿元|万余?[个名人元册张套件]?|%|"
    r"[个名家次项人户元条件所座支场期村套册张岁亩吨批类处间级])"
)
_LABEL_CHARS = re.compile(r"[\u4e00-\u9fff“”\"]+$")


def figures(text: str, limit: int = 3) -> list[str]:
    """Key figures of a sentence: numbers with their units (46个, 94.48%, 1300余名)."""
    found = _FIGURE.findall(squash_spaces(unicodedata.normalize("NFKC", text)))
    out: list[str] = []
    for f in found:
        f = f.replace(" ", "")
        if f not in out and not re.fullmatch(r"\d{4}年?", f):
            out.append(f)
    return out[:limit]


def labelled_figures(text: str, limit: int = 3) -> list[str]:
    """Figures with the words that say what they count: "社区党群服务站68个", "党员1300余名".

    The label is the run of Chinese text right before the number within its clause (or,
    when the number leads its clause, the words right after the unit).
    """
    norm = squash_spaces(unicodedata.normalize("NFKC", text))
    out: list[str] = []
    for m in _FIGURE.finditer(norm):
        fig = m.group(0).replace(" ", "")
        if re.fullmatch(r"\d{4}年?", fig):
            continue
        after = _nouns(norm[m.end() : m.end() + 14], leading=True)
        if len(after) >= 2 and not fig.endswith("%"):
            # “68个社区党群服务站”: the counted thing follows the measure word.
            item = f"{fig}{after}"
        else:
            clause_start = max(norm.rfind(ch, 0, m.start()) for ch in "，,；;。：:、（(") + 1
            label = _LABEL_CHARS.search(norm[clause_start : m.start()])
            words = label.group(0) if label else ""
            words = re.sub(r"^(?:共|全|累计|已|新|其中)+", "", words)
            words = re.sub(r"(?:达到|达|为|有|共|约|计|超过|突破|增至|增加|占)+$", "", words)
            words = _nouns(words[-16:], leading=False) or words[-8:]
            item = f"{words}{fig}" if len(words) >= 2 else fig
        if item not in out:
            out.append(item)
        if len(out) >= limit:
            break
    return out


def _nouns(text: str, *, leading: bool) -> str:
    """The noun phrase at the start (leading) or end of `text`, by jieba's part of speech."""
    import jieba.posseg

    if not text:
        return ""
    with _POS_LOCK:
        words = [(w.word, w.flag) for w in jieba.posseg.lcut(text)]
    if not leading:
        words.reverse()
    kept: list[str] = []
    for word, flag in words:
        nounish = flag.startswith(("n", "vn", "j")) or flag in ("an", "b", "l")
        if not nounish or not re.match(r"[\u4e00-\u9fff]", word):
            break
        kept.append(word)
    if not leading:
        kept.reverse()
    return "".join(kept)


_POS_LOCK = threading.Lock()
