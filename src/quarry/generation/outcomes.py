"""The three ways an answer ends — abstained, refused, or checked and returned — built from its run state."""

from __future__ import annotations

import time

from quarry.generation.checking import Checked
from quarry.generation.run import Run, source_passage
from quarry.generation.types import Answer

__all__ = ["abstained_answer", "final_answer", "refused_answer"]


def abstained_answer(run: Run, trace_id: str, model: str, prompt: str, text: str, reason: str) -> Answer:
    return Answer(
        run.question, text, (), abstained=True, abstain_reason=reason, model=model, prompt_version=prompt,
        trace_id=trace_id, seconds=time.perf_counter() - run.began, method="abstained", query=run.query,
        retrieved=run.retrieved, guard_flags=tuple(dict.fromkeys(run.flags)),
    )  # fmt: skip


def refused_answer(run: Run, trace_id: str, model: str, prompt: str, reason: str) -> Answer:
    return Answer(
        run.question, reason, (), model=model, prompt_version=prompt, trace_id=trace_id,
        seconds=time.perf_counter() - run.began, usage=run.usage, method="refused", query=run.query,
        retrieved=run.retrieved, refused=True, guard_flags=tuple(dict.fromkeys(run.flags)),
    )  # fmt: skip


def final_answer(run: Run, trace_id: str, checked: Checked, model_text: str, model: str, prompt: str) -> Answer:
    abstained = checked.method == "abstained"
    return Answer(
        run.question, checked.text, checked.citations, abstained=abstained,
        abstain_reason=checked.reason if abstained else "", removed_citations=checked.removed, usage=run.usage,
        model=run.model or model, prompt_version=prompt, trace_id=trace_id, seconds=time.perf_counter() - run.began,
        ttft_s=run.ttft_s, supported=checked.supported, truncated=run.finish_reason == "length",
        finish_reason=run.finish_reason, method=checked.method, model_text=model_text, note=checked.reason,
        claims=checked.claims, query=run.query, sources=tuple(source_passage(s) for s in run.sources),
        retrieved=run.retrieved, guard_flags=tuple(dict.fromkeys(run.flags)),
    )  # fmt: skip
