"""HTTP API for other tools (`assistant serve`): OpenAI-compatible chat completions and search.

`POST /v1/chat/completions` answers from the reports with verified citations, so any OpenAI
client can use the knowledge base; the answer's citations and metadata ride along as extra
top-level fields. `POST /v1/search` returns the retrieved passages. One `Assistant` serves
every request; FastAPI runs the sync endpoints in its threadpool, concurrently.

Streaming: the deltas are the answerer's provisional text. The citation check may change it
afterwards (markers renumbered, a notice prefixed, or the offline extract instead of a cut
model answer). The final chunk therefore always carries the verified text as `answer`, and
when it is not simply the continuation of what was streamed, one more delta appends it under
a heading (`REVISED_HEADING`), so a client that only concatenates deltas still ends with the
verified answer and is told which text counts.
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.answers import OFFLINE, Answer, Citation
from assistant.conversation import condense_offline, region_names_of
from assistant.embeddings import EmbeddingError
from assistant.scope import Scope, empty_scope_message
from assistant.service import Assistant
from assistant.store import StoreError
from assistant.streaming import StreamTimeout, TokenStream
from assistant.types import Passage

log = logging.getLogger(__name__)

MODEL_ID = "dangjian-assistant"
MAX_K = 50
MAX_HISTORY_MESSAGES = 50  # bounds the work a long client-side conversation can cause
REVISED_HEADING = "\n\n---\n\n**核对后的回答（引用编号与出处以此为准）：**\n\n"
ENDPOINTS = "GET /v1/models、POST /v1/chat/completions、POST /v1/search"
CHAT_EXAMPLE = '{"model": "dangjian-assistant", "messages": [{"role": "user", "content": "各地怎样整顿软弱涣散党组织？"}]}'
SEARCH_EXAMPLE = '{"query": "整顿软弱涣散党组织", "k": 5}'


# ---- requests ----------------------------------------------------------------------------


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """OpenAI's request; `temperature` and the like are accepted and ignored.

    `mode`, `regions`, `doc_ids`, `kinds`, `years` and `k` are extensions (the openai
    client's `extra_body`); the last four limit the answer to chosen reports.
    """

    model_config = ConfigDict(extra="allow")

    model: str | None = None  # any name: tools send their own
    messages: list[ChatMessage]
    stream: bool = False
    mode: Literal["auto", "qa", "compare"] = "auto"
    regions: list[str] | None = None
    doc_ids: list[str] | None = None
    kinds: list[str] | None = None
    years: list[str | int] | None = None
    k: int | None = Field(None, ge=1, le=MAX_K)

    def scope(self) -> Scope:
        return Scope.of(self.doc_ids, None, self.kinds, self.years)


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str
    k: int | None = Field(None, ge=1, le=MAX_K)
    regions: list[str] | str | None = None
    doc_ids: list[str] | None = None
    kinds: list[str] | None = None
    years: list[str | int] | None = None


# ---- errors in OpenAI's shape ------------------------------------------------------------


class ApiError(Exception):
    """An error a client can act on; the message (Chinese) says what to do."""

    def __init__(
        self, status: int, message: str, code: str, kind: str = "invalid_request_error"
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.kind = status, message, code, kind


def error_body(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _error_response(
    status: int, message: str, code: str | None, kind: str = "invalid_request_error", **kw: Any
) -> JSONResponse:
    return JSONResponse(error_body(message, kind, code), status_code=status, **kw)


_REASONS = {
    "missing": "缺少该字段",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "string_type": "应为字符串",
    "list_type": "应为列表",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "greater_than_equal": f"应在 1 到 {MAX_K} 之间",
    "less_than_equal": f"应在 1 到 {MAX_K} 之间",
    "literal_error": "取值无效（mode 可选 auto、qa、compare）",
    "extra_forbidden": "不是可用的字段",
}


def _validation_message(exc: RequestValidationError, path: str) -> tuple[str, str]:
    problems = []
    code = "invalid_request"
    for err in exc.errors()[:3]:
        kind = str(err.get("type", ""))
        if kind == "json_invalid":
            code = "invalid_json"
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "请求体"
        problems.append(f"{loc}：{_REASONS.get(kind, err.get('msg', '格式不对'))}")
    example = SEARCH_EXAMPLE if path.endswith("/search") else CHAT_EXAMPLE
    return f"请求格式不正确（{'；'.join(problems)}）。请发送 JSON，例如：{example}", code


# ---- authentication ----------------------------------------------------------------------


class BearerAuth:
    """ASGI middleware: with `ASSISTANT_API_KEY` set, every /v1 request needs the key.

    Checked before the body is read, so a request without the key learns nothing else.
    """

    def __init__(self, app: Any, settings: Any) -> None:
        self.app = app
        self.settings = settings

    def _allowed(self, scope: dict[str, Any]) -> bool:
        secret = self.settings.api_key
        if secret is None:
            return True
        given = b""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                given = value
                break
        scheme, _, token = given.partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        return hmac.compare_digest(token.strip(), secret.get_secret_value().encode("utf-8"))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1") and not self._allowed(scope):
            response = _error_response(
                401,
                "API 密钥缺失或不正确。请在请求头中加入 Authorization: Bearer <密钥>"
                "（密钥即服务端的 ASSISTANT_API_KEY）。",
                "invalid_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


# ---- shapes of the answers ---------------------------------------------------------------


def citation_dict(c: Citation) -> dict[str, Any]:
    return {
        "n": c.n,
        "chunk_id": c.chunk_id,
        "doc_id": c.doc_id,
        "title": c.title,
        "region": c.region,
        "section": c.section,
        "page": getattr(c, "page", 0) or None,  # null when unknown
        "quote": c.quote,
    }


def passage_dict(p: Passage) -> dict[str, Any]:
    c = p.chunk
    return {
        "chunk_id": c.chunk_id,
        "doc_id": c.doc_id,
        "title": c.title,
        "region": c.region,
        "section": c.section,
        "page": getattr(c, "page", 0) or None,
        "score": round(float(p.score), 6),
        "text": c.text,
    }


def answer_fields(ans: Answer) -> dict[str, Any]:
    """What an OpenAI response lacks: the citations and how the answer came about."""
    return {
        "citations": [citation_dict(c) for c in ans.citations],
        "standalone_question": ans.standalone_question or ans.question,
        "answerer": ans.answerer,
        "found": ans.found,
        "mode": ans.mode,
        "complete": ans.complete,
        "notice": ans.notice,
    }


def revision(streamed: str, final: str) -> str:
    """The delta that turns the streamed text into one ending with the verified answer."""
    if final == streamed:
        return ""
    if final.startswith(streamed):
        return final[len(streamed) :]
    return REVISED_HEADING + final


def _text_of(message: ChatMessage) -> str:
    content = message.content
    if isinstance(content, list):  # content parts: keep the text ones
        return "".join(
            str(part.get("text") or "") for part in content if part.get("type") == "text"
        )
    return content or ""


def conversation(
    messages: list[ChatMessage], names: dict[str, str]
) -> tuple[str, list[dict[str, str]]]:
    """(question, history) from OpenAI messages: the last user message is the question.

    Earlier user turns get their standalone form rebuilt offline (a client sends back only
    what was said), so a chain of follow-ups (“那大连呢？” then “那浮山县呢？”) keeps its topic.
    System messages are ignored: the assistant's instructions are its prompt files.
    """
    if not messages:
        raise ApiError(
            400,
            f"messages 不能为空。请至少发送一条 user 消息，例如：{CHAT_EXAMPLE}",
            "empty_messages",
        )
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last is None:
        raise ApiError(
            400,
            "messages 中没有 user 消息。请把问题放在 role 为 user 的消息里。",
            "no_user_message",
        )
    question = _text_of(messages[last]).strip()
    if not question:
        raise ApiError(
            400,
            "最后一条 user 消息是空的。请在其中写出问题，例如“各地怎样整顿软弱涣散党组织？”",
            "empty_question",
        )
    history: list[dict[str, str]] = []
    for m in messages[:last][-MAX_HISTORY_MESSAGES:]:
        if m.role not in ("user", "assistant"):
            continue
        text = _text_of(m)
        turn = {"role": m.role, "content": text}
        if m.role == "user":
            turn["standalone_question"] = condense_offline(text.strip(), history, names)
        history.append(turn)
    return question, history


# ---- the app -----------------------------------------------------------------------------


def create_app(assistant: Assistant) -> FastAPI:
    """The API over one existing Assistant (shared by all requests)."""
    app = FastAPI(
        title="党建报告问答助手 API",
        description="OpenAI 兼容的问答接口（回答附带经核对的出处）与段落检索。",
        version="1",
    )
    app.add_middleware(BearerAuth, settings=assistant.settings)
    app.state.assistant = assistant
    started = int(time.time())
    assistant.prompts  # noqa: B018 - built once here, not raced for by the first requests
    stream_timeout_s = assistant.settings.llm_deadline_s + 60

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error_response(exc.status, exc.message, exc.code, exc.kind)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, code = _validation_message(exc, request.url.path)
        return _error_response(400, message, code)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"没有接口 {request.url.path}。可用的接口：{ENDPOINTS}。"
        elif exc.status_code == 405:
            message = f"{request.method} 不适用于 {request.url.path}。可用的接口：{ENDPOINTS}。"
        else:
            message = str(exc.detail)
        return _error_response(exc.status_code, message, f"http_{exc.status_code}")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "request failed: %s", type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG)
        )
        return _error_response(
            500,
            f"服务端发生意外问题（{type(exc).__name__}）。请稍后重试；"
            "管理员可设置 ASSISTANT_LOG_LEVEL=DEBUG 查看详情。",
            "internal_error",
            "server_error",
        )

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        answerer = assistant.answerer_name
        how = "离线摘录（答案直接摘自报告原文）" if answerer == OFFLINE else f"大模型 {answerer}"
        return {
            "object": "list",
            "data": [
                {
                    "id": MODEL_ID,
                    "object": "model",
                    "created": started,
                    "owned_by": answerer,
                    "description": f"党建报告问答助手：回答附带经核对的出处；回答方式：{how}。",
                }
            ],
        }

    @app.post("/v1/chat/completions")
    def chat_completions(request: ChatRequest) -> Any:
        question, history = conversation(request.messages, region_names_of(assistant.retriever))
        options = {
            "history": history,
            "mode": request.mode,
            "regions": request.regions,
            "k": request.k,
            "scope": request.scope(),
        }
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if not request.stream:
            ans = assistant.ask(question, **options)
            return {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": MODEL_ID,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": ans.answer},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                **answer_fields(ans),
            }

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            body = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": MODEL_ID,
                "choices": [
                    {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
                ],
                **extra,
            }
            return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

        def events() -> Iterator[str]:
            stream = TokenStream(
                lambda on_token: assistant.ask(question, on_token=on_token, **options),
                timeout_s=stream_timeout_s,
                name="api-answer",
            )
            try:
                yield chunk({"role": "assistant", "content": ""})
                streamed: list[str] = []
                for token in stream:
                    streamed.append(token)
                    yield chunk({"content": token})
                try:
                    ans = stream.answer()
                except StreamTimeout:
                    message = "回答超时，请稍后重试或缩小问题范围。"
                    yield f"data: {json.dumps(error_body(message, 'server_error', 'timeout'), ensure_ascii=False)}\n\n"
                    return
                except Exception as exc:  # noqa: BLE001 - the status line is already sent
                    log.error("streamed answer failed: %s", type(exc).__name__)
                    message = f"服务端发生意外问题（{type(exc).__name__}），请稍后重试。"
                    yield f"data: {json.dumps(error_body(message, 'server_error', 'internal_error'), ensure_ascii=False)}\n\n"
                    return
                rest = revision("".join(streamed), ans.answer)
                if rest:
                    yield chunk({"content": rest})
                yield chunk({}, "stop", answer=ans.answer, **answer_fields(ans))
                yield "data: [DONE]\n\n"
            finally:
                stream.cancel()  # a client that went away stops a model stream at its next token

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.post("/v1/search")
    def search(request: SearchRequest) -> dict[str, Any]:
        query = request.query.strip()
        if not query:
            raise ApiError(
                400, f"query 不能为空。请写出要检索的内容，例如：{SEARCH_EXAMPLE}", "empty_query"
            )
        regions = [request.regions] if isinstance(request.regions, str) else request.regions
        regions = [r for r in regions or [] if r] or None
        scope = Scope.of(request.doc_ids, regions, request.kinds, request.years)
        try:
            passages = assistant.search(query, k=request.k, regions=regions, scope=scope)
            if scope.any and not passages:
                if not assistant.scoped_docs(scope):
                    return {"results": [], "notice": empty_scope_message(scope)}
        except (StoreError, EmbeddingError) as exc:
            raise ApiError(
                503, f"报告库暂时不可用：{exc}", "store_unavailable", "server_error"
            ) from None
        return {"results": [passage_dict(p) for p in passages]}

    return app


# ---- running it --------------------------------------------------------------------------


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def port_problem(host: str, port: int) -> str | None:
    """Why the port cannot be served on, in words for the user; None when it is free."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return f"无法在 {url_of(host, port)} 上启动（{exc.strerror or exc}）。请换一个端口：--port 8001"
    return None


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the API with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(
        create_app(assistant),
        host=host,
        port=port,
        log_level=assistant.settings.log_level.lower(),
        access_log=False,
    )
