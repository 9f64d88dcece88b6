"""One pure-ASGI middleware for every HTTP request: request id, body limits, timeout, metrics, 500s.

- ``X-Request-ID``: accepted when it is a short token (``[A-Za-z0-9._-]{1,128}``), else generated;
  returned on every response and set in :data:`~quarry.api.errors.REQUEST_ID` for traces and errors.
- Body limits: ``Content-Length`` over the limit is refused before reading; a chunked body is counted
  as it streams. Upload routes get the upload limit, everything else the JSON limit → 413.
- Timeout: a response must *start* within ``timeout_s`` (streams may then run on) → 504.
- Unexpected exceptions become a 500 with a body that says nothing about the cause.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio

from quarry.api.access_log import ACCESS, RequestRecord, write_access_line
from quarry.api.errors import REQUEST_ID, error_body, route_of
from quarry.api.metrics import Metrics

__all__ = ["ServiceMiddleware"]

log = logging.getLogger("quarry.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class BodyTooLarge(Exception):
    pass


class _Exchange:
    """The state of one request as it passes through the middleware."""

    def __init__(self, send: Send, request_id: str) -> None:
        self.send, self.request_id = send, request_id
        self.status = 0
        self.started = False
        self.too_large = False  # set by the body counter: the app's own response is then dropped
        self.ready = anyio.Event()

    async def send_wrapper(self, message: Message) -> None:
        if self.too_large:
            self.ready.set()
            return
        if message["type"] == "http.response.start":
            self.started, self.status = True, int(message["status"])
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
            message["headers"] = [*headers, (b"x-request-id", self.request_id.encode())]
            self.ready.set()
        await self.send(message)

    async def fail(self, status: int, code: str, message: str) -> None:
        if self.started:
            return
        body = json.dumps(error_body(code, message)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", self.request_id.encode()),
        ]
        self.started, self.status = True, status
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})


class ServiceMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body: int,
        max_upload: int,
        timeout_s: float,
        upload_path: re.Pattern[str],
    ) -> None:
        self.app, self.metrics, self.max_body, self.max_upload = app, metrics, max_body, max_upload
        self.timeout_s, self.upload_path = timeout_s, upload_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        record = RequestRecord()
        access_token = ACCESS.set(record)
        scope.setdefault("state", {})["request_id"] = request_id
        exchange = _Exchange(send, request_id)
        try:
            await self._handle(scope, receive, exchange)
        finally:
            REQUEST_ID.reset(token)
            ACCESS.reset(access_token)
            route = route_of(scope)
            seconds = time.perf_counter() - began
            self.metrics.observe_request(scope["method"], route, exchange.status, seconds)
            write_access_line(scope["method"], scope["path"], exchange.status, seconds, request_id, record)

    async def _handle(self, scope: Scope, receive: Receive, exchange: _Exchange) -> None:
        limit = self.max_upload if self.upload_path.match(scope["path"]) else self.max_body
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await exchange.fail(413, "payload_too_large", f"the request body is over the {limit} byte limit")
            return
        error: BaseException | None = None
        timed_out = False

        async def run() -> None:
            nonlocal error
            try:
                await self.app(scope, _limited(receive, limit, exchange), exchange.send_wrapper)
            except Exception as exc:
                error = exc
            finally:
                exchange.ready.set()

        async with anyio.create_task_group() as group:
            group.start_soon(run)
            with anyio.move_on_after(self.timeout_s):
                await exchange.ready.wait()
            if not exchange.ready.is_set():
                timed_out = True
                group.cancel_scope.cancel()
        if exchange.too_large:
            await exchange.fail(413, "payload_too_large", f"the request body is over the {limit} byte limit")
        elif timed_out:
            await exchange.fail(504, "timeout", f"no response within {self.timeout_s:g} s; try a smaller request")
        elif error is not None or not exchange.started:
            log.error("request %s failed", exchange.request_id, exc_info=error)
            await exchange.fail(500, "internal_error", "internal error; report the request id to the operator")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = str(value.decode("latin-1"))
            if _REQUEST_ID.match(text):
                return text
    return uuid.uuid4().hex


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _limited(receive: Receive, limit: int, exchange: _Exchange) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                exchange.too_large = True
                raise BodyTooLarge
        return message

    return wrapped
