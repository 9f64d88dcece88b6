"""Grounded, cited answers: condense → retrieve → (maybe abstain) → pack → generate → check, in one trace.

:class:`Answerer` answers ``question`` over one collection:

1. *Condense* a follow-up in a conversation into a standalone query (:mod:`quarry.generation.conversation`).
2. *Retrieve* with the same searcher as search (hybrid by default, the caller's filter and principals
   applied inside both paths), ``k`` passages, up to ``max_chunks_per_document`` of one document.
3. *Abstain early* — no model call — when nothing is found, when the best passage's cosine is below
   ``min_score_dense``, or when no passage carries every qualifier of the question (a year, a code, a
   name: :mod:`quarry.generation.questions`) — the documents are about something else.
4. *Pack* whole passages, those carrying every qualifier first, neighbours merged, tables with their
   header rows, under ``context window − prompt − answer budget`` (optionally capped), at most
   ``max_sources`` of them.
5. *Generate*, streaming, with the configured prompt (and the caller's own system message first).
6. *Check* (:mod:`quarry.generation.checking`): claims the sources do not back are removed; when nothing
   is left the best supporting sentence is quoted instead; ``supported`` is set from the check.

``stream`` yields :class:`TokenEvent` s as the model writes, a :class:`RevisionEvent` when the check changed
the text, then one :class:`CitationEvent` per citation, one :class:`UsageEvent` and one :class:`DoneEvent`
with the :class:`Answer`. Times are from the call (``ttft_s``: to the first token). The trace nests
``condense``, ``retrieve`` (with the search's own stages), ``pack``, ``llm.load`` (only when the model had to
start), ``llm`` and ``check`` under the ``answer`` root.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import replace

from quarry.cache.semantic import SemanticCache, exact_key
from quarry.errors import QuarryError
from quarry.generation.cached import answer_key, decode_answer, encode_answer
from quarry.generation.checking import Checked, CheckPolicy, check_answer, extract_only
from quarry.generation.conversation import condense
from quarry.generation.guarded import guard_answer, guard_question, guard_sources, holds_output, scrub
from quarry.generation.model_stream import prompt_messages, stream_model
from quarry.generation.outcomes import abstained_answer, final_answer, refused_answer
from quarry.generation.prompts import load_prompt
from quarry.generation.questions import analyse
from quarry.generation.registry import PromptRegistry, arm_settings
from quarry.generation.run import (
    CacheProbe,
    Run,
    dense_top,
    hit_passage,
    thin_evidence,
    unmatched,
    weak_retrieval,
)
from quarry.generation.selection import Selector, embedder_similarity
from quarry.generation.types import (
    Answer,
    AnswerEvent,
    CitationEvent,
    DoneEvent,
    RevisionEvent,
    TokenEvent,
    UsageEvent,
)
from quarry.guardrails import Guardrails
from quarry.llm import ChatModel, count_messages
from quarry.retrieval.search import Searcher, SearchResult
from quarry.settings import GenerationSettings
from quarry.stores.base import Store
from quarry.stores.filters import Filter
from quarry.tracing import Trace, Tracer
from quarry.types import Message, Usage

__all__ = ["NO_SUPPORT", "Answerer"]

NO_SUPPORT = "I don't know: the documents I found do not support an answer to this question."
_CONTEXT_MARGIN = 32


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
        guardrails: Guardrails | None = None,
        cache: SemanticCache | None = None,
        registry: PromptRegistry | None = None,
        models: Callable[[str], ChatModel] | None = None,
    ) -> None:
        self.searcher, self.store, self.chat_model = searcher, store, chat_model
        self.guardrails, self.cache, self.registry, self.models = guardrails, cache, registry, models
        self._labels: dict[str, str] = {}  # experiment and variant, on the trace of a request that has them
        self.settings = settings or GenerationSettings()
        self.tracer = tracer or searcher.tracer
        self.context_window = self.settings.context_window or context_window
        self.prompt = (
            registry.template(self.settings.prompt) if registry is not None else load_prompt(self.settings.prompt)
        )
        self.selector = self._selector(self.settings)

    def uncached(self) -> Answerer:
        """This answerer without the semantic answer cache (evaluation measures answers, not cache hits)."""
        twin = copy.copy(self)
        twin.cache = None
        return twin

    def _selector(self, settings: GenerationSettings) -> Selector:
        similarity = embedder_similarity(self.searcher.embedder)
        return Selector(self.store, similarity, max_sources=settings.max_sources, model=self.chat_model.model_id)

    def answer(
        self,
        question: str,
        collection: str,
        *,
        k: int | None = None,
        where: Filter | None = None,
        history: Sequence[Message] = (),
        system: str | None = None,
        subject: str = "",
    ) -> Answer:
        """The whole answer (the stream, consumed to its end so the trace closes normally)."""
        found: Answer | None = None
        events = self.stream(question, collection, k=k, where=where, history=history, system=system, subject=subject)
        for event in events:
            if isinstance(event, DoneEvent):
                found = event.answer
        if found is None:  # pragma: no cover - stream always ends with a DoneEvent
            raise AssertionError("an answer stream ended without a DoneEvent")
        return found

    def stream(
        self,
        question: str,
        collection: str,
        *,
        k: int | None = None,
        where: Filter | None = None,
        history: Sequence[Message] = (),
        system: str | None = None,
        subject: str = "",
    ) -> Iterator[AnswerEvent]:
        """Tokens as they come, a revision if the check changed them, then citations, usage and the answer.

        With a prompt registry, the prompt is resolved for this request: a label moved by ``promote`` or
        ``rollback`` applies to the next request, and ``subject`` (a user or session key) keeps a conversation
        on one experiment variant."""
        chosen = self._for_request(collection, subject)
        return chosen._stream(question, collection, k=k, where=where, history=history, system=system)

    def _for_request(self, collection: str, subject: str) -> Answerer:
        if self.registry is None:
            return self
        resolved = self.registry.resolve(self.settings.prompt, subject=subject, collection=collection)
        if resolved.template == self.prompt and not resolved.experiment:
            return self
        view = copy.copy(self)  # shares the searcher, store, model and selector; only what the arm changes differs
        view.prompt = resolved.template
        if resolved.settings:
            view.settings, model, searched = arm_settings(self.settings, self.searcher.settings, resolved.settings)
            if searched is not self.searcher.settings:  # a searcher sharing the indexes, with the arm's settings
                view.searcher = copy.copy(self.searcher)
                view.searcher.settings = searched
            if model is not None and self.models is not None:
                view.chat_model = self.models(model)
            view.selector = view._selector(view.settings)
        view._labels = {"experiment": resolved.experiment, "variant": resolved.variant} if resolved.experiment else {}
        return view

    def _stream(
        self,
        question: str,
        collection: str,
        *,
        k: int | None,
        where: Filter | None,
        history: Sequence[Message],
        system: str | None,
    ) -> Iterator[AnswerEvent]:
        run = Run(time.perf_counter(), question, collection=collection)
        labels = {"collection": collection, "prompt": self.prompt.ref, **self._labels}
        with self.tracer.trace("answer", question, **labels) as trace:
            asked = guard_question(self._guards(collection), collection, question, trace)
            # the conversation's earlier user turns too (a system message is instructions by nature: the probe
            # flags "You are a helpful assistant." at 0.90, so it is the caller's to vouch for)
            for earlier in (m.content for m in history if m.role == "user"):
                if asked.refusal or not earlier.strip():
                    continue
                before = guard_question(self._guards(collection), collection, earlier, trace)
                asked = replace(asked, refusal=before.refusal, flags=asked.flags + before.flags)
            run.flags += asked.flags
            if asked.text != question:  # redacted (personal data): the original is kept nowhere, not in the trace
                trace.root.name = run.question = asked.text
            probe = None if asked.refusal else self._probe(trace, run, asked.text, k, where, history, system)
            if asked.refusal:
                answer = self._refuse(trace, run, asked.refusal)
                yield TokenEvent(answer.text)
            elif probe is not None and probe.hit is not None:
                answer = probe.hit
                yield TokenEvent(answer.text)
            else:
                answer = yield from self._answer_question(trace, run, asked.text, history, k, where, system)
                if probe is not None and self.cache is not None and not answer.refused:
                    self.cache.store(probe.key, collection, probe.generation, asked.text, probe.vector,
                                     encode_answer(answer))  # fmt: skip
            # what was said (for feedback turned into evaluation cases), however the answer was reached
            trace.root.attributes.update(
                answer=answer.text[:4000], cited=[c.document_uri for c in answer.citations][:10]
            )
            for citation in answer.citations:
                yield CitationEvent(citation)
            yield UsageEvent(answer.usage)
            yield DoneEvent(answer)

    def _answer_question(self, trace: Trace, run: Run, question: str, history: Sequence[Message], k: int | None,
                         where: Filter | None, system: str | None) -> Generator[AnswerEvent, None, Answer]:  # fmt: skip
        run.query = self._condense(trace, question, history)
        run.asked = analyse(run.query)
        result = self._retrieve(trace, run.query, run.collection, k or self.settings.k, where)
        run.retrieved = tuple(hit_passage(h) for h in result.hits)
        reason = weak_retrieval(result, self.settings)
        if not reason:
            self._pack(trace, run, run.collection, result)
            reason = unmatched(run.asked, [*run.sources, *run.extra]) or thin_evidence(run, self.settings)
        if reason:
            answer = self._abstain(trace, run, reason)
            yield TokenEvent(answer.text)
            return answer
        if self.settings.answer_mode == "extract":
            answer = self._extract(trace, run)
            yield TokenEvent(answer.text)
            return answer
        held = holds_output(self._guards(run.collection))
        if held:  # personal data is redacted before any of the answer leaves: nothing streams until then
            for _ in self._generate(trace, run, system):
                pass
        else:
            yield from self._generate(trace, run, system)
        answer = self._answer(trace, run, self._check(trace, run))
        if held:
            yield TokenEvent(answer.text)
        elif answer.text.startswith(streamed := "".join(run.parts)) and answer.text != streamed:
            yield TokenEvent(answer.text[len(streamed) :])  # e.g. the closing bracket of a citation cut short
        elif answer.text != run.text:
            yield RevisionEvent(answer.text, answer.note or "the claim check changed the answer")
        return answer

    def _probe(self, trace: Trace, run: Run, question: str, k: int | None, where: Filter | None,
               history: Sequence[Message], system: str | None) -> CacheProbe | None:  # fmt: skip
        """Look the question up in the semantic cache (None when there is no cache or no such collection)."""
        if self.cache is None:
            return None
        with trace.stage("cache") as span:
            try:
                generation = self.store.collection(run.collection).generation
            except QuarryError:
                return None  # the answer path reports the unknown collection
            guards = self._guards(run.collection)
            parts = answer_key(
                collection=run.collection, generation=generation, question=question, where=where,
                k=k or self.settings.k, prompt=self.prompt.ref, model=self.chat_model.model_id,
                settings={"generation": self.settings.model_dump(mode="json"),
                          "retrieval": self.searcher.settings.for_collection(run.collection).model_dump(mode="json")},
                guards=guards.settings.model_dump(mode="json") if guards is not None else {},
                history=history, system=system,
            )  # fmt: skip
            key = exact_key(parts)
            vector = self.searcher.embedder.embed_query(question)
            found = self.cache.lookup(key, vector)
            span.attributes.update(hit=found is not None, backend=self.cache.backend.name)
            if found is None:
                span.add(misses=1)
                return CacheProbe(key, generation, vector)
            span.attributes.update(similarity=round(found.similarity, 4), matched=found.question[:200])
            span.add(hits=1)
        trace.root.attributes.update(cached=True)
        stored = decode_answer(found.payload)
        hit = replace(stored, question=run.question, trace_id=trace.trace_id, usage=Usage(0, 0),
                      seconds=time.perf_counter() - run.began, ttft_s=None, cached=True)  # fmt: skip
        return CacheProbe(key, generation, vector, hit)

    def _guards(self, collection: str) -> Guardrails | None:
        return None if self.guardrails is None else self.guardrails.for_collection(collection)

    def _condense(self, trace: Trace, question: str, history: Sequence[Message]) -> str:
        if not history or self.settings.condense == "off":
            return question
        with trace.stage("condense") as span:
            query = condense(question, history, mode=self.settings.condense, model=self.chat_model)
            span.attributes["query"] = query[:200]
        return query

    def _retrieve(self, trace: Trace, query: str, collection: str, k: int, where: Filter | None) -> SearchResult:
        mode = self.settings.mode
        with trace.stage("retrieve") as span:
            result = self.searcher.search(
                query,
                collection,
                k=k,
                mode=mode,
                where=where,
                trace=trace,
                explain=True,
                max_chunks_per_document=self.settings.max_chunks_per_document,
            )
            span.attributes.update(retriever=result.mode, k=k)
            span.attributes["top_dense"] = round(dense_top(result) or 0.0, 6)
            span.add(hits=len(result.hits))
        return result

    def _budget(self, question: str) -> int:
        frame = count_messages(self.prompt.render(question, ""), self.chat_model.model_id)
        room = self.context_window - self.settings.max_tokens - frame - _CONTEXT_MARGIN
        cap = self.settings.max_context_tokens
        return max(0, min(room, cap) if cap is not None else room)

    def _pack(self, trace: Trace, run: Run, collection: str, result: SearchResult) -> None:
        with trace.stage("pack") as span:
            budget = self._budget(run.asked.text)
            chosen = self.selector.select(run.asked, collection, result.hits, budget)
            guards = self._guards(collection)
            run.sources, run.extra, run.quotes, flagged = guard_sources(
                guards, collection, chosen.sources, chosen.extra, chosen.quotes, trace
            )
            if flagged:
                run.flags.append("injection")
                span.add(flagged=flagged)
            span.add(
                sources=len(chosen.sources),
                chunks=sum(len(s.chunks) for s in chosen.sources),
                budget_tokens=budget,
                tokens=chosen.tokens,
                candidates=len(chosen.sources) + len(chosen.extra),
            )

    def _abstain(self, trace: Trace, run: Run, reason: str) -> Answer:
        trace.root.attributes.update(abstained=True, abstain_reason=reason, supported=False)
        return abstained_answer(run, trace.trace_id, self.chat_model.model_id, self.prompt.ref, NO_SUPPORT, reason)

    def _refuse(self, trace: Trace, run: Run, reason: str) -> Answer:
        trace.root.attributes.update(refused=True, refusal=reason, supported=False)
        return refused_answer(run, trace.trace_id, self.chat_model.model_id, self.prompt.ref, reason)

    def _generate(self, trace: Trace, run: Run, system: str | None) -> Iterator[AnswerEvent]:
        messages = prompt_messages(self.prompt, run.question, run.sources, system)
        return stream_model(self.chat_model, self.settings, self.prompt, trace, run, messages)

    @property
    def policy(self) -> CheckPolicy:
        s = self.settings
        return CheckPolicy(
            self.prompt.abstain_marker, s.support_threshold, s.verify, s.extractive_fallback, s.supported_score
        )

    def _check(self, trace: Trace, run: Run) -> Checked:
        with trace.stage("check") as span:
            checked = check_answer(run.text, run.sources, run.asked, run.quotes, self.policy, extra=run.extra)
            span.attributes.update(method=checked.method, supported=checked.supported)
            span.add(
                claims=len(checked.claims),
                unsupported=sum(not c.supported for c in checked.claims),
                citations=len(checked.citations),
                removed=len(checked.removed),
            )
        return checked

    def _extract(self, trace: Trace, run: Run) -> Answer:
        with trace.stage("check") as span:
            found = extract_only([*run.sources, *run.extra], run.quotes, self.policy)
            span.attributes.update(method="extractive", supported=bool(found and found.supported))
        if found is None:
            return self._abstain(trace, run, "no sentence of the sources matches the question")
        return self._answer(trace, run, found)

    def _answer(self, trace: Trace, run: Run, checked: Checked) -> Answer:
        guarded = guard_answer(self._guards(run.collection), run.collection, checked.text,
                               supported=checked.supported, system_prompt=self.prompt.system,
                               cited=[c.document_uri for c in checked.citations], trace=trace)  # fmt: skip
        run.flags += guarded.flags
        if guarded.refusal:
            return self._refuse(trace, run, guarded.refusal)
        checked = replace(checked, text=guarded.text)
        guards = self._guards(run.collection)
        model_text = run.text
        if holds_output(guards):  # what the model wrote and the claims it made, redacted like the answer
            model_text = scrub(guards, run.collection, model_text)
            checked = replace(checked, claims=tuple(replace(c, text=scrub(guards, run.collection, c.text))
                                                    for c in checked.claims))  # fmt: skip
        abstained = checked.method == "abstained"
        trace.root.attributes.update(
            abstained=abstained,
            abstain_reason=checked.reason if abstained else "",
            supported=checked.supported,
            method=checked.method,
            ttft_s=round(run.ttft_s or 0.0, 4),
        )
        return final_answer(run, trace.trace_id, checked, model_text, self.chat_model.model_id, self.prompt.ref)
