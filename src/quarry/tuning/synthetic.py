"""Synthetic training questions: the configured chat model writes one question per sampled chunk, and a question
is kept only if retrieval finds its chunk's document again among the top ``k`` (round-trip filtering, as in
Promptagator / InPars): a question too vague to lead back to its passage would teach the embedder noise."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from quarry.llm.base import ChatModel, ChatSettings
from quarry.pipeline.reembed import all_documents
from quarry.stores.base import Store
from quarry.tuning.pairs import TrainingPair
from quarry.tuning.sources import doc_key
from quarry.types import Message

__all__ = ["SyntheticReport", "synthetic_pairs"]

Retrieve = Callable[[str, int], list[str]]
"""(question, k) → document uris, best first."""

PROMPT = (
    "Write one question that the passage below answers. Ask about a specific fact in it, use its key terms, "
    "and do not mention 'the passage'. Reply with the question only.\n\nPassage:\n{passage}"
)
_QUESTION = re.compile(r"[^\n?]{12,300}\?")


@dataclass(frozen=True, slots=True)
class SyntheticReport:
    pairs: list[TrainingPair]
    asked: int
    malformed: int  # the model's reply held no question
    lost: int  # retrieval did not find the passage's document in the top k


def synthetic_pairs(
    store: Store, collection: str, chat: ChatModel, retrieve: Retrieve, *, count: int, k: int = 5, seed: int = 0,
    max_passage_chars: int = 1500, progress: Callable[[int, int], None] | None = None,
) -> SyntheticReport:  # fmt: skip
    """Ask for ``count`` questions over chunks sampled evenly from the collection's documents (seeded)."""
    rng = random.Random(seed)
    uris = [uri for uri, info in all_documents(store, collection).items() if info.duplicate_of is None]
    rng.shuffle(uris)
    pairs: list[TrainingPair] = []
    malformed = lost = asked = 0
    for uri in uris[:count]:
        chunks = store.chunks(collection, uri)
        if not chunks:
            continue
        passage = rng.choice(chunks).context
        asked += 1
        question = _question(chat, passage[:max_passage_chars])
        if question is None:
            malformed += 1
        elif uri not in retrieve(question, k):
            lost += 1
        else:
            pairs.append(TrainingPair(question, passage, doc_key(uri), source="synthetic"))
        if progress:
            progress(asked, min(count, len(uris)))
    return SyntheticReport(pairs, asked, malformed, lost)


def _question(chat: ChatModel, passage: str) -> str | None:
    reply = chat.complete(
        [Message("user", PROMPT.format(passage=passage))], settings=ChatSettings(temperature=0.0, max_tokens=64)
    )
    match = _QUESTION.search(reply.text)
    return match.group(0).strip().lstrip("-*0123456789. ").strip() if match else None
