"""Running one tool call: validate the model's arguments, run the tool with a time limit, screen what it
returned, and turn every outcome — a result, a validation error, a failure, a timeout — into the text the
model reads next. A tool's own error never ends the run: the model is told and may try something else."""

from __future__ import annotations

import concurrent.futures
import json
import time
from dataclasses import dataclass

from quarry.agents.tools import Tool, ToolArgumentError, ToolContext, result_text
from quarry.errors import QuarryError
from quarry.guardrails import Guardrails
from quarry.guardrails.base import GuardContext
from quarry.settings import AgentSettings
from quarry.tracing import Trace
from quarry.types import ToolCall

__all__ = ["Executor", "ToolOutcome"]


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    ok: bool
    text: str
    seconds: float = 0.0
    flags: tuple[str, ...] = ()


class Executor:
    """Validates and runs tool calls; ``guardrails`` (optional) screen results at the ``retrieval`` stage, as
    retrieved passages are: a result a blocking guard stops is withheld from the model."""

    def __init__(self, settings: AgentSettings, guardrails: Guardrails | None = None) -> None:
        self.settings, self.guardrails = settings, guardrails

    def validate(self, tool: Tool, call: ToolCall) -> dict[str, object] | str:
        """The validated arguments, or the structured error (JSON) the model gets back to correct them."""
        try:
            return tool.arguments(call.arguments)
        except ToolArgumentError as exc:
            return json.dumps({
                "error": "invalid_arguments", "tool": tool.name, "problems": exc.errors,
                "hint": "call the tool again with arguments that match its schema", "schema": tool.parameters,
            })  # fmt: skip

    def run(self, tool: Tool, arguments: dict[str, object], context: ToolContext, trace: Trace) -> ToolOutcome:
        timeout = tool.timeout_s or self.settings.tool_timeout_s
        began = time.perf_counter()
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"tool-{tool.name}")
        try:
            value = pool.submit(tool.invoke, arguments, context).result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            return ToolOutcome(False, f"error: {tool.name} took longer than {timeout:g} s and was abandoned",
                               time.perf_counter() - began)  # fmt: skip
        except QuarryError as exc:
            return ToolOutcome(False, f"error: {exc}", time.perf_counter() - began)
        except Exception as exc:  # a user's tool failing is news for the model, not the end of the run
            return ToolOutcome(False, f"error: {type(exc).__name__}: {exc}", time.perf_counter() - began)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        seconds = time.perf_counter() - began
        text = result_text(value, max_chars=self.settings.max_result_chars)
        return self._screen(tool, text, seconds, trace)

    def _screen(self, tool: Tool, text: str, seconds: float, trace: Trace) -> ToolOutcome:
        if self.guardrails is None or not self.guardrails.active("retrieval"):
            return ToolOutcome(True, text, seconds)
        outcome = self.guardrails.check("retrieval", text, GuardContext("retrieval"), trace)
        if outcome.blocked is not None:
            reason = outcome.blocked.reason or outcome.blocked.guard
            return ToolOutcome(False, f"withheld: the {outcome.blocked.guard} guard stopped this result ({reason})",
                               seconds, outcome.flags)  # fmt: skip
        return ToolOutcome(True, outcome.text or text, seconds, outcome.flags)
