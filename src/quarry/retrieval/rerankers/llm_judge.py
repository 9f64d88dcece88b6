"""The chat model as a relevance judge: each candidate gets a 0–3 grade in a JSON object.

One call per candidate (a small model judges one passage far better than a list), asked through
:func:`quarry.llm.complete_structured` with a schema whose ``grade`` is an enum, so a model that
``supports_json_schema`` (the local llama.cpp one) can only answer a valid grade. Only the first
``max_candidates`` hits are judged: the rest keep their first-stage order *below* the judged ones,
which bounds the cost (one prompt of ~``max_chars``/4 tokens per judged hit). Grades are coarse, so
ties are common; the stable sort in :class:`~.base.ScoringReranker` breaks them by first-stage order,
and ``weight < 1`` blends the grade with the first-stage score instead.

A reply that still fails validation after ``max_attempts`` counts as grade 0 and is counted in
``failures``; a provider error (model down, timeout) propagates, as for any other search stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from quarry.errors import StructuredOutputError
from quarry.llm.base import ChatModel, ChatSettings
from quarry.llm.structured import complete_structured
from quarry.retrieval.rerankers.base import Scores, ScoringReranker
from quarry.types import Hit, Message

__all__ = ["GRADE_SCHEMA", "LLMJudgeReranker", "judge_messages"]

GRADE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"grade": {"type": "integer", "enum": [0, 1, 2, 3]}},
    "required": ["grade"],
    "additionalProperties": False,
}
_SYSTEM = (
    "You judge whether a passage helps answer a search query. Grade it: 3 = directly answers or "
    "decides the query, 2 = clearly on the topic and useful, 1 = related topic only, 0 = unrelated. "
    'Reply with JSON like {"grade": 2}.'
)
_SETTINGS = ChatSettings(temperature=0.0, max_tokens=16, seed=0)


def judge_messages(query: str, passage: str, max_chars: int) -> list[Message]:
    """The conversation that asks for one passage's grade (the passage cut at ``max_chars``)."""
    text = passage if len(passage) <= max_chars else passage[:max_chars].rsplit(" ", 1)[0] + " …"
    return [Message("system", _SYSTEM), Message("user", f"Query: {query}\n\nPassage:\n{text}\n\nGrade (0-3)?")]


class LLMJudgeReranker(ScoringReranker):
    """Grades the first ``max_candidates`` hits with ``model``; see the module docstring."""

    def __init__(
        self,
        model: ChatModel,
        *,
        weight: float = 1.0,
        max_candidates: int = 10,
        max_chars: int = 800,
        max_attempts: int = 2,
    ) -> None:
        super().__init__(weight=weight)
        self.model, self.max_candidates = model, max_candidates
        self.max_chars, self.max_attempts = max_chars, max_attempts
        self.name = f"judge:{model.model_id}"
        self.failures = 0

    def grade(self, query: str, passage: str) -> int:
        try:
            reply = complete_structured(
                self.model,
                judge_messages(query, passage, self.max_chars),
                GRADE_SCHEMA,
                max_attempts=self.max_attempts,
                settings=_SETTINGS,
            )
        except StructuredOutputError:
            self.failures += 1
            return 0
        return int(reply["grade"])

    def score(self, query: str, passages: Sequence[str]) -> Scores:
        return np.array([self.grade(query, p) for p in passages], dtype=np.float64)

    def rerank(self, query: str, hits: Sequence[Hit], k: int) -> list[Hit]:
        judged = super().rerank(query, hits[: self.max_candidates], max(k, 1))
        return [*judged, *hits[self.max_candidates :]][:k]
