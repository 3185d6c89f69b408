"""The LLM answerer: any OpenAI-compatible chat endpoint through langchain-openai's ChatOpenAI.

Every call runs in a worker thread while the caller waits on a queue with the time left, so an
answer has a TOTAL deadline (the client's own timeout only bounds each read, and a server that
trickles bytes never trips it). Failures of any kind give a Chinese notice that never contains
the key, and the offline extract as the answer; a cut-off answer is never presented as complete.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from assistant.answer_offline import OfflineAnswerer
from assistant.answers import OFFLINE, Answerer, Draft
from assistant.citations import NO_CITATION, answer_problems, markers_in
from assistant.prompts import PromptError, PromptLibrary, format_passage, format_passages
from assistant.reasoning import ReasoningFilter, opens_in_prompt
from assistant.settings import Settings
from assistant.tokens import PASSAGE_OVERHEAD_TOKENS, count_tokens, pack_passages
from assistant.types import Passage

log = logging.getLogger(__name__)

FALLBACK_SUFFIX = "已改用离线摘录（以下内容直接摘自报告原文）。"
# A transient failure before any text arrived is retried once more by us, on top of the
# client's own retries (which cover 429/5xx/connection errors).
OWN_RETRIES = 1
MIN_ATTEMPT_S = 1.0


class Deadline:
    """A point in time shared by all LLM calls of one answer."""

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())


def make_chat_model(settings: Settings) -> BaseChatModel | None:
    """ChatOpenAI for the configured endpoint, or None when no LLM is configured."""
    if not settings.llm_configured:
        return None
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    # Local servers (vLLM, Ollama) often need no key, but the client insists on one.
    key = settings.openai_api_key or SecretStr("not-needed")
    return ChatOpenAI(
        model=settings.openai_model,
        base_url=settings.openai_base_url or None,
        api_key=key,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout_s,
        max_retries=max(0, settings.llm_retries),
        max_tokens=settings.llm_max_answer_tokens,
        use_responses_api=False,
        stream_usage=False,
    )


def model_label(chat_model: Any, settings: Settings | None = None) -> str:
    name = (
        getattr(chat_model, "model_name", None)
        or getattr(chat_model, "model", None)
        or (settings.openai_model if settings else None)
        or type(chat_model).__name__
    )
    return f"llm:{name}"


# ---- one call with a deadline ------------------------------------------------------------


@dataclass
class Generation:
    """What came back from one LLM call: the text and whether it finished normally.

    `text` is the answer only; a reasoning model's thinking (`<think>…</think>` in the
    content, or a `reasoning_content` field) is kept apart in `reasoning`.
    """

    text: str = ""
    ok: bool = False
    complete: bool = False
    reason: str = ""  # Chinese, safe to show (never contains the key)
    error: str = ""  # exception type, for logs
    transient: bool = False  # worth one more try when nothing was shown yet
    reasoning: str = ""  # never shown as the answer, never streamed to on_token


def _finish_reason(chunk: Any) -> str | None:
    meta = getattr(chunk, "response_metadata", None) or {}
    reason = meta.get("finish_reason")
    if reason:
        return str(reason)
    info = getattr(chunk, "generation_info", None) or {}
    return info.get("finish_reason")


_REASONING_BLOCKS = ("reasoning", "thinking", "reasoning_content")
_REASONING_FIELDS = ("reasoning_content", "reasoning")


def _text_of(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "".join(
            str(b.get("text") or "") if isinstance(b, dict) else str(b)
            for b in content
            if not (isinstance(b, dict) and b.get("type") in _REASONING_BLOCKS)
        )
    return str(content or "")


def _reasoning_of(message: Any) -> str:
    """Reasoning sent apart from the content: a delta field some langchain-openai versions
    keep in `additional_kwargs` (1.8 drops it), or reasoning content blocks."""
    parts: list[str] = []
    extra = getattr(message, "additional_kwargs", None) or {}
    for name in _REASONING_FIELDS:
        value = extra.get(name)
        if isinstance(value, str):
            parts.append(value)
    content = getattr(message, "content", None)
    if isinstance(content, list):
        for b in content:
            if isinstance(b, dict) and b.get("type") in _REASONING_BLOCKS:
                value = b.get("reasoning") or b.get("thinking") or b.get("text") or ""
                parts.append(value if isinstance(value, str) else "")
    return "".join(parts)


def generate(
    chat_model: BaseChatModel,
    messages: Sequence[BaseMessage],
    *,
    deadline: Deadline,
    on_token: Callable[[str], None] | None = None,
    streaming: bool = True,
    request_timeout: float | None = None,
    retries: int = OWN_RETRIES,
    secrets: Sequence[str] = (),
    held_reasoning: bool = False,
) -> Generation:
    """Run the model with a total deadline; never raises for model or network failures.

    `on_token` gets the answer only, never reasoning; with `held_reasoning` (the template
    opened `<think>` in the prompt) nothing is streamed before the closing tag.
    """
    attempt = 0
    while True:
        gen, emitted = _attempt(
            chat_model,
            messages,
            deadline,
            on_token,
            streaming,
            request_timeout,
            ReasoningFilter(held=held_reasoning),
        )
        if gen.ok or emitted or not gen.transient or attempt >= retries:
            break
        if deadline.remaining() < MIN_ATTEMPT_S:
            break
        attempt += 1
        log.info("retrying the LLM call after %s (attempt %d)", gen.error, attempt + 1)
    if not gen.ok:
        log.warning("LLM call failed: %s", _redact(gen.error, secrets))
    return gen


def _attempt(
    chat_model: BaseChatModel,
    messages: Sequence[BaseMessage],
    deadline: Deadline,
    on_token: Callable[[str], None] | None,
    streaming: bool,
    request_timeout: float | None,
    thinking: ReasoningFilter,
) -> tuple[Generation, bool]:
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    cancel = threading.Event()
    kwargs: dict[str, Any] = {}
    if request_timeout is not None and _accepts_timeout(chat_model):
        kwargs["timeout"] = max(0.5, min(request_timeout, deadline.remaining() + 0.5))

    def work() -> None:
        try:
            if streaming:
                finish = None
                stream = chat_model.stream(list(messages), **kwargs)
                try:
                    for chunk in stream:
                        if cancel.is_set():
                            return
                        finish = _finish_reason(chunk) or finish
                        _put_parts(events, chunk)
                finally:
                    close = getattr(stream, "close", None)
                    if close is not None:
                        close()
                events.put(("done", finish))
            else:
                message = chat_model.invoke(list(messages), **kwargs)
                _put_parts(events, message)
                events.put(("done", _finish_reason(message)))
        except BaseException as exc:  # noqa: BLE001 - reported to the waiting caller
            events.put(("error", exc))

    worker = threading.Thread(target=work, name="llm-call", daemon=True)
    worker.start()
    emitted = False

    def show(text: str) -> None:
        nonlocal emitted
        if text and on_token is not None:
            emitted = True
            on_token(text)

    while True:
        left = deadline.remaining()
        try:
            kind, value = events.get(timeout=left) if left > 0 else events.get_nowait()
        except queue.Empty:
            cancel.set()
            reason = f"大模型未能在 {deadline.seconds:g} 秒内完成回答"
            return Generation(
                thinking.answer,
                ok=False,
                reason=reason,
                error="Deadline",
                reasoning=thinking.reasoning,
            ), emitted
        if kind == "delta":
            show(thinking.feed(value))
            continue
        if kind == "reasoning":
            thinking.add_reasoning(value)
            continue
        if kind == "error":
            text = thinking.answer
            reason = "大模型的回答在传输中途中断" if text.strip() else describe_error(value)
            return Generation(
                text,
                ok=False,
                reason=reason,
                error=type(value).__name__,
                transient=_transient(value),
                reasoning=thinking.reasoning,
            ), emitted
        show(thinking.finish())
        if thinking.leaked:
            log.warning(
                "the model's reasoning had no opening tag and was streamed as answer text; "
                "set ASSISTANT_LLM_THINK_PREFIX=true for this model"
            )
        return _outcome(thinking, value, streaming), emitted


def _put_parts(events: queue.Queue[tuple[str, Any]], message: Any) -> None:
    reasoning = _reasoning_of(message)
    if reasoning:
        events.put(("reasoning", reasoning))
    text = _text_of(message)
    if text:
        events.put(("delta", text))


def _outcome(thinking: ReasoningFilter, finish: str | None, streaming: bool) -> Generation:
    """The Generation of a reply that ended (normally or not) after `finish`."""
    text, reasoning = thinking.answer, thinking.reasoning
    if not text.strip():
        reason = "大模型没有返回任何内容"
        if reasoning.strip() and finish == "length":
            reason += "（思考过程已超出长度上限，可调大 ASSISTANT_LLM_MAX_ANSWER_TOKENS）"
        elif reasoning.strip():
            reason += "（只有思考过程，没有回答）"
        return Generation(
            text,
            ok=False,
            reason=reason,
            error="EmptyReply",
            transient=finish != "length",  # the same limit would cut the thinking again
            reasoning=reasoning,
        )
    if finish == "length":
        return Generation(
            text,
            ok=False,
            reason="大模型的回答超出长度上限被截断",
            error="Length",
            reasoning=reasoning,
        )
    if streaming and finish is None:
        return Generation(
            text,
            ok=False,
            reason="大模型的回答在传输中途中断",
            error="Cut",
            transient=True,
            reasoning=reasoning,
        )
    return Generation(text, ok=True, complete=True, reasoning=reasoning)


def _transient(exc: BaseException) -> bool:
    try:
        import openai
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, openai.APIConnectionError)  # includes APITimeoutError


def _accepts_timeout(chat_model: Any) -> bool:
    # ChatOpenAI passes extra kwargs to the openai client, which takes a per-request timeout.
    return type(chat_model).__module__.startswith("langchain_openai")


def describe_error(exc: BaseException) -> str:
    """A Chinese reason for an LLM failure, built from the error type only (no raw text,
    which may echo credentials)."""
    try:
        import openai
    except ImportError:  # pragma: no cover - openai is a dependency
        openai = None  # type: ignore[assignment]
    status = getattr(exc, "status_code", None)
    if openai is not None:
        if isinstance(exc, openai.APITimeoutError):
            return "大模型服务响应超时"
        if isinstance(exc, openai.APIConnectionError):
            return "无法连接大模型服务，请检查 OPENAI_BASE_URL 和网络"
        if isinstance(exc, openai.AuthenticationError):
            return "大模型服务拒绝了 API 密钥（HTTP 401），请检查 OPENAI_API_KEY"
        if isinstance(exc, openai.PermissionDeniedError):
            return "没有使用该模型的权限（HTTP 403）"
        if isinstance(exc, openai.NotFoundError):
            return "找不到该模型或接口（HTTP 404），请检查 OPENAI_MODEL 和 OPENAI_BASE_URL"
        if isinstance(exc, openai.RateLimitError):
            return "大模型服务限流或额度不足（HTTP 429），请稍后再试"
        if isinstance(exc, openai.APIStatusError):
            return f"大模型服务出错（HTTP {status}）"
        if isinstance(exc, openai.APIError):
            return "大模型服务返回了无法识别的结果"
    if isinstance(exc, (IndexError, KeyError, TypeError, AttributeError, ValueError)):
        return "大模型返回的结果格式无法识别"
    if isinstance(exc, TimeoutError):
        return "大模型服务响应超时"
    if isinstance(exc, (ConnectionError, OSError)):
        return "无法连接大模型服务"
    return f"大模型调用失败（{type(exc).__name__}）"


def _redact(text: str, secrets: Sequence[str]) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return text


def secrets_of(settings: Settings | None) -> list[str]:
    if settings is None or settings.openai_api_key is None:
        return []
    return [settings.openai_api_key.get_secret_value()]


def fallback_notice(reason: str) -> str:
    return f"{reason}，{FALLBACK_SUFFIX}"


# ---- the answerer ------------------------------------------------------------------------


class LLMAnswerer:
    """Answers from the passages with the model; falls back to the offline extract."""

    def __init__(
        self,
        chat_model: BaseChatModel,
        *,
        prompts: PromptLibrary,
        settings: Settings,
        fallback: OfflineAnswerer,
        streaming: bool = True,
    ) -> None:
        self.chat_model = chat_model
        self.prompts = prompts
        self.settings = settings
        self.fallback = fallback
        self.streaming = streaming
        self.name = model_label(chat_model, settings)
        think_prefix = settings.llm_think_prefix
        if think_prefix is None:
            think_prefix = opens_in_prompt(self.name.removeprefix("llm:"))
        self.held_reasoning = bool(think_prefix)

    def new_deadline(self) -> Deadline:
        return Deadline(self.settings.llm_deadline_s)

    def messages(
        self, question: str, passages: Sequence[Passage], style: str = ""
    ) -> list[BaseMessage]:
        """System rules first, then the passages as delimited data, then the question."""
        system = self.prompts.render("system")
        human = self.prompts.render(
            "answer", passages=format_passages(passages), question=question, style=style
        )
        return [SystemMessage(content=system), HumanMessage(content=human)]

    def prompt_tokens(self, question: str, style: str = "") -> int:
        """Tokens of the prompt around the passages (rules, template, question)."""
        return count_prompt_tokens(self.messages(question, [], style), self.settings.tokenizer)

    def call(
        self,
        messages: Sequence[BaseMessage],
        *,
        on_token: Callable[[str], None] | None = None,
        deadline: Deadline | None = None,
        streaming: bool | None = None,
    ) -> Generation:
        return generate(
            self.chat_model,
            messages,
            deadline=deadline or self.new_deadline(),
            on_token=on_token,
            streaming=self.streaming if streaming is None else streaming,
            request_timeout=self.settings.llm_timeout_s,
            secrets=secrets_of(self.settings),
            held_reasoning=self.held_reasoning,
        )

    def answer(
        self,
        question: str,
        passages: list[Passage],
        *,
        regions: list[str] | None = None,
        style: str = "",
        on_token: Callable[[str], None] | None = None,
        deadline: Deadline | None = None,
    ) -> Draft:
        if not passages:
            return self.fallback.answer(question, passages, regions=regions)
        budget = passage_budget(self.settings, self.prompt_tokens(question, style))
        passages = pack(passages, self.settings, budget)
        gen = self.call(
            self.messages(question, passages, style), on_token=on_token, deadline=deadline
        )
        if not gen.ok:
            return _with_passages(
                self.fall_back(question, passages, gen, regions=regions), passages
            )
        text = gen.text.strip()
        problems = answer_problems(text, question)
        if NO_CITATION in problems:
            # Nothing to check it against: a brief writer must not copy it as if checked.
            unchecked = Generation(text, reason="；".join(problems), reasoning=gen.reasoning)
            draft = self.fall_back(question, passages, unchecked, regions=regions)
            draft.failure = "model_uncited"
            return _with_passages(draft, passages)
        return Draft(
            text=text,
            answerer=self.name,
            found=not says_not_found(text),
            notice="；".join(problems),
            passages=passages,
        )

    def compare(
        self,
        question: str,
        plan: Any,
        *,
        style: str = "",
        on_token: Callable[[str], None] | None = None,
        deadline: Deadline | None = None,
    ) -> Draft:
        """The model's comparison over each region's passages, packed to share the context
        window; the offline comparison of the whole plan when the model fails."""
        from assistant import compare as cmp

        if not plan.found:
            return self.fallback.compare(question, plan, on_token=on_token)
        relevant = sum(1 for part in plan.parts if part.relevant)
        room = passage_budget(self.settings, self.prompt_tokens(question, style))
        budget = max(200, room // max(1, relevant))
        used = cmp.restrict(plan, lambda part: pack(part.passages, self.settings, budget))
        gen = self.call(
            cmp.compare_messages(used, self.prompts, style), on_token=on_token, deadline=deadline
        )
        if not gen.ok:
            draft = fallback_draft(gen, cmp.offline_compare(plan))
            return _with_passages(draft, plan.passages)
        return Draft(
            text=gen.text.strip(), answerer=self.name, found=plan.found, passages=used.passages
        )

    def condense(
        self, history_text: str, question: str, deadline: Deadline | None = None
    ) -> str | None:
        """The model's standalone rewrite of a follow-up, in at most a third of the answer's
        time; None (use the offline rewrite) when the prompt or the model fails."""
        try:
            content = self.prompts.render("condense", history=history_text, question=question)
        except PromptError as exc:
            log.warning("condense prompt unusable: %s", exc)
            return None
        deadline = deadline or self.new_deadline()
        share = Deadline(max(1.0, deadline.remaining() / 3))
        gen = self.call([HumanMessage(content=content)], deadline=share, streaming=False)
        return gen.text if gen.ok else None

    def fall_back(
        self,
        question: str,
        passages: list[Passage],
        gen: Generation,
        *,
        regions: list[str] | None = None,
    ) -> Draft:
        return fallback_draft(gen, self.fallback.answer(question, passages, regions=regions))


def _with_passages(draft: Draft, passages: list[Passage]) -> Draft:
    draft.passages = passages
    return draft


def pack(passages: list[Passage], settings: Settings, budget: int | None = None) -> list[Passage]:
    """Passages within the context budget, counted as they will appear in the prompt."""
    encoding = settings.tokenizer

    def cost(p: Passage) -> int:
        return count_tokens(format_passage(99, p), encoding) + PASSAGE_OVERHEAD_TOKENS // 4

    return pack_passages(passages, budget or settings.context_tokens, encoding=encoding, cost=cost)


def fallback_draft(gen: Generation, offline: Draft, failure: str = "model_failed") -> Draft:
    """The offline answer under a notice of why the model's answer is not shown."""
    notice = fallback_notice(gen.reason)
    return Draft(
        failure=failure,
        text=f"> ⚠️ {notice}\n\n{offline.text}",
        answerer=OFFLINE,
        found=offline.found,
        complete=False,
        notice=notice,
        partial=gen.text,
        require_citation=False,
    )


def says_not_found(text: str) -> bool:
    """The model said the reports do not cover the question (and cited nothing)."""
    said = "未找到" in text or "没有找到" in text or "未涉及" in text
    return said and "[" not in text and not markers_in(text)


# Per message, the chat template's role markers and separators (OpenAI's cookbook counts 3-4
# for its models; Qwen's and DeepSeek's templates add about as many). Plus the reply primer.
MESSAGE_OVERHEAD_TOKENS = 4
REPLY_PRIMER_TOKENS = 3


def count_prompt_tokens(messages: Sequence[BaseMessage], encoding: str) -> int:
    """Tokens the messages take in the context window, as counted by our tokenizer."""
    return REPLY_PRIMER_TOKENS + sum(
        count_tokens(_text_of(m), encoding) + MESSAGE_OVERHEAD_TOKENS for m in messages
    )


def passage_budget(settings: Settings, prompt_tokens: int) -> int:
    """Tokens left for passages: the configured budget, but never more than the model's
    context window minus the reserved answer length and the rest of the prompt."""
    room = settings.llm_context_tokens - settings.llm_max_answer_tokens - max(0, prompt_tokens)
    return max(1, min(settings.context_tokens, room))


def make_answerer(
    settings: Settings,
    chat_model: BaseChatModel | None = None,
    offline: bool = False,
    *,
    prompts: PromptLibrary | None = None,
    region_names: dict[str, str] | None = None,
    retriever: Any = None,
) -> Answerer:
    """The one factory: the offline extract, or the LLM (with the offline extract as fallback).

    With a `retriever`, the offline extract reads the library's region names and bigram
    statistics from it at each question, so one answerer serves a changing library.
    """
    names: Any = region_names
    stats = None
    embeddings = None
    if retriever is not None:
        embeddings = getattr(getattr(retriever, "store", None), "embeddings", None)
        from assistant.conversation import region_names_of

        names = region_names if region_names is not None else lambda: region_names_of(retriever)
        stats = getattr(retriever, "gram_stats", None)
    fallback = OfflineAnswerer(names, stats=stats, embeddings=embeddings)
    if offline or settings.offline:
        return fallback
    model = chat_model if chat_model is not None else make_chat_model(settings)
    if model is None:
        return fallback
    return LLMAnswerer(
        model,
        prompts=prompts or PromptLibrary(settings.prompts_dir),
        settings=settings,
        fallback=fallback,
    )
