"""Real HTTP servers on 127.0.0.1 for testing chat providers without the internet.

- :class:`ScriptedAnthropicServer` answers ``POST /v1/messages`` from a script of :class:`AnthropicReply`
  (JSON, or Anthropic's SSE event sequence when the request says ``"stream": true``) and checks the key
  (``x-api-key`` or ``Authorization: Bearer``, which newer SDKs send).
- :class:`FaultProxy` fails the first requests as scripted (:class:`Fault`: an HTTP status with an
  optional ``Retry-After``, a hang, or a dropped connection) and forwards the rest to a real upstream
  (e.g. the local llama.cpp server) — or, with no upstream, keeps answering ``always``.

Both run in a background thread, record what they received, and stop cleanly as context managers.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = ["AnthropicReply", "Fault", "FaultProxy", "ScriptedAnthropicServer"]


class _Background:
    """A threaded HTTP server on 127.0.0.1:0 whose handler calls ``self.handle(request)``."""

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self) -> None:
                owner.handle(self)

            def do_GET(self) -> None:
                owner.handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=type(self).__name__, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no path)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> _Background:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_body(request: BaseHTTPRequestHandler) -> bytes:
    length = int(request.headers.get("Content-Length") or 0)
    return request.rfile.read(length) if length else b""


def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
    request.send_response(status)
    for key, value in headers.items():
        request.send_header(key, value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


@dataclass(frozen=True, slots=True)
class AnthropicReply:
    """One scripted answer. ``tool_calls`` are ``(name, input)`` pairs; ``status != 200`` sends an error."""

    text: str = ""
    tool_calls: Sequence[tuple[str, dict[str, Any]]] = ()
    stop_reason: str = "end_turn"
    input_tokens: int = 10
    output_tokens: int = 5
    status: int = 200
    error_type: str = "api_error"
    retry_after: str | None = None


def _message(reply: AnthropicReply, model: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
    for name, arguments in reply.tool_calls:
        content.append({"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:12]}", "name": name, "input": arguments})
    return {
        "id": f"msg_{uuid.uuid4().hex[:12]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
    }


def _sse(message: dict[str, Any]) -> bytes:
    content, usage = message["content"], message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(content):
        if block["type"] == "text":
            events.append(
                {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
            )
            for i, word in enumerate(block["text"].split(" ")):
                piece = word if i == 0 else " " + word
                events.append(
                    {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}
                )
        else:
            events.append({"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}})
            arguments = json.dumps(block["input"])
            for i in range(0, len(arguments), 8):
                fragment = {"type": "input_json_delta", "partial_json": arguments[i : i + 8]}
                events.append({"type": "content_block_delta", "index": index, "delta": fragment})
        events.append({"type": "content_block_stop", "index": index})
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events.append({"type": "message_delta", "delta": delta, "usage": {"output_tokens": usage["output_tokens"]}})
    events.append({"type": "message_stop"})
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


class ScriptedAnthropicServer(_Background):
    """``POST /v1/messages`` from a script; pass ``base_url=server.url`` to the Anthropic SDK."""

    def __init__(self, script: Sequence[AnthropicReply] = (), *, api_key: str = "test-key") -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._script: deque[AnthropicReply] = deque(script)
        self._lock = threading.Lock()
        super().__init__()

    def add(self, *replies: AnthropicReply) -> None:
        with self._lock:
            self._script.extend(replies)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = json.loads(_read_body(request) or b"{}")
        with self._lock:
            self.requests.append(body)
            self.headers.append({k.lower(): v for k, v in request.headers.items()})
            reply = self._script.popleft() if self._script else AnthropicReply(status=500, error_type="script_empty")
        keys = {request.headers.get("x-api-key"), (request.headers.get("authorization") or "").removeprefix("Bearer ")}
        if self.api_key not in keys:
            reply = AnthropicReply(status=401, error_type="authentication_error")
        if reply.status != 200:
            error = {"type": "error", "error": {"type": reply.error_type, "message": f"scripted {reply.error_type}"}}
            headers = {"Content-Type": "application/json"}
            if reply.retry_after is not None:
                headers["Retry-After"] = reply.retry_after
            _send(request, reply.status, json.dumps(error).encode(), headers)
            return
        message = _message(reply, str(body.get("model", "claude-test")))
        if body.get("stream"):
            _send(request, 200, _sse(message), {"Content-Type": "text/event-stream"})
        else:
            _send(request, 200, json.dumps(message).encode(), {"Content-Type": "application/json"})


@dataclass(frozen=True, slots=True)
class Fault:
    """What one request gets: ``status`` (+ ``Retry-After``), a ``hang`` of ``hang_s``, or a ``drop``."""

    kind: Literal["status", "hang", "drop"] = "status"
    status: int = 500
    retry_after: str | None = None
    hang_s: float = 30.0
    body: dict[str, Any] = field(default_factory=lambda: {"error": {"message": "injected fault"}})


class FaultProxy(_Background):
    """Injects scripted faults, then forwards to ``upstream`` (``http://host:port``) or answers ``always``."""

    def __init__(self, upstream: str | None = None, *, always: Fault | None = None) -> None:
        self.upstream = upstream
        self.always = always
        self.requests = 0
        self.forwarded = 0
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        super().__init__()

    def fail(self, fault: Fault, times: int = 1) -> None:
        """The next ``times`` requests get ``fault``."""
        with self._lock:
            self._faults.extend([fault] * times)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = _read_body(request)
        with self._lock:
            self.requests += 1
            fault = self._faults.popleft() if self._faults else self.always
        if fault is None and self.upstream is not None:
            self._forward(request, body, self.upstream)
        elif fault is None:
            _send(request, 502, b'{"error": {"message": "no upstream"}}', {"Content-Type": "application/json"})
        elif fault.kind == "hang":
            self.stopping.wait(fault.hang_s)
        elif fault.kind == "status":
            headers = {"Content-Type": "application/json"}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            _send(request, fault.status, json.dumps(fault.body).encode(), headers)
        # "drop": return without a response; the server closes the connection

    def _forward(self, request: BaseHTTPRequestHandler, body: bytes, upstream: str) -> None:
        target = urlsplit(upstream)
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port or 80, timeout=120)
        try:
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "connection")}
            connection.request(request.command, request.path, body=body, headers=headers)
            answer = connection.getresponse()
            request.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length", "keep-alive"):
                    request.send_header(key, value)
            request.send_header("Connection", "close")
            request.end_headers()
            while chunk := answer.read1(65536):
                request.wfile.write(chunk)
                request.wfile.flush()
            with self._lock:
                self.forwarded += 1
        finally:
            connection.close()
