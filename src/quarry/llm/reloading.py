"""A chat model that follows a changing source of truth: rebuilt when what it is built from changes.

The serving process builds its chat model once, but what it should serve can change under it: an operator
promotes a LoRA adapter (or rolls one back) in the model registry from another process. A
:class:`ReloadingChatModel` asks ``version()`` at most every ``every_s`` seconds (before a call) and, when the
answer differs from the version it serves, builds the model for the new version and serves it from the next call
on. Calls already running finish on the model they started on; a replaced model is retired (closed, its
resources released) once its last call has ended.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from quarry.llm.base import ChatModel, ChatSettings, Completion, StreamEvent, ToolSpec
from quarry.types import Message

__all__ = ["ReloadingChatModel"]

log = logging.getLogger(__name__)

V = TypeVar("V", bound=Hashable)


@dataclass(slots=True)
class _Serving(Generic[V]):
    version: V
    model: ChatModel
    calls: int = 0
    retired: bool = False


class _Stream:
    """A model's stream that reports its end once: exhausted, failed, closed or dropped unread."""

    def __init__(self, events: Iterator[StreamEvent], on_end: Callable[[], None]) -> None:
        self._events, self._on_end, self._ended = events, on_end, False

    def __iter__(self) -> _Stream:
        return self

    def __next__(self) -> StreamEvent:
        try:
            return next(self._events)
        except BaseException:
            self._end()
            raise

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        try:
            if callable(close):
                close()
        finally:
            self._end()

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._on_end()

    def __del__(self) -> None:
        self._end()


class ReloadingChatModel(Generic[V]):
    """``build(version())``, rebuilt whenever ``version()`` changes (checked at most every ``every_s`` seconds;
    0 = before every call). ``retire(version, model)`` releases a replaced model (default: ``model.close()``).
    A failing ``version()`` keeps the model being served (and is logged)."""

    def __init__(
        self,
        version: Callable[[], V],
        build: Callable[[V], ChatModel],
        *,
        every_s: float = 10.0,
        retire: Callable[[V, ChatModel], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._version, self._build, self.every_s, self._clock = version, build, every_s, clock
        self._retire = retire or (lambda _version, model: model.close())
        # re-entrant: a stream dropped unread may be finalised (and end its call) while this thread holds it
        self._lock = threading.RLock()
        first = version()
        self._serving: _Serving[V] = _Serving(first, build(first))
        self._checked = clock()
        self.reloads = 0

    @property
    def version(self) -> V:
        return self._serving.version

    @property
    def inner(self) -> ChatModel:
        """The model serving now (so :func:`quarry.llm.load_model` and price lookups see through this)."""
        return self._serving.model

    @property
    def model_id(self) -> str:
        return self._serving.model.model_id

    @property
    def supports_json_schema(self) -> bool:
        return self._serving.model.supports_json_schema

    def refresh(self) -> bool:
        """Check the version now (e.g. right after this process promoted a model); True when it changed."""
        with self._lock:
            return self._check()

    def _check(self) -> bool:
        self._checked = self._clock()
        try:
            wanted = self._version()
        except Exception:  # a store hiccup must not take answering down: keep serving what we have
            log.exception("could not read which chat model to serve; keeping %s", self._serving.model.model_id)
            return False
        if wanted == self._serving.version:
            return False
        old, self._serving = self._serving, _Serving(wanted, self._build(wanted))
        self.reloads += 1
        log.info("serving chat model %s (was %s)", self._serving.model.model_id, old.model.model_id)
        old.retired = True
        if old.calls == 0:
            self._retire(old.version, old.model)
        return True

    def _begin(self) -> _Serving[V]:
        with self._lock:
            if self._clock() - self._checked >= self.every_s:
                self._check()
            self._serving.calls += 1
            return self._serving

    def _end(self, serving: _Serving[V]) -> None:
        with self._lock:
            serving.calls -= 1
            last = serving.retired and serving.calls == 0
        if last:
            self._retire(serving.version, serving.model)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Completion:
        serving = self._begin()
        try:
            return serving.model.complete(messages, settings=settings, tools=tools, response_schema=response_schema)
        finally:
            self._end(serving)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Iterator[StreamEvent]:
        serving = self._begin()
        try:
            events = serving.model.stream(messages, settings=settings, tools=tools, response_schema=response_schema)
        except BaseException:
            self._end(serving)
            raise
        return _Stream(events, lambda: self._end(serving))

    def close(self) -> None:
        with self._lock:
            serving = self._serving
            serving.retired = True
            idle = serving.calls == 0
        if idle:
            self._retire(serving.version, serving.model)
