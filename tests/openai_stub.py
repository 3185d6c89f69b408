"""A small, real OpenAI-compatible HTTP server for tests, on 127.0.0.1 on a free port.

`POST /v1/chat/completions`, streaming (SSE, chunked) and not, scripted per test:

    with OpenAIStub() as stub:
        stub.push(Reply.error(500), Reply.ok("……[1]"))
        model = ChatOpenAI(base_url=stub.base_url, api_key="sk-test", model="stub-model")

Reply kinds: text (normal), status (500/503/401/429 with Retry-After, …), hang (no response
until the server stops), trickle (keep-alive bytes forever, content never finishes), cut (the
stream is closed midway, without the final chunk), no_choices (`"choices": []`). Every request
is recorded (headers and JSON body) in `stub.requests`.

Reasoning models: `Reply.ok(text, reasoning="…")` sends the reasoning first in a separate
delta field (`reasoning_content`, as vLLM and DeepSeek do; `reasoning_field` picks another
name), and `Reply.ok(pieces=["<th", "ink>…", "</thi", "nk>答案"])` streams content in exactly
those chunks, so a test can split a `<think>` tag wherever it likes.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    kind: str = "text"
    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    chunk_chars: int = 4
    delay_s: float = 0.0  # between stream chunks
    cut_after: int = 2  # chunks sent before a cut
    finish_reason: str = "stop"
    reasoning: str = ""  # sent before the content in `reasoning_field`
    reasoning_field: str = "reasoning_content"
    pieces: list[str] | None = None  # exact content chunks (overrides text/chunk_chars)

    @classmethod
    def ok(cls, text: str = "", *, pieces: list[str] | None = None, **kw: Any) -> Reply:
        return cls(kind="text", text="".join(pieces) if pieces else text, pieces=pieces, **kw)

    def content_pieces(self) -> list[str]:
        if self.pieces is not None:
            return list(self.pieces)
        size = self.chunk_chars
        return [self.text[i : i + size] for i in range(0, len(self.text), size)]

    def reasoning_pieces(self) -> list[str]:
        size = self.chunk_chars
        return [self.reasoning[i : i + size] for i in range(0, len(self.reasoning), size)]

    @classmethod
    def error(cls, status: int, message: str = "stub error", **kw: Any) -> Reply:
        body = {"error": {"message": message, "type": "server_error", "code": None}}
        return cls(kind="status", status=status, body=body, **kw)

    @classmethod
    def hang(cls) -> Reply:
        return cls(kind="hang")

    @classmethod
    def trickle(cls, interval_s: float = 0.2) -> Reply:
        return cls(kind="trickle", delay_s=interval_s)

    @classmethod
    def cut(cls, text: str, after: int = 2) -> Reply:
        return cls(kind="cut", text=text, cut_after=after)

    @classmethod
    def no_choices(cls) -> Reply:
        return cls(kind="no_choices")


class OpenAIStub:
    """The server; use as a context manager or call start()/stop()."""

    def __init__(self, default: Reply | None = None, model: str = "stub-model") -> None:
        self.default = default or Reply(kind="text", text="报告中未找到相关内容。")
        self.model = model
        self.script: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- control -------------------------------------------------------------------------

    def push(self, *replies: Reply) -> OpenAIStub:
        with self._lock:
            self.script.extend(replies)
        return self

    def next_reply(self) -> Reply:
        with self._lock:
            return self.script.popleft() if self.script else self.default

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAIStub:
        stub = self

        class Handler(_Handler):
            owner = stub

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class _QuietServer(ThreadingHTTPServer):
    """Clients dropping connections (deadlines, cut streams) are expected, not errors."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAIStub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep tests quiet
        pass

    # ---- helpers -------------------------------------------------------------------------

    def _json(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event(self, payload: dict[str, Any] | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        self._chunk(f"data: {text}\n\n".encode())

    def _stream_headers(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

    def _delta(
        self, content: str | None, finish: str | None = None, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        delta: dict[str, Any] = {}
        if content is not None:
            delta = {"role": "assistant", "content": content}
        if extra:
            delta = {"role": "assistant", "content": None, **extra}
        return {
            "id": "chatcmpl-stub",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.owner.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def _completion(
        self, text: str, finish: str = "stop", extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.owner.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, **(extra or {})},
                    "finish_reason": finish,
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }

    # ---- requests ------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/").endswith("/models"):
            self._json(
                200, {"object": "list", "data": [{"id": self.owner.model, "object": "model"}]}
            )
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {}
        owner = self.owner
        with owner._lock:
            owner.requests.append(
                {"path": self.path, "headers": dict(self.headers.items()), "json": body}
            )
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": "unknown endpoint"}})
            return
        reply = owner.next_reply()
        stream = bool(body.get("stream"))
        try:
            self._answer(reply, stream)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _answer(self, reply: Reply, stream: bool) -> None:
        owner = self.owner
        if reply.kind == "status":
            self._json(reply.status, reply.body or {"error": {"message": "error"}}, reply.headers)
            return
        if reply.kind == "hang":
            owner.stopping.wait(120)
            self.close_connection = True
            return
        if reply.kind == "no_choices":
            if stream:
                self._stream_headers()
                self._event({**self._delta(None), "choices": []})
                self._event("[DONE]")
                self._chunk(b"")
            else:
                self._json(200, {**self._completion(""), "choices": []})
            return
        if reply.kind == "trickle":
            self._stream_headers()
            self._event(self._delta(""))
            while not owner.stopping.wait(reply.delay_s):
                self._chunk(b": keep-alive\n\n")
            return
        pieces = reply.content_pieces()
        if reply.kind == "cut":
            if not stream:
                # Promise a longer body than we send, then drop the connection.
                data = json.dumps(self._completion(reply.text)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
            else:
                self._stream_headers()
                for piece in pieces[: reply.cut_after]:
                    self._event(self._delta(piece))
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if not stream:
            if reply.delay_s:
                time.sleep(reply.delay_s)
            extra = {reply.reasoning_field: reply.reasoning} if reply.reasoning else None
            body = self._completion(reply.text, reply.finish_reason, extra)
            self._json(200, body, reply.headers)
            return
        self._stream_headers()
        for piece in reply.reasoning_pieces():
            if reply.delay_s and owner.stopping.wait(reply.delay_s):
                return
            self._event(self._delta(None, extra={reply.reasoning_field: piece}))
        for piece in pieces:
            if reply.delay_s and owner.stopping.wait(reply.delay_s):
                return
            self._event(self._delta(piece))
        self._event(self._delta(None, reply.finish_reason))
        self._event("[DONE]")
        self._chunk(b"")
