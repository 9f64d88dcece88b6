"""An embedder for any server speaking OpenAI's ``POST /v1/embeddings`` (OpenAI, vLLM, TEI, Ollama…).

The API key is read from the environment variable named by ``api_key_env`` on every request and
never stored; with the variable unset no ``Authorization`` header is sent (local servers rarely need
one). Failures are retried under the shared :class:`~quarry.retries.RetryPolicy` (the LLM clients use the
same one): 408/409/425/429/5xx/529, timeouts and connection errors, with full-jitter backoff or what a
``Retry-After`` header asks for, at most ``max_attempts`` attempts in all.
``count_tokens`` is the base estimate (characters / 4): the remote tokenizer is unknown.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np

from quarry.embeddings.base import Embedder
from quarry.errors import ConfigError, ProviderError
from quarry.retries import RetryPolicy, parse_retry_after
from quarry.types import Matrix

if TYPE_CHECKING:
    from quarry.settings import EmbeddingSettings

__all__ = ["OpenAICompatibleEmbedder"]

PROVIDER = "openai-compatible"


class OpenAICompatibleEmbedder(Embedder):
    """Vectors from a remote ``/embeddings`` endpoint; ``base_url`` includes the ``/v1`` part."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        dimension: int | None = None,
        batch_size: int = 64,
        max_tokens: int = 512,
        timeout_s: float = 30.0,
        max_attempts: int = 4,
        backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.retry = RetryPolicy(max_attempts=max_attempts, backoff_s=backoff_s, rng=rng)
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.model_id = f"openai:{model}"
        self.api_key_env = api_key_env
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self._sleep = sleep
        self._dimension = dimension
        self._client = httpx.Client(timeout=timeout_s)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: EmbeddingSettings) -> OpenAICompatibleEmbedder:
        if not settings.base_url:
            raise ConfigError(
                "the openai embedding provider needs a base_url",
                key="embeddings.base_url",
                hint="set embeddings.base_url, e.g. https://api.openai.com/v1 or http://localhost:8000/v1",
            )
        return cls(
            base_url=settings.base_url,
            model=settings.model,
            api_key_env=settings.api_key_env,
            dimension=settings.dimension,
            batch_size=settings.batch_size,
        )

    @property
    def dimension(self) -> int:
        """The configured dimension, or the length of a probe vector (one request, made once)."""
        if self._dimension is None:
            with self._lock:
                if self._dimension is None:
                    self._dimension = len(self._request(["dimension probe"])[0])
        return self._dimension

    @dimension.setter
    def dimension(self, value: int) -> None:
        self._dimension = value

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAICompatibleEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _embed(self, texts: Sequence[str]) -> Matrix:
        rows = self._request([text or " " for text in texts])  # the API rejects empty strings
        matrix: Matrix = np.asarray(rows, dtype=np.float32)
        if self._dimension is None and matrix.ndim == 2:
            self._dimension = matrix.shape[1]
        return matrix

    # -- HTTP -----------------------------------------------------------------------------------

    def _request(self, texts: list[str]) -> list[list[float]]:
        payload = {"model": self.model, "input": texts, "encoding_format": "float"}
        for attempt in range(1, self.retry.max_attempts + 1):
            last = attempt == self.retry.max_attempts
            try:
                response = self._client.post(f"{self.base_url}/embeddings", json=payload, headers=self._headers())
            except httpx.TimeoutException as exc:
                if last:
                    raise self._error(f"timed out after {self.timeout_s:g} s", None, exc) from exc
                self._sleep(self._backoff(attempt, None))
                continue
            except httpx.TransportError as exc:
                if last:
                    raise self._error(f"cannot reach {self.base_url}: {exc}", None, exc) from exc
                self._sleep(self._backoff(attempt, None))
                continue
            if response.status_code == 200:
                return _parse(response, len(texts))
            if last or not self.retry.retryable(response.status_code):
                raise self._error(_describe(response), response.status_code, None)
            self._sleep(self._backoff(attempt, response))
        raise AssertionError("unreachable")  # pragma: no cover

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _backoff(self, attempt: int, response: httpx.Response | None) -> float:
        asked = parse_retry_after(response.headers.get("retry-after")) if response is not None else None
        return self.retry.delay(attempt, asked)

    def _error(self, what: str, status: int | None, exc: Exception | None) -> ProviderError:
        message = f"embedding request to {self.base_url} (model {self.model!r}) failed: {what}"
        return ProviderError(message, provider=PROVIDER, status=status, hint=self._hint(status, exc))

    def _hint(self, status: int | None, exc: Exception | None) -> str:
        if status in (401, 403):
            return f"check the API key in the ${self.api_key_env} environment variable (embeddings.api_key_env)"
        if status == 404:
            return f"check embeddings.base_url ({self.base_url}, which should end in /v1) and embeddings.model"
        if status == 429:
            return "the provider is rate limiting: lower embeddings.batch_size or retry later"
        if isinstance(exc, httpx.TimeoutException):
            return "the server is slow or overloaded: retry later or use a smaller embeddings.batch_size"
        if exc is not None:
            return "check that the server is running and embeddings.base_url is right"
        if status is not None and status >= 500:
            return f"the provider failed {self.retry.max_attempts} times: retry later"
        return "the provider rejected the request: check embeddings.model and the input size"


def _parse(response: httpx.Response, expected: int) -> list[list[float]]:
    try:
        body: Any = response.json()
        items = sorted(body["data"], key=lambda item: item["index"])
        rows: list[list[float]] = [item["embedding"] for item in items]
    except (ValueError, KeyError, TypeError) as exc:
        raise ProviderError(
            f"malformed embeddings response: {exc}",
            provider=PROVIDER,
            status=response.status_code,
            hint="the server does not speak the OpenAI embeddings format; check embeddings.base_url",
        ) from exc
    if len(rows) != expected:
        raise ProviderError(
            f"asked for {expected} embeddings, got {len(rows)}", provider=PROVIDER, status=response.status_code
        )
    return rows


def _describe(response: httpx.Response) -> str:
    try:
        detail = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        detail = response.text[:200]
    return f"HTTP {response.status_code}: {detail}" if detail else f"HTTP {response.status_code}"
