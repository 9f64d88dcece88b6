"""The answer pipeline's use of the semantic cache: what goes in the exact key, and how an answer is stored.

The exact key names everything an answer depends on besides the wording of the question:

- the collection and its write **generation** (any ingest, edit or delete bumps it: stale entries never match),
- the caller's **effective filter** (its own filter ANDed with the visibility filter made from its principals,
  as ``repr`` of the filter AST), so an answer only goes to callers who see exactly the same documents,
- ``k``, the **prompt version**, the **model**, every **generation setting**, the guard configuration, the
  caller's system message and the conversation so far,
- the question's **qualifiers** — the numbers, years, codes and names it mentions
  (:func:`~quarry.generation.questions.analyse`): "revenue in 2019" and "revenue in 2020" embed almost alike,
  but they differ here, so one is never served the other's answer.

Only the question's wording is left to the cosine threshold. Refusals are not stored (a guard's verdict is
re-made on every request); abstentions are (they depend on the same things an answer does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter

from quarry import __version__
from quarry.generation.questions import analyse
from quarry.generation.types import Answer
from quarry.stores.filters import Filter
from quarry.types import Message

__all__ = ["answer_key", "decode_answer", "encode_answer"]

_ANSWER = TypeAdapter(Answer)


def answer_key(*, collection: str, generation: int, question: str, where: Filter | None, k: int,
               prompt: str, model: str, settings: dict[str, Any], guards: dict[str, Any],
               history: Sequence[Message], system: str | None) -> dict[str, Any]:  # fmt: skip
    """The parts of the exact key (hash them with :func:`quarry.cache.semantic.exact_key`)."""
    asked = analyse(question)
    return {
        "quarry": __version__,  # an upgraded Quarry answers afresh
        "collection": collection,
        "generation": generation,
        "filter": repr(where),
        "k": k,
        "prompt": prompt,
        "model": model,
        "settings": settings,
        "guards": guards,
        "system": system or "",
        "history": [(m.role, m.content) for m in history],
        "numbers": sorted(asked.qualifiers.numbers),
        "names": sorted(asked.qualifiers.names),
        "quoted": sorted(asked.quoted),
    }


def encode_answer(answer: Answer) -> bytes:
    return _ANSWER.dump_json(answer)


def decode_answer(payload: bytes) -> Answer:
    return _ANSWER.validate_json(payload)
