"""The served answer pipeline as a system under evaluation.

``quarry eval answers`` must measure exactly what ``quarry ask`` and ``/v1/answer`` serve, so it takes the
:class:`~quarry.generation.Answerer` that :class:`~quarry.assembly.Quarry` builds from the same settings (the
configured retrieval mode, fusion, reranker and query expansion included) and only translates its answers
into the evaluation layer's :class:`~quarry.evaluation.AnswerOutcome`. The configuration key for the answer
cache names everything an answer depends on: the settings that shape retrieval and generation, the chat
model, the prompt template's text, Quarry's version and the collection's write generation. The semantic answer
cache is left out: a hit has no latency of its own and may be a paraphrase's answer or one an older version gave.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from quarry import __version__
from quarry.evaluation.outcome import AnswerOutcome, CitedSpan
from quarry.evaluation.outcome import Passage as EvalPassage
from quarry.evaluation.qa import QAItem
from quarry.generation import Answer, Answerer, Passage, load_prompt
from quarry.settings import Settings
from quarry.stores.base import Store
from quarry.types import content_hash

__all__ = ["AnswerTarget", "answer_outcome", "answer_target"]


def _passages(passages: tuple[Passage, ...]) -> tuple[EvalPassage, ...]:
    return tuple(EvalPassage(p.document_uri, p.text, p.start, p.end) for p in passages)


def answer_outcome(answer: Answer, store: Store, collection: str) -> AnswerOutcome:
    """``answer`` as an outcome; each citation's quote is checked against the stored document's span."""
    texts: dict[str, str | None] = {}
    cited = []
    for c in answer.citations:
        if c.document_uri not in texts:
            document = store.document(collection, c.document_uri)
            texts[c.document_uri] = document.text if document is not None else None
        text = texts[c.document_uri]
        valid = None if text is None else text[c.start : c.end] == c.quote
        cited.append(CitedSpan(c.document_uri, c.quote, c.start, c.end, c.supported, c.fallback, valid))
    usage = answer.usage
    return AnswerOutcome(
        text=answer.text,
        abstained=answer.abstained,
        supported=answer.supported,
        truncated=answer.truncated,
        citations=tuple(cited),
        retrieved=_passages(answer.retrieved),
        context=_passages(answer.sources),
        seconds=answer.seconds,
        ttft_s=answer.ttft_s,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost_usd=usage.cost_usd,
        model=answer.model,
        trace_id=answer.trace_id,
        extra={
            "method": answer.method,
            "model_text": answer.model_text,
            "note": answer.note,
            "abstain_reason": answer.abstain_reason,
            "query": answer.query,
        },
    )


@dataclass(frozen=True, slots=True)
class AnswerTarget:
    """The served pipeline over one collection: call it with a question item; ``config`` describes it and
    ``config_key`` names everything its answers depend on (the cache key)."""

    answerer: Answerer
    store: Store
    collection: str
    k: int | None
    config: dict[str, Any]
    config_key: str

    def __call__(self, item: QAItem) -> AnswerOutcome:
        answer = self.answerer.answer(item.question, self.collection, k=self.k)
        return answer_outcome(answer, self.store, self.collection)


def describe(settings: Settings, model_id: str, k: int | None) -> dict[str, Any]:
    generation = settings.generation.model_dump(mode="json")
    if k is not None:
        generation["k"] = k
    return {
        "quarry": __version__,
        "model": model_id,
        "llm": settings.llm.model_dump(mode="json", exclude={"fallback", "prices", "budget"}),
        "generation": generation,
        "retrieval": settings.retrieval.model_dump(mode="json"),
        "embeddings": settings.embeddings.model_dump(mode="json", include={"provider", "model", "query_model"}),
        "chunking": settings.chunking.model_dump(mode="json"),
    }


def answer_target(answerer: Answerer, store: Store, settings: Settings, collection: str, k: int | None) -> AnswerTarget:
    config = describe(settings, answerer.chat_model.model_id, k)
    configured = settings.generation.prompt
    prompt = answerer.registry.template(configured) if answerer.registry is not None else load_prompt(configured)
    config["generation"]["prompt"] = prompt.ref  # the version a label resolved to, so runs name what ran
    generation = store.collection(collection).generation
    key = json.dumps(
        {
            **config,
            "prompt_text": [prompt.system, prompt.user, list(prompt.stop)],
            "collection": collection,
            "collection_generation": generation,
        },
        sort_keys=True,
    )
    return AnswerTarget(answerer.uncached(), store, collection, k, config, content_hash(key))
