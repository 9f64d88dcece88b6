"""Feedback to evaluation cases: real questions users rated become a QA JSONL for ``quarry eval answers``.

- a correction becomes the reference answer;
- a thumbs up (or a score of 0.5 or more) keeps the answer the user accepted as the reference (an abstention they
  approved becomes an unanswerable case);
- a thumbs down without a correction says the answer was wrong but not what is right: it is skipped and counted.

The cited documents become ``gold_docs``; each case's ``metadata`` names its trace and feedback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from quarry.stores.base import TraceStore
from quarry.stores.ops import Feedback

__all__ = ["ExportResult", "feedback_cases"]


@dataclass(frozen=True)
class ExportResult:
    cases: list[dict[str, object]]
    skipped: int  # thumbs down without a correction, or traces no longer stored


def feedback_cases(feedback: Sequence[Feedback], traces: TraceStore) -> ExportResult:
    """One case per trace (its latest feedback decides), in QA JSONL form."""
    latest: dict[str, Feedback] = {}
    for item in sorted(feedback, key=lambda f: f.created_at):
        latest[item.trace_id] = item
    cases, skipped = [], 0
    for trace_id, item in latest.items():
        record = traces.trace(trace_id)
        liked = item.rating == "up" or (item.rating is None and item.score is not None and item.score >= 0.5)
        if record is None or record.kind != "answer" or not (item.correction or liked):
            skipped += 1
            continue
        attributes = record.attributes
        abstained = bool(attributes.get("abstained")) and not item.correction
        reference = item.correction or str(attributes.get("answer", ""))
        cited = attributes.get("cited")
        cases.append({
            "id": f"feedback-{trace_id[:12]}", "question": record.name,
            "answers": [] if abstained else [reference], "answerable": not abstained,
            "gold_docs": list(cited) if isinstance(cited, list | tuple) else [], "split": "feedback",
            "metadata": {"trace_id": trace_id, "feedback_id": item.id, "collection": attributes.get("collection"),
                         "prompt": attributes.get("prompt"), "corrected": bool(item.correction)},
        })  # fmt: skip
    return ExportResult(cases, skipped)
