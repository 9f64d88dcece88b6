"""Reading the model's answer as it streams: time to first token, a stop once the answer has its sentences (small
models run on to the token limit otherwise), and the usage of a stream Quarry stopped itself."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence

from quarry.generation.packing import PackedSource, format_sources
from quarry.generation.prompts import PromptTemplate
from quarry.generation.run import Run
from quarry.generation.types import AnswerEvent, TokenEvent
from quarry.llm import ChatModel, ChatSettings, Done, TextDelta, Traced, count_messages, count_tokens, load_model
from quarry.llm import UsageEvent as LLMUsage
from quarry.llm.metering import find_prices
from quarry.settings import GenerationSettings
from quarry.tracing import Trace
from quarry.types import Message, Usage

__all__ = ["SENTENCE_END", "prompt_messages", "stream_model"]

SENTENCE_END = re.compile(r"[\w)\]%][.!?](?:\s*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\])*\s")


def prompt_messages(
    prompt: PromptTemplate, question: str, sources: Sequence[PackedSource], system: str | None
) -> list[Message]:
    """The prompt with the numbered sources, the caller's own system message (if any) first."""
    messages = prompt.render(question, format_sources(sources, titles=prompt.source_titles))
    if system and system.strip():
        if messages and messages[0].role == "system":
            return [Message("system", f"{system.strip()}\n\n{messages[0].content}"), *messages[1:]]
        return [Message("system", system.strip()), *messages]
    return messages


def stream_model(chat_model: ChatModel, settings: GenerationSettings, prompt: PromptTemplate, trace: Trace,
                 run: Run, messages: Sequence[Message]) -> Iterator[AnswerEvent]:  # fmt: skip
    """Stream the model's answer; stop reading once it has ``max_sentences`` sentences (small models run on
    until the token limit otherwise), which counts as a normal end, not a truncation."""
    started = time.time()
    loading = load_model(chat_model)
    if loading > 0:
        trace.record("llm.load", started, loading, model=chat_model.model_id)
    call = ChatSettings(max_tokens=settings.max_tokens, stop=prompt.stop or None)
    events = Traced(chat_model, trace).stream(messages, settings=call)
    called = time.perf_counter()
    first: float | None = None
    for event in events:
        if isinstance(event, TextDelta) and event.text:
            if run.ttft_s is None:
                first = time.perf_counter()
                run.ttft_s = first - run.began
            run.parts.append(event.text)
            yield TokenEvent(event.text)
            if _enough(settings, run.text + " ", len(run.parts)):
                run.finish_reason = "sentences"
                break
        elif isinstance(event, LLMUsage):
            run.usage = event.usage
        elif isinstance(event, Done):
            run.model, run.finish_reason = event.model, event.finish_reason
    llm = next(s for s in trace.spans if s.name == "llm")
    if run.finish_reason == "sentences":
        close = getattr(events, "close", None)
        if callable(close):
            close()  # releases the connection; the server stops generating
        run.model = run.model or chat_model.model_id.split(":", 1)[-1]
        run.usage = _stopped_usage(chat_model, messages, run)
        llm.attributes["model"] = run.model
        llm.add(
            prompt_tokens=run.usage.prompt_tokens,
            completion_tokens=run.usage.completion_tokens,
            cost_usd=run.usage.cost_usd,
            latency_s=time.perf_counter() - called,
            ttft_s=(first or called) - called,
        )
    llm.attributes.update(prompt_version=prompt.ref, finish_reason=run.finish_reason)


def _stopped_usage(chat_model: ChatModel, messages: Sequence[Message], run: Run) -> Usage:
    """Tokens of a stream Quarry stopped itself (the provider never reported them), counted with the model's
    tokenizer and priced with the configured price table when the model is metered."""
    model_id = chat_model.model_id
    usage = Usage(count_messages(messages, model_id), count_tokens(run.text, model_id), model=run.model)
    prices = find_prices(chat_model)
    return prices.priced(usage, run.model) if prices is not None else usage


def _enough(settings: GenerationSettings, text: str, pieces: int) -> bool:
    """Enough to stop reading: ``max_sentences`` sentences, or one sentence once 60% of the answer budget is
    spent (a second sentence begun then would be cut off)."""
    limit = settings.max_sentences
    if limit is None:
        return False
    done = len(SENTENCE_END.findall(text))
    return done >= limit or (done >= 1 and pieces >= 0.6 * settings.max_tokens)
