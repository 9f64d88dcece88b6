"""Small guards: banned terms and topics, maximum length, system-prompt leakage, groundedness."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from quarry.guardrails.base import GuardContext, Stage, Verdict
from quarry.guardrails.normalise import normalise, squeezed

__all__ = ["BannedTermsGuard", "GroundednessGuard", "LeakageGuard", "MaxLengthGuard"]


class BannedTermsGuard:
    """Terms (and topics: named lists of terms) matched on normalised text — case, accents, look-alike letters,
    leetspeak and s p a c i n g undone (:mod:`quarry.guardrails.normalise`) — as whole words, or squeezed for
    multi-word terms (``"b o m b  m a k i n g"``)."""

    name = "banned_terms"
    stages: tuple[Stage, ...] = ("input", "retrieval", "output")

    def __init__(self, terms: Sequence[str] = (), topics: Mapping[str, Sequence[str]] | None = None) -> None:
        self.terms: dict[str, str] = {}  # normalised term -> what to report
        for term in terms:
            self.terms[normalise(term)] = term
        for topic, words in (topics or {}).items():
            for word in words:
                self.terms[normalise(word)] = f"topic:{topic}"
        self.terms.pop("", None)
        self._patterns = {t: re.compile(rf"\b{re.escape(t)}\b") for t in self.terms}

    def _hit(self, term: str, plain: str, flat: str) -> bool:
        return bool(self._patterns[term].search(plain)) or (" " in term and term.replace(" ", "") in flat)

    def check(self, text: str, context: GuardContext) -> Verdict:
        plain, flat = normalise(text), squeezed(text)
        found = sorted({label for term, label in self.terms.items() if self._hit(term, plain, flat)})
        reason = f"mentions banned {', '.join(found)}" if found else ""
        return Verdict(self.name, bool(found), 1.0 if found else 0.0, reason=reason, findings=tuple(found))


class MaxLengthGuard:
    name = "max_length"
    stages: tuple[Stage, ...] = ("input",)

    def __init__(self, max_chars: int = 4000) -> None:
        self.max_chars = max_chars

    def check(self, text: str, context: GuardContext) -> Verdict:
        over = len(text) > self.max_chars
        reason = f"{len(text)} characters, more than the {self.max_chars} allowed" if over else ""
        return Verdict(self.name, over, min(1.0, len(text) / self.max_chars), reason=reason)


class LeakageGuard:
    """An answer that quotes the system prompt: the share of the prompt's word 6-grams found in the answer."""

    name = "system_prompt_leak"
    stages: tuple[Stage, ...] = ("output",)
    N = 6

    def __init__(self, threshold: float = 0.2) -> None:
        self.threshold = threshold

    def _grams(self, text: str) -> set[tuple[str, ...]]:
        words = normalise(text).split()
        return {tuple(words[i : i + self.N]) for i in range(len(words) - self.N + 1)}

    def check(self, text: str, context: GuardContext) -> Verdict:
        prompt = self._grams(context.system_prompt)
        if not prompt:
            return Verdict(self.name, False)
        share = len(prompt & self._grams(text)) / len(prompt)
        triggered = share >= self.threshold
        return Verdict(
            self.name, triggered, round(share, 3), reason="the answer quotes the system prompt" if triggered else ""
        )


class GroundednessGuard:
    """The answer's own claim check (``context.supported``): an answer Quarry does not stand behind."""

    name = "groundedness"
    stages: tuple[Stage, ...] = ("output",)

    def check(self, text: str, context: GuardContext) -> Verdict:
        triggered = context.supported is False
        reason = "the answer is not supported by the span it cites" if triggered else ""
        return Verdict(self.name, triggered, 1.0 if triggered else 0.0, reason=reason)
