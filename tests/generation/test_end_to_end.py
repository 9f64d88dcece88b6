"""Real documents, the real embedder and the real local model (SmolLM2 in llama.cpp)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from quarry.assembly import Quarry
from quarry.generation import DoneEvent, RevisionEvent, TokenEvent, load_prompt
from quarry.settings import GenerationSettings
from tests.cli.test_cli import SAMPLES, quarry

pytestmark = pytest.mark.slow
PROMPT = load_prompt(GenerationSettings().prompt).ref  # the newest shipped version of the default name


def test_an_answer_from_the_essay_cites_the_chunk_that_holds_the_fact(essay_system: Quarry) -> None:
    answer = essay_system.answerer.answer("What did the author work on before college?", "pg")
    assert not answer.abstained and answer.text and answer.model == "smollm2"
    assert answer.usage.completion_tokens <= 64 and answer.ttft_s is not None
    document = essay_system.store.document("pg", answer.citations[0].document_uri)
    assert document is not None
    backing = [c for c in answer.citations if "writing and programming" in c.quote]
    assert backing, answer
    assert all(document.text[c.start : c.end] == c.quote for c in answer.citations)
    trace = essay_system.trace_store.trace(answer.trace_id)
    assert trace is not None
    llm = next(s for s in trace.spans if s["name"] == "llm")
    attributes = llm["attributes"]
    assert isinstance(attributes, dict) and attributes["completion_tokens"] > 0 and attributes["ttft_s"] > 0


def test_streaming_from_the_real_model_and_abstaining_off_topic(essay_system: Quarry) -> None:
    events = list(essay_system.answerer.stream("Where did the author go to art school?", "pg"))
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    done = events[-1]
    assert len(tokens) > 1 and isinstance(done, DoneEvent)
    streamed = "".join(t.text for t in tokens).strip()
    assert streamed == done.answer.model_text
    revisions = [e for e in events if isinstance(e, RevisionEvent)]
    assert (done.answer.text != streamed) == bool(revisions)  # a changed answer is always announced
    assert done.answer.method in ("generated", "extractive") and done.answer.citations
    off = essay_system.answerer.answer("How do I bake sourdough bread?", "pg")
    assert off.abstained and off.usage.total_tokens == 0


@pytest.fixture
def workspace(isolated_env: Path) -> Path:
    quarry("init", cwd=isolated_env)
    shutil.copytree(SAMPLES, isolated_env / "samples")
    quarry("ingest", "samples", cwd=isolated_env)
    return isolated_env


def test_cli_ask_json_on_the_bundled_samples(workspace: Path) -> None:
    done = quarry("ask", "What is the daily meal allowance when travelling?", "--json", cwd=workspace)
    payload = json.loads(done.stdout)
    assert payload["question"].startswith("What is the daily") and payload["prompt_version"] == PROMPT
    assert payload["model"] == "smollm2" and payload["trace_id"] and payload["usage"]["completion_tokens"] > 0
    for citation in payload["citations"]:
        assert citation["document_uri"].startswith(str(workspace / "samples")) and citation["quote"]
    off = json.loads(quarry("ask", "what is the capital of Peru", "--json", cwd=workspace).stdout)
    assert off["abstained"] and off["citations"] == [] and off["usage"]["total_tokens"] == 0
    shown = quarry("ask", "How many weeks of parental leave do primary carers get?", cwd=workspace).stdout
    assert f"smollm2 · {PROMPT}" in shown and "trace" in shown
