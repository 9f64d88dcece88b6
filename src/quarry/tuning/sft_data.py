"""Chat examples for LoRA fine-tuning of the answer step, in the served answer prompt's own format.

From a QA set's answerable items: the item's gold passage(s) and one distractor passage (another item's gold)
as numbered sources in shuffled order, and the reply the answer prompt asks for — the gold passage's sentence
that holds the reference answer, shortened, cited with its source number. Unanswerable items get two distractor
passages and the prompt's abstention marker. From feedback: a liked or corrected answer is the reply to its
question over the passages of the documents it cited. Training reads the dev set's *tune* split only.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from quarry.errors import QuarryError
from quarry.evaluation.feedback_export import feedback_cases
from quarry.evaluation.qa import QAItem
from quarry.stores.base import Store, TraceStore
from quarry.stores.ops import Feedback
from quarry.types import Chunk

__all__ = [
    "ChatExample", "answer_examples", "feedback_examples",
]  # fmt: skip

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
MAX_WORDS = 30


@dataclass(frozen=True, slots=True)
class ChatExample:
    messages: tuple[dict[str, str], ...]  # {"role", "content"}: system, user
    reply: str
    source: str = "qa"  # qa | feedback
    id: str = ""
    answers: tuple[str, ...] = ()  # references the reply must hold (none: the reply must abstain)
    cite: int = 0  # the source number the reply must cite (0: abstain)


def _reply_sentence(passage: str, answers: Sequence[str]) -> str:
    sentences = [s.strip() for s in _SENTENCE.split(passage) if s.strip()]
    lowered = [a.lower() for a in answers]
    hit = next((s for s in sentences if any(a in s.lower() for a in lowered)), sentences[0] if sentences else "")
    words = hit.split()
    if len(words) > MAX_WORDS:  # keep the window around the reference
        at = next((i for i, w in enumerate(words) if any(a.split()[0].lower() in w.lower() for a in lowered if a)), 0)
        lo = max(0, min(at - MAX_WORDS // 2, len(words) - MAX_WORDS))
        hit = " ".join(words[lo : lo + MAX_WORDS])
    hit = hit.strip().rstrip(" .;:,\"'")
    return hit[:1].upper() + hit[1:] + "."


def answer_examples(
    items: Sequence[QAItem], *, system: str, user: str, abstain: str, seed: int = 0
) -> list[ChatExample]:
    """``system``/``user``: the answer prompt's templates (``{sources}``, ``{question}``)."""
    rng = random.Random(seed)
    pool = [p for item in items for p in item.gold_passages]
    out: list[ChatExample] = []
    for item in items:
        own = list(item.gold_passages[:1])
        others = [p for p in pool if p not in item.gold_passages]
        if not others or (item.answerable and not own):
            continue
        sources = own + rng.sample(others, k=1 if item.answerable else min(2, len(others)))
        rng.shuffle(sources)
        numbered = "\n\n".join(f"[{i + 1}] {text}" for i, text in enumerate(sources))
        cite = sources.index(own[0]) + 1 if item.answerable else 0
        reply = f"{_reply_sentence(own[0], item.answers)[:-1]} [{cite}]." if cite else f"{abstain}."
        messages = (
            {"role": "system", "content": system},
            {"role": "user", "content": user.format(sources=numbered, question=item.question).strip()},
        )
        out.append(ChatExample(messages, reply, "qa", item.id, tuple(item.answers) if cite else (), cite))  # fmt: skip
    return out


def feedback_examples(
    feedback: Sequence[Feedback], traces: TraceStore, store: Store, *, system: str, user: str, abstain: str
) -> list[ChatExample]:
    """Liked or corrected answers as replies to their question over the passages of the documents they cited."""
    examples: list[ChatExample] = []
    for case in feedback_cases(feedback, traces).cases:
        meta, answers, gold = case["metadata"], case["answers"], case["gold_docs"]
        if not isinstance(meta, dict) or not isinstance(answers, list) or not isinstance(gold, list):
            continue
        collection = str(meta.get("collection") or "")
        passages = [c.context for uri in gold[:2] for c in _chunks(store, collection, str(uri))[:1]]
        if not passages and answers:
            continue
        numbered = "\n\n".join(f"[{i + 1}] {text}" for i, text in enumerate(passages))
        reply = str(answers[0]) if answers else f"{abstain}."
        messages = (
            {"role": "system", "content": system},
            {"role": "user", "content": user.format(sources=numbered, question=case["question"]).strip()},
        )
        examples.append(ChatExample(messages, reply, "feedback", str(case["id"])))  # fmt: skip
    return examples


def _chunks(store: Store, collection: str, uri: str) -> list[Chunk]:
    try:
        return store.chunks(collection, uri)
    except QuarryError:
        return []
