"""Synthetic training questions: the configured chat model writes one question per sampled chunk, and a question
is kept only if retrieval finds its chunk's document again among the top ``k`` (round-trip filtering, as in
Promptagator / InPars): a question too vague to lead back to its passage would teach the embedder noise."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from quarry.llm.base import ChatModel, ChatSettings
from quarry.pipeline.reembed import all_documents
from quarry.stores.base import Store
from quarry.tuning.pairs import TrainingPair
from quarry.tuning.sources import doc_key
from quarry.types import Message

__all__ = ["ReplyLog", "SyntheticReport", "synthetic_pairs"]

Retrieve = Callable[[str, int], list[str]]
"""(question, k) → document uris, best first."""

SYSTEM = "You write one search question that the given text answers. Reply with the question only."
# One worked example: SmolLM2-135M asked without one described the passage instead of asking about it in 197 of
# 300 SciFact abstracts; with it, 5 of 6 replies in a spot check were questions.
EXAMPLE = (
    "Text: Aspirin irreversibly inhibits cyclooxygenase-1 in platelets, which lowers thromboxane A2 production "
    "and reduces the risk of arterial thrombosis for the lifetime of the platelet.",
    "How does aspirin reduce the risk of arterial thrombosis?",
)
_QUESTION = re.compile(r"[^\n?]{12,300}\?")


class ReplyLog:
    """The model's replies, one JSON line per passage asked, appended as they come: a stopped run (Ctrl-C, kill -9)
    resumes without asking again. A reply is reused only for the same model, prompt and passage."""

    def __init__(self, path: Path, model_id: str) -> None:
        self.path, self.model_id = path, model_id
        self.replies: dict[str, str | None] = {}
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        self._torn = bool(text) and not text.endswith("\n")  # the next line must not be glued to the torn one
        for line in text.splitlines():
            try:
                row = json.loads(line)
                self.replies[row["key"]] = row["question"]
            except (ValueError, KeyError, TypeError):  # a line torn by a kill: asked again
                continue

    def key(self, passage: str) -> str:
        return hashlib.blake2b(f"{self.model_id}\0{SYSTEM}\0{EXAMPLE}\0{passage}".encode(), digest_size=16).hexdigest()

    def add(self, key: str, question: str | None) -> None:
        self.replies[key] = question
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(("\n" if self._torn else "") + json.dumps({"key": key, "question": question}) + "\n")
        self._torn = False


@dataclass(frozen=True, slots=True)
class SyntheticReport:
    pairs: list[TrainingPair]
    asked: int
    malformed: int  # the model's reply held no question
    lost: int  # retrieval did not find the passage's document in the top k


def synthetic_pairs(
    store: Store, collection: str, chat: ChatModel, retrieve: Retrieve, *, count: int, k: int = 5, seed: int = 0,
    max_passage_chars: int = 1500, progress: Callable[[int, int], None] | None = None, log: ReplyLog | None = None,
) -> SyntheticReport:  # fmt: skip
    """Ask for ``count`` questions over chunks sampled evenly from the collection's documents (seeded); with a
    ``log``, replies already in it are reused and new ones written to it."""
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
        question = _asked(chat, passage[:max_passage_chars], log)
        if question is None:
            malformed += 1
        elif uri not in retrieve(question, k):
            lost += 1
        else:
            pairs.append(TrainingPair(question, passage, doc_key(uri), source="synthetic"))
        if progress:
            progress(asked, min(count, len(uris)))
    return SyntheticReport(pairs, asked, malformed, lost)


def _asked(chat: ChatModel, passage: str, log: ReplyLog | None) -> str | None:
    if log is None:
        return _question(chat, passage)
    key = log.key(passage)
    if key not in log.replies:
        log.add(key, _question(chat, passage))
    return log.replies[key]


def _question(chat: ChatModel, passage: str) -> str | None:
    messages = [Message("system", SYSTEM), Message("user", EXAMPLE[0]), Message("assistant", EXAMPLE[1]),
                Message("user", f"Text: {passage}")]  # fmt: skip
    reply = chat.complete(messages, settings=ChatSettings(temperature=0.0, max_tokens=64, stop=("\n",)))
    match = _QUESTION.search(reply.text)
    return match.group(0).strip().lstrip("-*0123456789. ").strip() if match else None
