"""A real HTTP server on 127.0.0.1 speaking OpenAI's ``/v1/embeddings``, for tests and demos.

It embeds with any :class:`~quarry.embeddings.Embedder` it is given and can be scripted to fail::

    with OpenAIEmbeddingsServer(MiniLMEmbedder(), api_key="k") as server:
        server.fail(2, status=429, retry_after="0.1")   # the next two requests get 429
        embedder = OpenAICompatibleEmbedder(base_url=server.base_url, model=server.model, ...)
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from quarry.embeddings.base import Embedder

__all__ = ["Fault", "OpenAIEmbeddingsServer"]


@dataclass(frozen=True, slots=True)
class Fault:
    """What one scripted request gets instead of a normal answer (``status=None``: only a delay)."""

    status: int | None = 500
    retry_after: str | None = None
    delay_s: float = 0.0


class OpenAIEmbeddingsServer:
    """Serves ``POST /v1/embeddings`` from a background thread; use as a context manager."""

    def __init__(self, embedder: Embedder, *, model: str = "test-embedding", api_key: str | None = None) -> None:
        self.embedder = embedder
        self.model = model
        self.api_key = api_key
        self.requests = 0
        self.inputs: list[list[str]] = []
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="openai-server", daemon=True)
        self._stopped = False

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def fail(
        self, times: int, *, status: int | None = 500, retry_after: str | None = None, delay_s: float = 0.0
    ) -> None:
        """Script the next ``times`` requests to get ``status`` (after ``delay_s``)."""
        with self._lock:
            self._faults.extend([Fault(status, retry_after, delay_s)] * times)

    def start(self) -> OpenAIEmbeddingsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIEmbeddingsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def next_fault(self) -> Fault | None:
        with self._lock:
            self.requests += 1
            return self._faults.popleft() if self._faults else None

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """The status and JSON body for one request that is not scripted to fail."""
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, _error("Incorrect API key provided", "invalid_api_key")
        try:
            payload = json.loads(body)
            texts = payload["input"]
            model = payload["model"]
        except (ValueError, KeyError, TypeError):
            return 400, _error("body must be JSON with 'model' and 'input'", "invalid_request_error")
        if model != self.model:
            return 404, _error(f"The model '{model}' does not exist", "model_not_found")
        texts = [texts] if isinstance(texts, str) else texts
        with self._lock:
            self.inputs.append(list(texts))
        vectors = self.embedder.embed(texts)
        data = [{"object": "embedding", "index": i, "embedding": row.tolist()} for i, row in enumerate(vectors)]
        usage = {"prompt_tokens": 0, "total_tokens": 0}
        return 200, {"object": "list", "data": data, "model": self.model, "usage": usage}


def _error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": code}}


def _handler_for(server: OpenAIEmbeddingsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if self.path.rstrip("/") != "/v1/embeddings":
                self._send(404, _error(f"no route {self.path}", "not_found"))
                return
            fault = server.next_fault()
            if fault is not None:
                time.sleep(fault.delay_s)
                if fault.status is not None:
                    extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                    self._send(fault.status, _error(f"scripted failure {fault.status}", "scripted"), extra)
                    return
            headers = {key.lower(): value for key, value in self.headers.items()}
            self._send(*server.answer(headers, body))

        def _send(self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default stderr access log."""

    return Handler
