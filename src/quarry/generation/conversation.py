"""Conversations: a follow-up question becomes a standalone query for retrieval.

"When was it founded?" after "Tell me about Microsoft" must search for Microsoft. Two ways
(``generation.condense``):

- ``keywords`` (default): a follow-up that leans on earlier turns — it has a pronoun or demonstrative
  (it, they, that, this, he, she, there, …), opens like a follow-up ("and …", "what about …") or has a single
  content word — gets the content words of
  the last user turn and the names and numbers of earlier ones appended. No model call, so it never
  invents a subject; a self-contained question is searched as it is.
- ``llm``: the chat model rewrites the follow-up with the conversation in front of it (versioned prompt
  ``condense@1``); an empty or overlong rewrite falls back to the keywords.

The question the model answers is still the user's own words; only retrieval uses the condensed query.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from quarry.generation.prompts import load_prompt
from quarry.generation.terms import key_terms
from quarry.generation.words import content_words
from quarry.llm import ChatModel, ChatSettings
from quarry.types import Message

__all__ = ["condense", "keyword_query", "leans_on_context"]

_ANAPHORA = re.compile(
    r"\b(it|its|they|them|their|that|this|these|those|he|him|his|she|her|there|then|the same|the former|"
    r"the latter|one)\b",
    re.IGNORECASE,
)
_MAX_REWRITE_CHARS = 400


_FOLLOW_UP = re.compile(r"^\s*(and|or|but|also|what about|how about|same for|then)\b", re.IGNORECASE)


def leans_on_context(question: str) -> bool:
    """A pronoun or demonstrative, a follow-up opener ("and …", "what about …") or a single content word."""
    return bool(_ANAPHORA.search(question) or _FOLLOW_UP.search(question)) or len(content_words(question)) < 2


def keyword_query(question: str, history: Sequence[Message]) -> str:
    """``question`` plus what it leans on: the content words of the last user turn and the names and numbers
    of the earlier ones (newest first), when the question needs them."""
    if not leans_on_context(question):
        return question
    asked = content_words(question)
    users = [m.content or "" for m in history if m.role == "user"]
    extra: list[str] = []
    for position, text in enumerate(reversed(users)):
        for word in re.findall(r"[\w$%.-]+", text):
            word = word.strip(".,")
            terms = key_terms(word)
            wanted = (position == 0 and word.lower() in content_words(text)) or bool(terms.names or terms.numbers)
            if wanted and word.lower() not in asked and word not in extra:
                extra.append(word)
    return f"{question} ({' '.join(extra[:12])})" if extra else question


def condense(
    question: str, history: Sequence[Message], *, mode: str = "keywords", model: ChatModel | None = None
) -> str:
    """The standalone query for ``question`` asked after ``history`` (see the module docstring)."""
    turns = [m for m in history if m.role in ("user", "assistant") and (m.content or "").strip()]
    if mode == "off" or not turns:
        return question
    if mode == "llm" and model is not None and leans_on_context(question):
        prompt = load_prompt("condense@1")
        transcript = "\n".join(f"{m.role}: {' '.join((m.content or '').split())[:500]}" for m in turns[-6:])
        reply = model.complete(prompt.render(question, transcript), settings=ChatSettings(max_tokens=60, temperature=0))
        rewrite = reply.text.strip().split("\n")[0].strip()
        if 3 <= len(rewrite) <= _MAX_REWRITE_CHARS:
            return rewrite
    return keyword_query(question, turns)
