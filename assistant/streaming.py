"""Turn a blocking `ask(..., on_token=callback)` into a token generator plus its final Answer.

The UI hands the generator to `st.write_stream` while the answer is produced on a worker
thread; when the tokens run out, `.answer()` gives the verified Answer (or re-raises the
worker's exception). If the reader stops early (the user asked again, the page reran), the
next token the worker emits raises `StreamCancelled`, so a model stream does not keep
running for nobody.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_TOKEN = "token"
_DONE = "done"
_ERROR = "error"


class StreamCancelled(Exception):
    """Raised inside the worker's token callback once nobody reads the stream any more."""


class StreamTimeout(TimeoutError):
    """The worker produced neither a token nor a result within the allowed time."""


class TokenStream(Generic[T]):
    """Run `produce(on_token)` on a daemon thread; iterate for tokens, then call `answer()`.

    `timeout_s` bounds the silence: the time without a new token, and the wait for the result.
    """

    def __init__(
        self,
        produce: Callable[[Callable[[str], None]], T],
        *,
        timeout_s: float | None = None,
        name: str = "answer-stream",
    ) -> None:
        self._produce = produce
        self._timeout_s = timeout_s
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._cancelled = threading.Event()
        self._finished = threading.Event()
        self._result: T | None = None
        self._error: BaseException | None = None
        self._timed_out = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    # ---- worker side ---------------------------------------------------------------------

    def _on_token(self, token: str) -> None:
        if self._cancelled.is_set():
            raise StreamCancelled("stream reader went away")
        if token:
            self._queue.put((_TOKEN, str(token)))

    def _run(self) -> None:
        try:
            result = self._produce(self._on_token)
        except BaseException as exc:  # handed to the reader, who decides what to show
            self._error = exc
            self._queue.put((_ERROR, exc))
        else:
            self._result = result
            self._queue.put((_DONE, result))
        finally:
            self._finished.set()

    # ---- reader side ---------------------------------------------------------------------

    def start(self) -> TokenStream[T]:
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    def __iter__(self) -> Iterator[str]:
        return self.tokens()

    def tokens(self) -> Iterator[str]:
        """Tokens as they arrive; ends when the worker is done (result or error)."""
        self.start()
        deadline = None if self._timeout_s is None else time.monotonic() + self._timeout_s
        ended = False
        try:
            while True:
                wait = (
                    0.25 if deadline is None else max(0.0, min(0.25, deadline - time.monotonic()))
                )
                try:
                    kind, value = self._queue.get(timeout=wait)
                except queue.Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        self._timed_out = True
                        return
                    continue
                if kind == _TOKEN:
                    yield value
                    if deadline is not None:
                        deadline = time.monotonic() + self._timeout_s
                else:
                    ended = True
                    return
        finally:
            if not ended:
                self.cancel()

    def cancel(self) -> None:
        """Ask the worker to stop at its next token (it cannot be interrupted otherwise)."""
        self._cancelled.set()

    def answer(self, timeout_s: float | None = None) -> T:
        """The worker's result once it finished; re-raises its exception."""
        self.start()
        if self._timed_out and not self._finished.is_set():
            raise StreamTimeout("no answer in time")
        if not self._finished.wait(timeout_s if timeout_s is not None else self._timeout_s):
            self.cancel()
            raise StreamTimeout("no answer in time")
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]

    @property
    def done(self) -> bool:
        return self._finished.is_set()


def stream_ask(assistant: Any, question: str, *, timeout_s: float | None = None, **kwargs: Any):
    """`assistant.ask(question, **kwargs)` as a TokenStream (started)."""

    def produce(on_token: Callable[[str], None]):
        return assistant.ask(question, on_token=on_token, **kwargs)

    return TokenStream(produce, timeout_s=timeout_s).start()
