"""Retries, timeouts and fallback over REAL HTTP: a fault-injecting proxy in front of the local model."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from quarry.errors import ProviderError, ProviderTimeout, ProviderUnreachable
from quarry.llm import (
    ChatSettings,
    Done,
    Fallback,
    LocalChatModel,
    OpenAICompatibleChatModel,
    Retrying,
    TextDelta,
    collect,
)
from quarry.retries import parse_retry_after
from quarry.testing.chat import ScriptedChatModel
from quarry.testing.llm_servers import Fault, FaultProxy
from quarry.types import Message

ASK = [Message("user", "Say hello.")]
SHORT = ChatSettings(max_tokens=8, temperature=0.0, seed=7)


@pytest.fixture
def proxy(local_url: str) -> Iterator[FaultProxy]:
    with FaultProxy(local_url) as running:
        yield running


def _adapter(url: str, name: str = "smollm2") -> OpenAICompatibleChatModel:
    return OpenAICompatibleChatModel(model=name, base_url=f"{url}/v1", provider="proxy")


def test_429_with_retry_after_is_honoured(proxy: FaultProxy) -> None:
    proxy.fail(Fault(status=429, retry_after="1"), times=2)
    model = Retrying(_adapter(proxy.url), max_attempts=4, backoff_s=0.01)
    began = time.perf_counter()
    try:
        done = model.complete(ASK, settings=SHORT)
    finally:
        model.close()
    assert done.attempts == 3 and done.text
    assert time.perf_counter() - began >= 1.9
    assert proxy.requests == 3 and proxy.forwarded == 1


def test_503_every_time_gives_up_with_the_status(proxy: FaultProxy) -> None:
    proxy.fail(Fault(status=503), times=3)
    waits: list[float] = []
    model = Retrying(_adapter(proxy.url), max_attempts=3, backoff_s=0.2, sleep=waits.append)
    try:
        with pytest.raises(ProviderError) as caught:
            model.complete(ASK, settings=SHORT)
    finally:
        model.close()
    assert caught.value.status == 503 and proxy.requests == 3
    assert len(waits) == 2 and all(0 <= w <= 0.2 * 2**i for i, w in enumerate(waits))
    assert "gave up after 3 attempt(s)" in "".join(caught.value.__notes__)


def test_hang_times_out_within_the_configured_timeout(proxy: FaultProxy) -> None:
    proxy.fail(Fault(kind="hang", hang_s=30), times=2)
    model = Retrying(_adapter(proxy.url), max_attempts=2, backoff_s=0.0, timeout_s=0.5)
    began = time.perf_counter()
    try:
        with pytest.raises(ProviderTimeout):
            model.complete(ASK, settings=SHORT)
    finally:
        model.close()
    # two 0.5 s timeouts, not the proxy's 30 s hang (generous bound: no timing claim)
    assert time.perf_counter() - began < 20.0 and proxy.requests == 2


def test_dropped_connection_is_retried(proxy: FaultProxy) -> None:
    proxy.fail(Fault(kind="drop"))
    model = Retrying(_adapter(proxy.url), max_attempts=2, backoff_s=0.0)
    try:
        done = model.complete(ASK, settings=SHORT)
    finally:
        model.close()
    assert done.attempts == 2 and done.text


def test_stream_is_retried_before_the_first_event(proxy: FaultProxy) -> None:
    proxy.fail(Fault(status=500))
    model = Retrying(_adapter(proxy.url), max_attempts=2, backoff_s=0.0)
    try:
        events = list(model.stream(ASK, settings=SHORT))
    finally:
        model.close()
    assert isinstance(events[-1], Done) and any(isinstance(e, TextDelta) for e in events)


def test_401_is_not_retried(proxy: FaultProxy) -> None:
    proxy.fail(Fault(status=401))
    model = Retrying(_adapter(proxy.url), max_attempts=3, backoff_s=0.0)
    try:
        with pytest.raises(ProviderError) as caught:
            model.complete(ASK, settings=SHORT)
    finally:
        model.close()
    assert caught.value.status == 401 and proxy.requests == 1


def test_dead_port_falls_back_to_the_local_model(local_model: LocalChatModel) -> None:
    with FaultProxy() as dead:
        url = dead.url
    primary = Retrying(_adapter(url, "remote-model"), max_attempts=2, backoff_s=0.0)
    model = Fallback([primary, local_model])
    try:
        done = model.complete(ASK, settings=SHORT)
    finally:
        primary.close()
    assert done.model == "smollm2" and done.text
    assert (
        done.fallback_reason is not None and "proxy:remote-model failed (ProviderUnreachable)" in done.fallback_reason
    )


def test_always_500_falls_back_and_streams_record_the_reason(local_model: LocalChatModel) -> None:
    with FaultProxy(always=Fault(status=500)) as broken:
        primary = _adapter(broken.url, "remote-model")
        model = Fallback([Retrying(primary, max_attempts=2, backoff_s=0.0), local_model])
        try:
            done = model.complete(ASK, settings=SHORT)
            streamed = collect(model.stream(ASK, settings=SHORT))
        finally:
            primary.close()
        assert broken.requests == 4
    assert done.model == streamed.model == "smollm2"
    assert "HTTP 500" in (done.fallback_reason or "") and "HTTP 500" in (streamed.fallback_reason or "")


def test_fallback_raises_the_last_error_when_all_fail() -> None:
    first = ScriptedChatModel([ProviderUnreachable("down", provider="a")], model="a")
    second = ScriptedChatModel([ProviderError("busy", provider="b", status=503)], model="b")
    with pytest.raises(ProviderError) as caught:
        Fallback([first, second]).complete(ASK)
    assert caught.value.status == 503 and len(caught.value.__notes__) == 2


def test_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 10) == pytest.approx(10.0)
    assert parse_retry_after("7") == 7.0 and parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_retry_after_is_capped_and_backoff_is_jittered() -> None:
    model = Retrying(ScriptedChatModel(), backoff_s=1.0, max_backoff_s=4.0, max_retry_after_s=5.0, rng=lambda: 1.0)
    assert model.delay(1, ProviderError("x", provider="p", retry_after=120.0)) == 5.0
    assert [model.delay(n, ProviderError("x", provider="p")) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 4.0]
