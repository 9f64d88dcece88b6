"""``quarry tune advise``: which lever an answer-eval run's failures point to, with the figures behind it.

Every answerable question answered wrongly is put in exactly one bucket, in pipeline order:

1. **retrieval** — no gold passage among the retrieved ones (``context_recall_retrieved`` = 0): embeddings
   (``quarry tune embeddings``) or chunking;
2. **packing** — retrieved, but dropped before the model saw it (``context_recall_packed`` = 0): the context
   budget and passage selection (``[generation]`` settings);
3. **abstained** — the model saw the answer and said it does not know: the abstention thresholds;
4. **generation** — the model saw the answer and said something else (or was cut off): the prompt first, then
   LLM tuning (``quarry tune llm``).

Unanswerable questions answered anyway point to the abstention thresholds too. The advice names the largest
bucket first; tuning is advised only when its bucket holds at least ``min_share`` of the failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from quarry.evaluation.answer_runner import AnswerRun, ItemResult

__all__ = ["Advice", "Finding", "advise"]

LEVERS = {
    "retrieval": "retrieval recall is low: tune the embedder (quarry tune embeddings) or revisit chunking",
    "packing": "the answer was retrieved but cut before the model saw it: raise [generation] max_context_tokens "
    "or max_sources",
    "abstained": "the model had the answer and abstained: lower [generation] min_evidence_score / min_score_dense",
    "generation": "the model had the answer and got it wrong or malformed: improve the prompt (quarry prompts), "
    "then tune the model (quarry tune llm)",
    "over-answering": "unanswerable questions were answered: raise the abstention thresholds "
    "([generation] min_evidence_score / supported_score)",
}


@dataclass(frozen=True, slots=True)
class Finding:
    lever: str
    count: int
    share: float  # of all failures
    advice: str
    examples: tuple[str, ...] = ()  # question ids


@dataclass(frozen=True, slots=True)
class Advice:
    run: str
    answerable: int
    unanswerable: int
    correct: float
    figures: dict[str, float]
    findings: list[Finding] = field(default_factory=list)

    @property
    def first(self) -> Finding | None:
        return self.findings[0] if self.findings else None


def _bucket(result: ItemResult) -> str | None:
    m, outcome = result.metrics, result.outcome
    if not result.item.answerable:
        return None if outcome.abstained else "over-answering"
    if m.get("correct"):
        return None
    if not m.get("context_recall_retrieved"):
        return "retrieval"
    if not m.get("context_recall_packed"):
        return "packing"
    return "abstained" if outcome.abstained else "generation"


def _mean(values: list[float | None]) -> float:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else 0.0


def advise(run: AnswerRun, *, min_share: float = 0.0) -> Advice:
    buckets: dict[str, list[str]] = {}
    for result in run.results:
        bucket = _bucket(result)
        if bucket is not None:
            buckets.setdefault(bucket, []).append(result.item.id)
    failures = sum(len(v) for v in buckets.values())
    answerable = [r for r in run.results if r.item.answerable]
    figures = {
        name: _mean([r.metrics.get(name) for r in answerable])
        for name in ("correct", "context_recall_retrieved", "context_recall_packed", "abstained", "truncated")
    }
    figures["unanswerable_answered"] = _mean(
        [0.0 if r.outcome.abstained else 1.0 for r in run.results if not r.item.answerable]
    )
    findings = [
        Finding(lever, len(ids), len(ids) / failures, LEVERS[lever], tuple(ids[:5]))
        for lever, ids in sorted(buckets.items(), key=lambda kv: -len(kv[1]))
        if len(ids) / failures >= min_share
    ]
    return Advice(run.name, len(answerable), len(run.results) - len(answerable),
                  _mean([r.metrics.get("correct") for r in run.results]), figures, findings)  # fmt: skip
