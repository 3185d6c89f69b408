"""What a question asks for decides what counts as an answer: a figure in the asked unit, a
date, one named thing rather than a range; and only bigrams inside the question's words
count as evidence."""

from __future__ import annotations

import pytest

from assistant import evidence as ev
from assistant.answer_offline import OfflineAnswerer, _counts_asked, analyze, states_measure
from tests.test_answers_fakes import make_chunk, passage, region_names

pytestmark = pytest.mark.unit


def answer(question: str, texts: list[str], region: str = "大连市"):
    ps = [passage(make_chunk(t, region=region, n=i)) for i, t in enumerate(texts, 1)]
    for p in ps:
        p.dense_sim = 0.9
    stats = ev.GramStats(p.chunk.text for p in ps)
    return OfflineAnswerer(region_names(), stats=lambda: stats).answer(question, ps)


def test_bigrams_across_two_words_of_the_question_are_not_evidence() -> None:
    text = "健全村民自治机制，全面落实“四议两公开”制度。"
    f = ev.focus("在健全村民自治机制中要全面落实什么制度？", ev.GramStats([text]))
    assert "自治" in f.weights and "机制" in f.weights
    assert "制中" not in f.weights  # 机制|中: an accident of the wording
    draft = answer("在健全村民自治机制中要全面落实什么制度？", [text])
    assert draft.found and "四议两公开" in draft.sentences[0].text


@pytest.mark.parametrize(
    ("question", "specific", "quantity"),
    [
        ("民主评议党员要按照哪几个程序进行？", True, False),  # which ones, not how many
        ("镇里对党员管理定下的规矩叫什么？", True, False),
        ("文件对驻村第一书记提出了什么要求？", True, False),
        ("Who became secretary of the village Party branch?", True, False),
        ("各地有什么好做法？", False, False),
        ("各地在划分网格方面有哪些做法？", False, False),
        ("党组织如何通过协商议事推动基层治理？", False, False),
        ("一共设立了几个临时党支部？", False, True),
        ("建设中要拿捏好几对关系？", False, True),  # 几对: how many pairs
        # Funds named, no amount asked: a theme, not a money question.
        ("在规范集体资金使用方面有哪些制度安排？", False, False),
        ("去年共投入了多少资金？", False, True),
        # A noun of amount beside "which" asks which one: the answer is a name.
        ("哪种作物的种植规模在全县数第一？", True, False),
        ("全村党员人数是多少？", False, True),
    ],
)
def test_question_grammar_says_one_thing_or_a_range(question, specific, quantity) -> None:
    terms = analyze(question)
    assert terms.specific is specific
    assert terms.quantity is quantity
    assert terms.open is not (specific or quantity)


def test_no_figure_in_the_asked_unit_means_not_found_with_closest_quotes() -> None:
    texts = [
        "市政协推动“院坝协商”向村组延伸，群众的事由群众商量着办。",
        "院坝协商议题由村党组织收集，协商结果向群众公开。",
        "推进基层治理现代化，完善网格管理。",
    ]
    missing = answer("市政协已经开展了多少场院坝协商？", texts)
    assert not missing.found and missing.failure == "not_found"
    assert "没有所问的数字" in missing.text and missing.sentences  # closest quotes kept
    counted = answer("市政协已经开展了多少场院坝协商？", [*texts, "全市已开展院坝协商120余场。"])
    assert counted.found and "120余场" in counted.sentences[0].text


@pytest.mark.parametrize(
    ("question", "text", "key"),
    [
        ("乡村振兴责任制要求坚持几级书记抓？", "全面落实乡村振兴责任制，坚持五级书记抓。", "五级"),
        ("一共提出了多少条具体要求？", "针对市县政协建设提出12项具体要求。", "12项"),
        ("网格员队伍有多少人？", "全区网格员队伍达到1300余名。", "1300余名"),
    ],
)
def test_figures_in_chinese_numerals_and_kindred_units_answer(question, text, key) -> None:
    draft = answer(question, [text, "推进基层治理现代化，完善网格管理。"])
    assert draft.found and key in draft.sentences[0].text


def test_a_when_question_without_a_date_in_the_evidence_is_not_found() -> None:
    texts = [
        "条例印发后，各级党组织认真组织学习。",
        "党员教育管理工作条例明确了党员教育的内容。",
    ]
    missing = answer("党员教育管理工作条例是哪一年印发的？", texts, region="全国")
    assert not missing.found and "没有所问的时间" in missing.text
    dated = answer(
        "党员教育管理工作条例是哪一年印发的？",
        [*texts, "2019年5月，中共中央印发党员教育管理工作条例。"],
        region="全国",
    )
    assert dated.found and "2019年" in dated.sentences[0].text


def test_a_paraphrase_sharing_characters_not_bigrams_still_scores() -> None:
    """社工 for 社区工作者, 固定上岗 for 定岗: no bigram of the question's words is in the
    passage, but its rarer characters are; an unrelated passage shares neither."""
    answer_text = "全市1739名社区工作者全面定岗小区，实行一岗多责。"
    other = "推进农村人居环境整治，完成改厕任务。"
    stats = ev.GramStats([answer_text, other])
    f = ev.focus("让多少名社工固定到小区里上岗？", stats)
    assert ev.char_coverage(f, answer_text) > 0.5 > ev.char_coverage(f, other)
    t = ev.Thresholds(sentence_weight=0.0, char_weight=0.5, dense_weight=0.0, weak=0.3)
    without = ev.Thresholds(sentence_weight=0.0, char_weight=0.0, dense_weight=0.0, weak=0.3)
    ps = [passage(make_chunk(x, region="大连市", n=i)) for i, x in enumerate([answer_text, other])]
    assert ev.assess(f, ps, t).found and not ev.assess(f, ps, without).found
    scores = [e.score for e in ev.assess(f, ps, t).evidence]
    assert scores[0] > scores[1]


@pytest.mark.parametrize(
    ("question", "role"),
    [
        ("城市更新公司党总支书记叫什么名字？", "书记"),
        ("这个项目的负责人是谁？", "负责人"),
        ("该村村主任的姓名是什么？", "主任"),
        ("这个品牌叫什么名字？", ""),  # a name, but not a person's
        ("谁负责社区网格管理？", ""),  # may be an organisation
    ],
)
def test_a_person_asked_for_by_role(question, role) -> None:
    assert analyze(question).role == role


def test_who_holds_a_role_needs_a_name_beside_the_role() -> None:
    texts = [
        "本报讯（通讯员张明）项目党支部成立后，党支部书记由项目公司主要负责同志担任。",
        "项目党支部组织党员突击队，党支部书记带头攻坚，解决群众诉求。",
    ]
    q = "项目党支部书记叫什么名字？"
    missing = answer(q, texts)
    assert not missing.found and "人名" in missing.notice
    named = answer(q, [*texts, "项目党支部书记王建国带领党员突击队连续奋战。"])
    assert named.found and "王建国" in named.text


def test_a_figure_that_names_what_is_asked_comes_first() -> None:
    """How many centres: "覆盖11个街道的社区邻里中心" counts streets; the figure of centres
    is quoted first. (A figure of something else does not make the answer "not found": the
    question may name the counted thing before the unit, 有几个实现了…, or in other words.)"""
    texts = [
        "李沧区创新服务供给，建设覆盖11个街道的社区邻里中心，推广“一窗受理、全科服务”模式。",
        "截至年底，李沧区建成社区邻里中心15个。",
    ]
    draft = answer("李沧区一共建了多少个社区邻里中心？", texts)
    assert draft.found and "15个" in draft.sentences[0].text
    terms = analyze("区里让多少名社工定岗到小区？")
    unit = terms.unit_pattern()
    assert _counts_asked("全区1739名社区工作者全面定岗小区。", unit, terms.counted) == 2
    assert _counts_asked("抽调12名机关干部下沉。", unit, terms.counted) == 0


@pytest.mark.parametrize(
    ("question", "readings"),
    [
        ("这个合作项目的总投资是多少？", [("这个合作项目的总投资", False)]),
        ("全镇农民人均可支配收入一共有多少？", [("镇农民人均可支配收入", False)]),  # ten
        ("便民服务队一共有多少名队员？", [("队员", True)]),
        ("检举有功的人能拿到多少奖金？", [("奖金", True)]),
        # What follows the unit starts with a verb: it may be a relative clause ("走丢的
        # 人") or the predicate of the counted thing before it ("项目有几个实现了覆盖").
        ("帮着找回过多少个走丢的人？", [("走丢的人", True), ("帮着找回过", False)]),
        ("更新项目有几个实现了全覆盖？", [("实现了全覆盖", True), ("更新项目", False)]),
        ("两委干部平均多大年纪？", []),  # 多大: the question word is the noun
        ("How many volunteers are there?", []),
    ],
)
def test_what_a_figure_question_measures(question, readings) -> None:
    assert list(analyze(question).measures) == readings


def test_those_few_is_not_how_many() -> None:
    """那几位 / 这几年 point at people or years; they ask no figure."""
    terms = analyze("那几位两委干部是怎样带头的？")
    assert not terms.quantity and terms.units == []


def test_a_figure_question_whose_measured_thing_stands_by_no_figure_is_not_found() -> None:
    """The passages are on the theme and hold figures, but none beside the thing asked for:
    quoting the other figures would answer a question nobody asked."""
    texts = [
        "林场推进对外合作项目，打造集科研培训、样板展示于一体的示范区。",
        "今年以来，林场完成造林1200亩，管护森林面积达到36万亩。",
    ]
    missing = answer("林场推进的对外合作项目总投资是多少？", texts)
    assert not missing.found and "没有所问的数字" in missing.text and missing.sentences
    stated = answer(
        "林场推进的对外合作项目总投资是多少？",
        [*texts, "对外合作项目总投资2800万元，分三期建设。"],
    )
    assert stated.found and "2800万元" in stated.sentences[0].text


def test_a_counted_thing_named_in_other_words_and_another_unit_still_answers() -> None:
    texts = [
        "“小红伞”志愿项目开展以来，志愿者协助找回走失人员21名，调解纠纷36起。",
        "志愿服务队坚持每周巡逻，服务群众。",
    ]
    draft = answer("“小红伞”志愿项目帮着找回过多少名走丢的人？", texts)
    assert draft.found and "21名" in draft.sentences[0].text
    q = analyze("便民服务队一共有多少名队员？")
    ((measure, counted),) = q.measures
    unit = q.unit_pattern()
    text = "便民服务队的队员们与群众同吃同住，共走访群众15924户。"
    assert not states_measure(text, measure, unit, counted=counted)
    assert states_measure("全县组建便民服务队，共有队员860名。", measure, unit, counted=counted)
    # A figure in the unit that counts another noun does not count the asked one.
    text = "从7个乡镇各选派1名业务骨干，组建便民服务队。"
    assert not states_measure(text, measure, unit, counted=counted)


def test_each_question_of_a_two_question_ask_is_answered() -> None:
    """ "原来喝哪儿的水？后来花了多少钱？": the figure of the second question is quoted too,
    though the first question's 几户 is already met by the first sentence's 9户."""
    text = (
        "原来，上岭组地处偏僻，只有9户人家，世代只能从一口山塘取水。喝上自来水一直是他们的"
        "心愿。今年春天，镇政府和驻村工作队筹集12万元资金，把自来水引到各家各户。"
    )
    q = "上岭组的几户人家原来喝的是哪儿的水？后来镇里和工作队花了多少钱把自来水接进家？"
    draft = answer(q, [text, "推进农村供水工程建设，完善管护机制。"])
    assert draft.found and "山塘" in draft.text and "12万元" in draft.text


@pytest.mark.parametrize(
    ("question", "text", "key"),
    [
        (
            "每月要在几号之前张贴公布？",
            "村委会每月把财务数据填写在公布表上，并在每月10日前张贴公布。",
            "10日前",
        ),
        ("村里把每月几号定为党员活动日？", "村里规定每月10号为全村党员集中活动日。", "10号"),
        ("村里的例会制度定在每个星期哪一天？", "村里实行例会制度，每周二为全村例会日。", "每周二"),
    ],
)
def test_a_day_of_the_month_or_a_weekday_answers_when(question, text, key) -> None:
    draft = answer(question, [text, "推进基层治理现代化，完善网格管理。"])
    assert draft.found and key in draft.sentences[0].text


def test_a_question_on_a_covered_region_quotes_its_closest_passages_as_related() -> None:
    """Weak evidence inside a region the library covers: the region's closest passages are
    quoted as possibly related (as 跨地区比较 would quote them), and what the question asks
    for is still checked in them."""
    texts = [
        "阳春市推行村级阳光财务，在村场店铺、公园、广场、学校等适当位置设置公示牌张贴公示。",
        "公布表一式三份，留底备案一份，村委会办公场所内张贴一份。",
    ]
    ps = [passage(make_chunk(t, region="阳春市", n=i)) for i, t in enumerate(texts, 1)]
    for p in ps:
        p.dense_sim = 0.88
    stats = ev.GramStats([p.chunk.text for p in ps] + ["推进基层治理现代化，完善网格管理。"] * 20)
    off = OfflineAnswerer({"阳春": "阳春市", "阳春市": "阳春市"}, stats=lambda: stats)
    draft = off.answer("阳春把村级财务公布表张贴出去时，一般挑哪些老百姓常去的地方？", ps)
    assert draft.found and draft.evidence == ev.MODERATE and "公园" in draft.text
    figure = off.answer("阳春村里的公示牌每块造价是多少元？", ps)
    assert not figure.found and "没有所问的数字" in figure.text
    # Weak passages that lack the figure too are not quoted.
    assert figure.sentences == [] and "[1]" not in figure.text


def test_a_village_named_in_the_question_scopes_the_answer_to_reports_naming_it() -> None:
    """No region covers a village: a question on one ("石桥镇柳溪村的党支部书记是谁？") is
    answered only from the reports that name it, not by another report's 副书记."""
    village = [
        "石桥镇柳溪村位于县城南部，下辖12个自然村，耕地面积5200亩。",
        "柳溪村党支部组织党员开展产业培训，发展茶叶种植。",
    ]
    other = ["街道党工委副书记李明参加了凤鸣社区党支部的组织生活会并讲话。"]
    ps = [
        passage(make_chunk(t, region="", n=i, doc_id=f"doc{i // 10}"))
        for i, t in [(1, village[0]), (2, village[1]), (11, other[0])]
    ]
    for p in ps:
        p.dense_sim = 0.9
    stats = ev.GramStats([p.chunk.text for p in ps] + ["推进基层治理现代化，完善网格管理。"] * 20)
    off = OfflineAnswerer({}, stats=lambda: stats)
    draft = off.answer("石桥镇柳溪村的党支部书记是谁？", ps)
    assert not draft.found and "李明" not in draft.text
    # Where the village's own report names its secretary, that is the answer.
    ps[1] = passage(make_chunk("柳溪村党支部书记王海带领党员发展茶叶种植。", region="", n=2))
    ps[1].dense_sim = 0.9
    stats = ev.GramStats([p.chunk.text for p in ps] + ["推进基层治理现代化，完善网格管理。"] * 20)
    draft = off.answer("石桥镇柳溪村的党支部书记是谁？", ps)
    assert draft.found and "王海" in draft.sentences[0].text


@pytest.mark.parametrize(
    ("question", "places"),
    [
        ("石桥镇柳溪村的党支部书记是谁？", ["石桥镇", "柳溪村"]),
        ("推进新农村建设和美丽乡村有哪些做法？", []),
        ("城市社区和全村的党员有多少名？", []),
    ],
)
def test_local_places_are_names_not_words(question, places) -> None:
    from assistant.answer_offline import local_places

    stats = ev.GramStats(["石桥镇柳溪村", "新农村 美丽乡村", "城市社区 全村"])
    assert local_places(question, lambda: stats) == places


def test_one_with_a_measure_word_after_as_is_an_article_not_a_count() -> None:
    pattern = analyze("社区党支部现有多少名党员？").unit_pattern()
    assert not pattern.search("作为一名居委干部，要带头服务居民。")
    assert not pattern.search("在座的每一位党员都十分投入。")
    assert pattern.search("党支部共有党员十一名") and pattern.search("现有一名专职党务工作者")


def test_a_document_number_is_an_identifier_not_an_amount() -> None:
    texts = [
        "4月24日，林场党支部组织党员开展集中学习活动。",
        "集中传达学习了《关于开展“三学三强”活动的通知》（某林党发〔2019〕21号）等文件精神。",
    ]
    draft = answer("林场党支部集中学习时传达的通知，文号是多少？", texts)
    assert draft.found and "〔2019〕21号" in draft.sentences[0].text
    missing = answer("林场党支部集中学习时传达的通知，文号是多少？", texts[:1])
    assert not missing.found and "没有所问的编号" in missing.text


def test_a_term_cut_by_jiebas_guess_is_mended_by_the_library() -> None:
    """“公务卡能不能” is cut 公务|卡能 (卡能 made up): 公务卡 is a term the library writes, so
    its pair 务卡 counts, and the passage that names it answers."""
    texts = [
        "严格控制各项开支，自觉执行公务费使用制度，按照规定标准审批。",
        "加强公务卡管理，对持卡人要加强教育，严禁将公务卡挪为私用。",
    ]
    stats = ev.GramStats(texts)
    f = ev.focus("居委的公务卡能不能拿来办私事？", stats)
    assert "务卡" in f.weights and "卡能" not in {g for g, w in f.weights.items() if w > 0}
    ps = [passage(make_chunk(t, n=i)) for i, t in enumerate(texts, 1)]
    fee, card = ev.score_passages(f, ps)
    assert card.score > fee.score
    # A word the library does not write that way gains nothing.
    assert "务卡" not in ev.focus("居委的公务卡能不能拿来办私事？", ev.GramStats(texts[:1])).weights


def test_which_firm_needs_a_firms_name() -> None:
    texts = ["柳溪村发展村级集体经济，建成光伏发电项目，年收入达17万元。"]
    q = "柳溪村的光伏发电项目是由哪家企业建设的？"
    missing = answer(q, texts)
    assert not missing.found and "没有所问的单位名称" in missing.text
    named = answer(q, [texts[0] + "项目由县电力实业有限公司承建。"])
    assert named.found and "有限公司" in named.text


def test_library_contains_is_a_verbatim_search_whatever_the_shortcut() -> None:
    texts = ["公务卡管理制度", "党员活动中心ABC2019年建成", "村级财务公开"]
    stats = ev.GramStats(texts)
    for term in ["公务卡", "务卡管", "ABC2019", "2019年建成", "卡管理制度党员", "财务公示", "Ｂ"]:
        assert stats.contains(term) == any(ev.normalize(term) in ev.normalize(t) for t in texts)
