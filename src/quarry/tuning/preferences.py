"""Preference pairs from feedback, for DPO (``trl``'s ``prompt``/``chosen``/``rejected`` JSONL).

A pair is a disliked answer and a better one to the same question: the user's correction of that answer, or an
answer to the same question (same collection) that a user liked. Questions are matched after normalising case
and whitespace. Abstentions count as answers (a liked "I don't know" to an unanswerable question is a fine
``chosen``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from quarry.stores.base import TraceStore
from quarry.stores.ops import Feedback

__all__ = ["PreferencePair", "preference_pairs", "write_preferences"]


@dataclass(frozen=True, slots=True)
class PreferencePair:
    prompt: str
    chosen: str
    rejected: str
    collection: str
    trace_ids: tuple[str, ...]


def _key(question: str, collection: str) -> tuple[str, str]:
    return " ".join(question.lower().split()), collection


def preference_pairs(feedback: Sequence[Feedback], traces: TraceStore) -> list[PreferencePair]:
    latest: dict[str, Feedback] = {}
    for item in sorted(feedback, key=lambda f: f.created_at):
        latest[item.trace_id] = item
    liked: dict[tuple[str, str], list[tuple[str, str]]] = {}
    disliked: list[tuple[tuple[str, str], str, str, Feedback]] = []
    for trace_id, item in latest.items():
        record = traces.trace(trace_id)
        if record is None or record.kind != "answer":
            continue
        answer, collection = str(record.attributes.get("answer", "")), str(record.attributes.get("collection", ""))
        key = _key(record.name, collection)
        good = item.rating == "up" or (item.rating is None and item.score is not None and item.score >= 0.5)
        if good and answer:
            liked.setdefault(key, []).append((answer, trace_id))
        elif not good:
            disliked.append((key, record.name, answer, item))
    pairs: list[PreferencePair] = []
    for key, question, answer, item in disliked:
        if item.correction:
            pairs.append(PreferencePair(question, item.correction, answer, key[1], (item.trace_id,)))
        for chosen, trace_id in liked.get(key, []):
            if chosen != answer:
                pairs.append(PreferencePair(question, chosen, answer, key[1], (item.trace_id, trace_id)))
    return pairs


def write_preferences(pairs: Sequence[PreferencePair], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.dumps({"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected,
                        "metadata": {"collection": p.collection, "traces": list(p.trace_ids)}}, ensure_ascii=False)
            for p in pairs]  # fmt: skip
    path.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    return len(rows)
