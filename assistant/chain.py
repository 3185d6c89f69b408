"""Question in, checked Answer out: validate → condense → retrieve → pack → answer → verify.

`answer_question` is what the CLI, the UI, the API and the tests call. Which answerer writes
the text (offline extract or LLM) is decided once per process by `make_answerer` from the
settings (`Assistant.answerer`); the chain only orchestrates and never looks at its type.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import threading
import time
import traceback
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from assistant import compare as cmp
from assistant.answer_llm import Deadline, make_answerer, pack, secrets_of
from assistant.answers import (
    MODES,
    OFFLINE,
    OFFLINE_NOT_FOUND_LABEL,
    Answer,
    Answerer,
    Draft,
    neutralize_markdown,
)
from assistant.citations import verify_citations
from assistant.conversation import condense_question, region_names_of
from assistant.prompts import PromptError, PromptLibrary
from assistant.scope import (
    Scope,
    empty_scope_message,
    place_message,
    regions_within,
    uncovered_places,
)
from assistant.scope import warm as warm_gazetteer
from assistant.settings import Settings
from assistant.types import Passage

log = logging.getLogger(__name__)

MAX_K = 50
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
EXAMPLE = "例如：“各地怎样整顿软弱涣散党组织？”"

__all__ = [
    "MODES",
    "answer_question",
    "make_answerer",
    "pack",
    "stream_answer",
    "validate_question",
]

# What a user reads when answering failed for a reason we did not foresee; the details go to
# the log under the same reference, never to the screen.
INTERNAL_ERROR = (
    "抱歉，回答这个问题时出现了内部错误，问题没有得到回答。请稍后重试或换个问法；"
    "如果一再出现，请把错误编号 {ref} 告诉管理员（详情已记入日志）。"
)


def validate_question(question: Any, max_chars: int) -> tuple[str, str]:
    """(usable question, message for the user). An empty usable question means: do not search."""
    if not isinstance(question, str):
        question = "" if question is None else str(question)
    text = _CONTROL.sub("", question).strip()
    if not text:
        return "", f"请输入问题，{EXAMPLE}"
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        return "", f"问题中没有可检索的文字，请用文字描述想了解的内容，{EXAMPLE}"
    if len(text) > max_chars:
        return text[:max_chars], f"问题过长（{len(question)} 字），只使用了前 {max_chars} 字。"
    return text, ""


def answer_question(
    question: str,
    *,
    retriever: Any,
    settings: Settings,
    history: list[dict] | None = None,
    mode: str = "auto",
    regions: list[str] | None = None,
    k: int | None = None,
    prompt: str | None = None,
    offline: bool = False,
    chat_model: Any = None,
    prompts: PromptLibrary | None = None,
    on_token: Callable[[str], None] | None = None,
    answerer: Answerer | None = None,
    scope: Scope | None = None,
) -> Answer:
    """Answer one question from the reports; never raises for bad questions or model failures.

    `answerer` is the process's shared one (`Assistant.answerer`); without it one is built
    from the settings, `chat_model` and `offline` for this call. The whole question sees one
    snapshot of the library (`retriever.pinned()`), however many searches it makes.
    """
    pinned = getattr(retriever, "pinned", None)
    with pinned() if pinned is not None else contextlib.nullcontext():
        return _answer(
            question,
            retriever=retriever,
            settings=settings,
            history=history,
            mode=mode,
            regions=regions,
            k=k,
            prompt=prompt,
            offline=offline,
            chat_model=chat_model,
            prompts=prompts,
            on_token=on_token,
            answerer=answerer,
            scope=scope,
        )


def _answer(
    question: str,
    *,
    retriever: Any,
    settings: Settings,
    history: list[dict] | None,
    mode: str,
    regions: list[str] | None,
    k: int | None,
    prompt: str | None,
    offline: bool,
    chat_model: Any,
    prompts: PromptLibrary | None,
    on_token: Callable[[str], None] | None,
    answerer: Answerer | None,
    scope: Scope | None,
) -> Answer:
    t0 = time.perf_counter()
    text, message = validate_question(question, settings.max_question_chars)
    if not text:
        ans = Answer(
            question=str(question or ""),
            standalone_question="",
            mode="compare" if mode == "compare" else "qa",
            answer=message,
            found=False,
            notice=message,
            failure="invalid_question",
        )
        ans.timings_ms = {"retrieve": 0.0, "answer": 0.0, "total": _ms(t0)}
        return ans
    notices = [message] if message else []
    prompts = prompts or PromptLibrary(settings.prompts_dir)
    names = region_names_of(retriever)
    if answerer is None:
        answerer = make_answerer(
            settings, chat_model, offline, prompts=prompts, retriever=retriever
        )
    warm_gazetteer()  # a one-time load must not eat the model's deadline
    deadline = Deadline(settings.llm_deadline_s)  # one for the whole answer, rewrite included

    style, style_notice = _style(prompts, prompt, text)
    if style_notice:
        notices.append(style_notice)

    standalone = condense_question(
        text,
        history,
        region_names=names,
        llm=lambda history_text: answerer.condense(history_text, text, deadline),
    )
    regions = [r for r in (regions or []) if r] or None
    scope = Scope.of(
        scope.doc_ids if scope else None,
        [*(scope.regions if scope else ()), *(regions or ())],
        scope.kinds if scope else None,
        scope.years if scope else None,
    )
    doc_ids: list[str] | None = None
    if scope.limited:
        doc_ids = [d.doc_id for d in retriever.documents() if scope.admits(d)]
    elif scope.regions:
        docs = _documents(retriever)
        if docs and not any(scope.admits(d) for d in docs):
            doc_ids = []
    if doc_ids is not None and not doc_ids:
        return _empty_scope(text, standalone, mode, scope, prompt, answerer, notices, t0)
    regions = list(scope.regions) or None
    scoped_regions = None
    if doc_ids is not None and not regions:
        in_scope = set(doc_ids)
        scoped_regions = _unique(d.region for d in retriever.documents() if d.doc_id in in_scope)
    named = list(regions or _detect(retriever, standalone))
    if not named:
        inside = regions_within(standalone, retriever.regions())
        if inside:
            named = inside
            regions = inside
    used_mode = _mode(mode)
    if used_mode == "auto":
        used_mode = "compare" if cmp.is_cross_question(standalone, named) else "qa"
    per_region = max(1, min(int(k), MAX_K)) if k else cmp.PER_REGION_K
    k = max(1, min(int(k or settings.top_k), MAX_K))

    ans = Answer(
        question=text,
        standalone_question=standalone,
        mode=used_mode,
        answerer=answerer.name,
        prompt=prompt or "",
    )
    try:
        if used_mode == "compare":
            compare_regions = list(
                regions or (named if len(named) >= 2 else scoped_regions or retriever.regions())
            )
            _compare(
                ans,
                standalone,
                retriever,
                settings,
                answerer,
                names,
                compare_regions,
                per_region,
                style,
                on_token,
                deadline,
                doc_ids,
            )
        else:
            _qa(
                ans,
                standalone,
                retriever,
                settings,
                answerer,
                regions,
                k,
                style,
                on_token,
                deadline,
                doc_ids,
                names,
            )
    except PromptError as exc:
        _fail(
            ans,
            f"提示词文件有问题：{exc}。请在“提示词”页面修正，或运行 assistant prompts check。",
            settings,
            "prompt_error",
        )
    except Exception:  # noqa: BLE001 - a user's question must never crash the app
        ref = uuid.uuid4().hex[:8]
        # The traceback may quote a key (a URL, a header): redacted like everything shown.
        log.error("answering failed (ref %s)\n%s", ref, _redact(traceback.format_exc(), settings))
        _fail(ans, INTERNAL_ERROR.format(ref=ref), settings, "error")

    if notices:
        ans.notice = "；".join([*notices, ans.notice] if ans.notice else notices)
        ans.answer = "".join(f"> {n}\n\n" for n in notices) + ans.answer
    ans.timings_ms["total"] = _ms(t0)
    for key in ("retrieve", "answer"):
        ans.timings_ms.setdefault(key, 0.0)
    return ans


def stream_answer(question: str, **kwargs: Any) -> Iterator[str | Answer]:
    """Text deltas as they arrive, then the final checked Answer as the last item.

    The streamed text is provisional: show the final Answer's `answer` when it arrives
    (citations renumbered, or the offline extract when the model failed).
    """
    events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def run() -> None:
        try:
            ans = answer_question(question, on_token=lambda t: events.put(("token", t)), **kwargs)
            events.put(("answer", ans))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            events.put(("error", exc))

    threading.Thread(target=run, name="answer", daemon=True).start()
    while True:
        kind, value = events.get()
        if kind == "token":
            yield value
        elif kind == "answer":
            yield value
            return
        else:
            raise value


# ---- steps -------------------------------------------------------------------------------


def _qa(
    ans: Answer,
    question: str,
    retriever: Any,
    settings: Settings,
    answerer: Any,
    regions: list[str] | None,
    k: int,
    style: str,
    on_token: Callable[[str], None] | None,
    deadline: Deadline,
    doc_ids: list[str] | None = None,
    names: dict[str, str] | None = None,
) -> None:
    t = time.perf_counter()
    if not regions and _open_question(question, names or {}):
        # A theme over the whole library ("党组织如何通过协商议事推动基层治理？") is answered
        # from several reports: look wider, so more than the top few passages' reports count.
        k = min(MAX_K, 2 * k)
    if doc_ids is None:
        passages = list(retriever.search(question, k=k, regions=regions))
    else:
        passages = list(retriever.search(question, k=k, regions=regions, doc_ids=doc_ids))
    ans.timings_ms["retrieve"] = _ms(t)
    ans.retrieved = passages
    t = time.perf_counter()
    library = list(retriever.regions())
    if doc_ids is not None:
        in_scope = set(doc_ids)
        library = _unique(d.region for d in retriever.documents() if d.doc_id in in_scope)
    stats = _stats_of(retriever)
    mentioned = stats.mentions if stats is not None else None
    places = [] if regions else uncovered_places(question, library, passages, mentioned)
    if places:
        draft = Draft(
            text=f"{OFFLINE_NOT_FOUND_LABEL}\n\n{place_message(places, library)}",
            answerer=OFFLINE,
            found=False,
            require_citation=False,
            evidence="weak",
            failure="place_not_in_library",
        )
        if on_token is not None:
            on_token(draft.text)
        _finish(ans, draft, [], settings)
        ans.timings_ms["answer"] = _ms(t)
        return
    draft = answerer.answer(
        question, passages, regions=regions, style=style, on_token=on_token, deadline=deadline
    )
    _finish(ans, draft, passages if draft.passages is None else draft.passages, settings)
    ans.timings_ms["answer"] = _ms(t)


def _compare(
    ans: Answer,
    question: str,
    retriever: Any,
    settings: Settings,
    answerer: Answerer,
    names: dict[str, str],
    regions: Sequence[str],
    k: int,
    style: str,
    on_token: Callable[[str], None] | None,
    deadline: Deadline,
    doc_ids: list[str] | None = None,
) -> None:
    t = time.perf_counter()
    plan = cmp.plan(
        question,
        retriever=retriever,
        regions=list(regions),
        region_names=names,
        k=k,
        stats=_stats_of(retriever),
        doc_ids=doc_ids,
    )
    ans.timings_ms["retrieve"] = _ms(t)
    ans.retrieved = plan.retrieved
    t = time.perf_counter()
    draft = answerer.compare(question, plan, style=style, on_token=on_token, deadline=deadline)
    used = plan
    if draft.passages is not None and draft.passages is not plan.passages:
        used = cmp.restrict(plan, _keeping(draft.passages))
    _finish(ans, draft, used.passages, settings)
    ans.regions = cmp.region_summaries(
        ans.answer, used, ans.citations, draft.regions, used.passages
    )
    ans.timings_ms["answer"] = _ms(t)


def _keeping(passages: list[Passage]) -> Callable[[Any], list[Passage]]:
    """A `cmp.restrict` rule keeping, in each region, the passages the answerer used."""
    kept = {id(p) for p in passages}
    return lambda part: [p for p in part.passages if id(p) in kept]


def _empty_scope(
    text: str,
    standalone: str,
    mode: str,
    scope: Scope,
    prompt: str | None,
    answerer: Answerer,
    notices: list[str],
    t0: float,
) -> Answer:
    """Nothing in the library matches the chosen scope: say so, search nothing."""
    message = empty_scope_message(scope)
    ans = Answer(
        question=text,
        standalone_question=standalone,
        mode="compare" if mode == "compare" else "qa",
        answerer=answerer.name,
        prompt=prompt or "",
        answer="".join(f"> {n}\n\n" for n in notices) + message,
        found=False,
        notice="；".join([*notices, message]),
        failure="empty_scope",
    )
    ans.timings_ms = {"retrieve": 0.0, "answer": 0.0, "total": _ms(t0)}
    return ans


def _open_question(question: str, names: dict[str, str]) -> bool:
    """No place named, no figure, date or one named thing asked: an open question about a
    theme."""
    from assistant.answer_offline import analyze

    return analyze(question, names).open


def _documents(retriever: Any) -> list[Any]:
    fn = getattr(retriever, "documents", None)
    return list(fn()) if fn is not None else []


def _unique(values: Any) -> list[str]:
    out: list[str] = []
    for v in values:
        if v and v not in out:
            out.append(v)
    return out


def _finish(ans: Answer, draft: Draft, passages: list[Passage], settings: Settings) -> None:
    # Redact first, so nothing derived from the text (unsupported sentences) carries a key.
    text, citations, unsupported = verify_citations(
        _redact(draft.text, settings), passages, require_citation=draft.require_citation
    )
    ans.answer = neutralize_markdown(text)
    ans.citations = citations
    ans.unsupported = unsupported
    ans.answerer = draft.answerer
    ans.found = bool(draft.found and passages)
    ans.complete = draft.complete
    ans.notice = draft.notice
    ans.partial = _redact(draft.partial, settings)
    ans.evidence = draft.evidence
    ans.failure = draft.failure or ("" if ans.found else "not_found")


def _fail(ans: Answer, message: str, settings: Settings, failure: str) -> None:
    message = _redact(message, settings)
    ans.answer = message
    ans.notice = message
    ans.found = False
    ans.complete = False
    ans.failure = failure
    ans.citations, ans.unsupported, ans.regions = [], [], []


def _style(prompts: PromptLibrary, name: str | None, question: str) -> tuple[str, str]:
    if not name:
        return "", ""
    try:
        return prompts.profile(name).render(question=question).strip(), ""
    except PromptError as exc:
        return "", f"提示词配置不可用（{exc}），已按默认风格回答"


def _stats_of(retriever: Any):
    fn = getattr(retriever, "gram_stats", None)
    return fn() if fn is not None else None


def _detect(retriever: Any, question: str) -> list[str]:
    try:
        return list(retriever.detect_regions(question))
    except Exception:  # noqa: BLE001 - detection is a hint only
        return []


def _mode(mode: str | None) -> str:
    return mode if mode in MODES else "auto"


def _redact(text: str, settings: Settings) -> str:
    for secret in secrets_of(settings):
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 1)
