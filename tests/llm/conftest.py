"""The real local model (SmolLM2 in an in-process llama.cpp server), started once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from quarry.llm import ChatSettings, LocalChatModel, stop_local_servers

QUICK = ChatSettings(max_tokens=32, temperature=0.0, seed=7, timeout_s=60.0)


@pytest.fixture(scope="session")
def local_model() -> Iterator[LocalChatModel]:
    model = LocalChatModel("smollm2", n_threads=1, n_ctx=2048)
    yield model
    model.close()
    stop_local_servers()


@pytest.fixture(scope="session")
def local_url(local_model: LocalChatModel) -> str:
    """``http://127.0.0.1:PORT`` of the running llama.cpp server (no ``/v1``)."""
    return local_model.base_url.removesuffix("/v1")
