"""A chat model that follows a changing version: rebuilt on change, old calls finish on the old model, which is
retired only after its last call; a failing version source keeps the model being served."""

from __future__ import annotations

import gc
import logging

import pytest

from quarry.llm import collect
from quarry.llm.reloading import ReloadingChatModel
from quarry.testing.chat import ScriptedChatModel
from quarry.types import Message

ASK = [Message("user", "hi")]


class Registry:
    """What to serve (a version name), a clock that moves only when told, and every model built and retired."""

    def __init__(self) -> None:
        self.serving, self.now = "base", 0.0
        self.built: dict[str, ScriptedChatModel] = {}
        self.retired: list[str] = []

    def version(self) -> str:
        if self.serving == "broken":
            raise ConnectionError("registry unreachable")
        return self.serving

    def build(self, version: str) -> ScriptedChatModel:
        model = self.built[version] = ScriptedChatModel(model=version, default=f"said by {version}")
        return model

    def retire(self, version: str, model: object) -> None:
        self.retired.append(version)

    def model(self, every_s: float) -> ReloadingChatModel[str]:
        return ReloadingChatModel(self.version, self.build, every_s=every_s, retire=self.retire,
                                  clock=lambda: self.now)  # fmt: skip


def test_a_new_version_is_served_from_the_first_call_after_the_interval() -> None:
    registry = Registry()
    model = registry.model(every_s=10)
    assert model.complete(ASK).text == "said by base" and model.model_id == "scripted:base"
    registry.serving, registry.now = "lora.a", 9.0
    assert model.complete(ASK).text == "said by base"  # not checked yet
    registry.now = 10.0
    assert model.complete(ASK).text == "said by lora.a" and model.model_id == "scripted:lora.a"
    assert registry.retired == ["base"] and model.reloads == 1
    registry.serving, registry.now = "base", 20.0  # a rollback is another change
    assert model.complete(ASK).text == "said by base" and registry.retired == ["base", "lora.a"]


def test_every_s_zero_checks_before_every_call_and_refresh_checks_now() -> None:
    registry = Registry()
    model = registry.model(every_s=0)
    registry.serving = "lora.a"
    assert model.complete(ASK).text == "said by lora.a"
    slow = registry.model(every_s=3600)
    registry.serving = "lora.b"
    assert slow.refresh() is True and slow.version == "lora.b" and slow.refresh() is False


def test_a_stream_started_before_a_reload_finishes_on_its_model_which_is_retired_after_it() -> None:
    registry = Registry()
    model = registry.model(every_s=0)
    first = model.stream(ASK)
    assert next(iter(first)).text == "said "  # type: ignore[union-attr]
    registry.serving = "lora.a"
    assert model.complete(ASK).text == "said by lora.a"
    assert registry.retired == []  # the base model still has a stream running
    assert collect(first).text == "by base"
    assert registry.retired == ["base"]


def test_a_stream_dropped_unread_or_closed_still_releases_its_model() -> None:
    registry = Registry()
    model = registry.model(every_s=0)
    unread = model.stream(ASK)
    closed = model.stream(ASK)
    registry.serving = "lora.a"
    model.complete(ASK)
    closed.close()  # type: ignore[attr-defined]
    assert registry.retired == []
    del unread
    gc.collect()
    assert registry.retired == ["base"]


def test_a_failing_version_source_keeps_serving_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    registry = Registry()
    model = registry.model(every_s=0)
    registry.serving = "broken"
    with caplog.at_level(logging.ERROR, logger="quarry.llm.reloading"):
        assert model.complete(ASK).text == "said by base"
    assert "keeping scripted:base" in caplog.text and registry.retired == []
    model.close()
    assert registry.retired == ["base"]
