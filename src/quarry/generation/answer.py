"""Grounded, cited answers: retrieve → (maybe abstain) → pack → generate → cite, all in one trace.

:class:`Answerer` answers ``question`` over one collection:

1. *Retrieve* with the searcher (``generation.mode``, ``k``), whose stages (embed, retrieve.bm25,
   retrieve.dense, fuse, fetch) land in the answer's own trace; the ``retrieve`` span records hits and
   the top score.
2. *Abstain early* — without calling the model — when there are no hits or the top score is below
   ``generation.min_score_dense`` / ``min_score_bm25`` for the mode used (weak retrieval support).
3. *Pack* the hits into numbered sources under ``min(max_context_tokens, context window − answer tokens −
   prompt)`` (:mod:`quarry.generation.packing`) and render the configured prompt version; sources go in the
   user message (SmolLM2 cites poorly otherwise).
4. *Generate*, streaming: the model call is wrapped in :class:`~quarry.llm.Traced`, so the trace gets an
   ``llm`` span with model, tokens, cost, latency and time to first token (plus ``prompt_version``).
5. *Cite* (:mod:`quarry.generation.citations`): invented numbers are stripped, the rest mapped to exact
   spans and checked for lexical support. When the reply contains the prompt's abstain marker ("I don't
   know") or a "cannot answer" phrase, the answer is ``abstained`` and carries no citations. When the model
   cites nothing, ``generation.fallback_citations`` attaches the source whose text overlaps the whole
   answer most (if it reaches the support threshold), marked ``fallback=True``.

``stream`` yields :class:`TokenEvent` s as the model produces them (raw text: a marker that is later found
invalid is still in the tokens; ``Answer.text`` is the cleaned text), then one :class:`CitationEvent` per
citation, one :class:`UsageEvent` and one :class:`DoneEvent` with the :class:`Answer`. ``Answer.ttft_s`` and
``seconds`` are end to end (retrieval included); the ``llm`` span keeps the model's own figures.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from quarry.generation.base import (
    Answer,
    AnswerEvent,
    Citation,
    CitationEvent,
    DoneEvent,
    TokenEvent,
    UsageEvent,
)
from quarry.generation.citations import close_cut_marker, fallback_citations, resolve
from quarry.generation.packing import Source, format_sources, pack
from quarry.generation.prompts import load_prompt
from quarry.llm import ChatModel, ChatSettings, Done, TextDelta, Traced, count_messages
from quarry.llm import UsageEvent as LLMUsage
from quarry.retrieval.search import Searcher, SearchResult
from quarry.settings import GenerationSettings
from quarry.stores.base import Store
from quarry.stores.filters import Filter
from quarry.tracing import Trace, Tracer
from quarry.types import Usage

__all__ = ["NO_SUPPORT", "Answerer"]

NO_SUPPORT = "I don't know: the documents I found do not support an answer to this question."
_CANNOT = ("cannot answer", "can't answer", "unable to answer", "do not contain the answer", "don't contain the answer")
_CONTEXT_MARGIN = 32


@dataclass
class _Run:
    """What one generation produced, gathered while streaming."""

    began: float
    parts: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    ttft_s: float | None = None

    @property
    def text(self) -> str:
        return close_cut_marker("".join(self.parts).strip())


class Answerer:
    def __init__(
        self,
        searcher: Searcher,
        store: Store,
        chat_model: ChatModel,
        *,
        settings: GenerationSettings | None = None,
        tracer: Tracer | None = None,
        context_window: int = 4096,
    ) -> None:
        self.searcher, self.store, self.chat_model = searcher, store, chat_model
        self.settings = settings or GenerationSettings()
        self.tracer = tracer or searcher.tracer
        self.context_window = self.settings.context_window or context_window
        self.prompt = load_prompt(self.settings.prompt)

    def answer(self, question: str, collection: str, *, k: int | None = None, where: Filter | None = None) -> Answer:
        """The whole answer (the stream, consumed)."""
        for event in self.stream(question, collection, k=k, where=where):
            if isinstance(event, DoneEvent):
                return event.answer
        raise AssertionError("an answer stream ended without a DoneEvent")  # pragma: no cover

    def stream(
        self, question: str, collection: str, *, k: int | None = None, where: Filter | None = None
    ) -> Iterator[AnswerEvent]:
        """Tokens as they come, then citations, usage and the final :class:`Answer`."""
        run = _Run(time.perf_counter())
        with self.tracer.trace("answer", question, collection=collection, prompt=self.prompt.ref) as trace:
            result = self._retrieve(trace, question, collection, k or self.settings.k, where)
            weak = self._weak(result)
            sources = [] if weak else self._pack(trace, question, collection, result)
            weak = weak or ("" if sources else "no source fits the context budget")
            if weak:
                answer = self._abstain(trace, question, weak, run)
                yield TokenEvent(answer.text)
            else:
                yield from self._generate(trace, question, sources, run)
                answer = self._finish(trace, question, sources, run)
            for citation in answer.citations:
                yield CitationEvent(citation)
            yield UsageEvent(answer.usage)
            yield DoneEvent(answer)

    def _retrieve(self, trace: Trace, question: str, collection: str, k: int, where: Filter | None) -> SearchResult:
        mode = self.settings.mode
        with trace.stage("retrieve") as span:
            result = self.searcher.search(question, collection, k=k, mode=mode, where=where, trace=trace)
            span.attributes.update(retriever=mode)
            span.attributes["top_score"] = round(max((h.score for h in result.hits), default=0.0), 6)
            span.add(hits=len(result.hits))
        return result

    def _budget(self, question: str) -> int:
        frame = count_messages(self.prompt.render(question, ""), self.chat_model.model_id)
        room = self.context_window - self.settings.max_tokens - frame - _CONTEXT_MARGIN
        return max(0, min(self.settings.max_context_tokens, room))

    def _pack(self, trace: Trace, question: str, collection: str, result: SearchResult) -> list[Source]:
        with trace.stage("pack") as span:
            budget = self._budget(question)
            sources = pack(
                result.hits,
                budget_tokens=budget,
                model=self.chat_model.model_id,
                store=self.store,
                collection=collection,
                question=question,
            )
            span.add(sources=len(sources), chunks=sum(len(s.chunks) for s in sources), budget_tokens=budget)
        return sources

    def _weak(self, result: SearchResult) -> str:
        """Why retrieval support is too weak to ask the model ("" when it is fine)."""
        if not result.hits:
            return "no sources found"
        top = max(h.score for h in result.hits)
        floor = self.settings.min_score_dense if self.settings.mode == "dense" else self.settings.min_score_bm25
        if top < floor:
            return f"weak retrieval support: top {self.settings.mode} score {top:.3f} < {floor}"
        return ""

    def _abstain(self, trace: Trace, question: str, reason: str, run: _Run) -> Answer:
        trace.root.attributes.update(abstained=True, abstain_reason=reason)
        return Answer(
            question,
            NO_SUPPORT,
            (),
            abstained=True,
            abstain_reason=reason,
            model=self.chat_model.model_id,
            prompt_version=self.prompt.ref,
            trace_id=trace.trace_id,
            seconds=time.perf_counter() - run.began,
        )

    def _generate(self, trace: Trace, question: str, sources: list[Source], run: _Run) -> Iterator[AnswerEvent]:
        messages = self.prompt.render(question, format_sources(sources, titles=self.prompt.source_titles))
        call = ChatSettings(max_tokens=self.settings.max_tokens, stop=self.prompt.stop or None)
        for event in Traced(self.chat_model, trace).stream(messages, settings=call):
            if isinstance(event, TextDelta) and event.text:
                if run.ttft_s is None:
                    run.ttft_s = time.perf_counter() - run.began
                run.parts.append(event.text)
                yield TokenEvent(event.text)
            elif isinstance(event, LLMUsage):
                run.usage = event.usage
            elif isinstance(event, Done):
                run.model = event.model
        llm = next(s for s in trace.spans if s.name == "llm")
        llm.attributes["prompt_version"] = self.prompt.ref

    def _said_cannot(self, text: str) -> bool:
        said = text.lower().replace("\u2019", "'")
        return self.prompt.abstain_marker.lower() in said or any(p in said for p in _CANNOT)

    def _finish(self, trace: Trace, question: str, sources: list[Source], run: _Run) -> Answer:
        with trace.stage("cite") as span:
            threshold = self.settings.support_threshold
            resolved = resolve(run.text, sources, threshold=threshold)
            abstained = self._said_cannot(resolved.text)
            citations: tuple[Citation, ...] = () if abstained else resolved.citations
            if not citations and not abstained and self.settings.fallback_citations:
                citations = fallback_citations(resolved.text, sources, threshold=threshold)
            span.add(
                citations=len(citations),
                supported=sum(c.supported for c in citations),
                fallback=sum(c.fallback for c in citations),
                removed=len(resolved.removed),
            )
        reason = "the model said the sources do not answer the question" if abstained else ""
        trace.root.attributes.update(abstained=abstained, abstain_reason=reason)
        return Answer(
            question,
            resolved.text,
            citations,
            abstained=abstained,
            abstain_reason=reason,
            removed_citations=resolved.removed,
            usage=run.usage,
            model=run.model or self.chat_model.model_id,
            prompt_version=self.prompt.ref,
            trace_id=trace.trace_id,
            seconds=time.perf_counter() - run.began,
            ttft_s=run.ttft_s,
        )
