"""Server-sent events over a synchronous event iterator."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any, TypeVar

from quarry.api.errors import error_body, status_of
from quarry.errors import QuarryError

__all__ = ["SSE_HEADERS", "SSE_RESPONSE", "event", "guarded", "primed"]

log = logging.getLogger("quarry.api")

T = TypeVar("T")

# one event (OpenAPI before 3.2 reads an event stream's ``schema`` as the schema of each event)
_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {"event": {"type": "string"}, "data": {"type": "string", "description": "JSON, or [DONE]"}},
}
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {"schema": _EVENT}}, "description": "JSON, or SSE events"}
}


def event(data: object, name: str | None = None) -> str:
    head = f"event: {name}\n" if name else ""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"{head}data: {payload}\n\n"


def primed(iterator: Iterator[T]) -> Iterator[T]:
    """Pull the first item now, so errors before any output become a normal HTTP error response."""
    try:
        first = next(iterator)
    except StopIteration:
        return iter(())
    return chain([first], iterator)


def guarded(lines: Iterator[str], on_error: Callable[[dict[str, Any]], str]) -> Iterator[str]:
    """``lines``; a failure after the response started becomes one final error event."""
    try:
        yield from lines
    except QuarryError as exc:
        _, code = status_of(exc)
        yield on_error(error_body(code, str(exc)))
    except Exception:
        log.exception("stream failed")
        yield on_error(error_body("internal_error", "internal error; report the request id to the operator"))
