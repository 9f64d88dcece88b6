"""The OpenAI-compatible adapter against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from quarry.embeddings import OpenAICompatibleEmbedder
from quarry.errors import ConfigError, ProviderError
from quarry.settings import EmbeddingSettings
from quarry.testing.embedders import HashEmbedder
from quarry.testing.openai_server import OpenAIEmbeddingsServer

KEY_ENV = "QUARRY_TEST_EMBEDDINGS_KEY"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIEmbeddingsServer]:
    monkeypatch.setenv(KEY_ENV, "sekrit")
    with OpenAIEmbeddingsServer(HashEmbedder(32), model="hash-32", api_key="sekrit") as running:
        yield running


class Sleeps(list[float]):
    """Records the backoff delays instead of waiting them out."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make(server: OpenAIEmbeddingsServer, sleeps: Sleeps | None = None, **kwargs: Any) -> OpenAICompatibleEmbedder:
    options: dict[str, Any] = {"base_url": server.base_url, "model": server.model, "api_key_env": KEY_ENV}
    options.update(kwargs)
    return OpenAICompatibleEmbedder(sleep=sleeps if sleeps is not None else Sleeps(), **options)


def test_embeds_like_the_served_model_and_probes_the_dimension(server: OpenAIEmbeddingsServer) -> None:
    texts = ["alpha beta", "gamma", "", "alpha beta"]
    with make(server, batch_size=3) as embedder:
        assert embedder.dimension == 32  # probed with one request
        vectors = embedder.embed(texts)
    assert vectors.shape == (4, 32)
    np.testing.assert_allclose(vectors, HashEmbedder(32).embed([t or " " for t in texts]), atol=1e-6)
    assert server.requests == 3  # probe + two batches
    assert all(text for batch in server.inputs for text in batch)  # no empty strings sent


def test_configured_dimension_needs_no_probe(server: OpenAIEmbeddingsServer) -> None:
    with make(server, dimension=32) as embedder:
        assert embedder.dimension == 32
        assert embedder.embed([]).shape == (0, 32)
    assert server.requests == 0


def test_429_with_retry_after_is_retried(server: OpenAIEmbeddingsServer) -> None:
    sleeps = Sleeps()
    server.fail(2, status=429, retry_after="3")
    with make(server, sleeps, dimension=32, backoff_s=0.01) as embedder:
        vectors = embedder.embed(["retry me"])
    assert vectors.shape == (1, 32)
    assert server.requests == 3
    assert sleeps == [3.0, 3.0]  # Retry-After wins over the (shorter) backoff


def test_backoff_grows_exponentially_with_full_jitter(server: OpenAIEmbeddingsServer) -> None:
    sleeps = Sleeps()
    server.fail(3, status=503)
    with make(server, sleeps, dimension=32, backoff_s=1.0) as embedder:
        embedder.embed(["x"])
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        assert 0 <= delay <= 2**attempt
    ceilings = Sleeps()
    server.fail(3, status=503)
    with make(server, ceilings, dimension=32, backoff_s=1.0, rng=lambda: 1.0) as embedder:
        embedder.embed(["x"])
    assert ceilings == [1.0, 2.0, 4.0]


@pytest.mark.parametrize("status", [425, 529])
def test_the_embedder_retries_what_the_llm_clients_retry(server: OpenAIEmbeddingsServer, status: int) -> None:
    from quarry.errors import ProviderError as Failure
    from quarry.llm.retrying import is_retryable

    assert is_retryable(Failure("x", provider="p", status=status))  # one policy for both clients
    server.fail(1, status=status)
    with make(server, Sleeps(), dimension=32) as embedder:
        assert embedder.embed(["x"]).shape == (1, 32)
    assert server.requests == 2


def test_persistent_500_raises_provider_error_with_status(server: OpenAIEmbeddingsServer) -> None:
    server.fail(10, status=500)
    with make(server, dimension=32) as embedder, pytest.raises(ProviderError) as caught:
        embedder.embed(["x"])
    assert caught.value.status == 500
    assert caught.value.provider == "openai-compatible"
    assert server.requests == 4  # max 4 attempts


def test_401_names_the_key_variable_and_is_not_retried(
    server: OpenAIEmbeddingsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "wrong")
    with make(server, dimension=32) as embedder, pytest.raises(ProviderError) as caught:
        embedder.embed(["x"])
    assert caught.value.status == 401
    assert KEY_ENV in caught.value.hint
    assert "wrong" not in str(caught.value)  # the key itself never appears
    assert server.requests == 1


def test_404_points_at_base_url_and_model(server: OpenAIEmbeddingsServer) -> None:
    with make(server, dimension=32, model="no-such-model") as embedder, pytest.raises(ProviderError) as caught:
        embedder.embed(["x"])
    assert caught.value.status == 404
    assert "base_url" in caught.value.hint
    assert "model" in caught.value.hint


def test_timeouts_are_retried_then_reported(server: OpenAIEmbeddingsServer) -> None:
    server.fail(1, status=None, delay_s=0.5)
    with make(server, dimension=32, timeout_s=0.2) as embedder:
        assert embedder.embed(["slow once"]).shape == (1, 32)
        server.fail(4, status=None, delay_s=0.5)
        with pytest.raises(ProviderError) as caught:
            embedder.embed(["always slow"])
    assert caught.value.status is None
    assert "timed out" in caught.value.message


def test_unreachable_server(server: OpenAIEmbeddingsServer) -> None:
    base_url = server.base_url
    server.stop()
    with make(server, dimension=32, base_url=base_url, max_attempts=2) as embedder, pytest.raises(ProviderError) as c:
        embedder.embed(["x"])
    assert "base_url" in c.value.hint


def test_from_settings_requires_base_url() -> None:
    with pytest.raises(ConfigError):
        OpenAICompatibleEmbedder.from_settings(EmbeddingSettings(provider="openai"))
