"""Claim-level verification: every sentence of an answer must be backed by the source it cites.

A sentence is *supported* by a source when each of its key terms (numbers, dates, names — see
:mod:`quarry.generation.terms`) occurs in that source's text, and it says something checkable: at least one
key term, or at least ``threshold`` of its content words found in the source. The cited sources are tried
first; a sentence that cites nothing, or cites a source that does not back it, is re-cited to the best
source that does (``recited``). A sentence no source backs is unsupported.

:func:`verify` returns the checked sentences and the answer rebuilt from the supported ones (``text``); the
caller decides what to do when nothing survives (quote the sources instead).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from quarry.generation.citations import find_markers, overlap
from quarry.generation.packing import PackedSource
from quarry.generation.terms import key_terms, number_terms, text_words
from quarry.generation.words import MARKER

__all__ = ["CheckedSentence", "Verification", "split_sentences", "verify"]

_SENTENCE = re.compile(r"[^\n]*?(?:[.!?](?:\s*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\])*(?=\s|$)|\n|$)")


@dataclass(frozen=True, slots=True)
class CheckedSentence:
    text: str  # without citation markers
    cited: tuple[int, ...]  # source numbers the model cited
    source: int | None  # the source that backs it (None: unsupported)
    missing: tuple[str, ...] = ()  # key terms the cited (or best) source lacks
    recited: bool = False

    @property
    def supported(self) -> bool:
        return self.source is not None


@dataclass(frozen=True, slots=True)
class Verification:
    sentences: tuple[CheckedSentence, ...]

    @property
    def supported(self) -> tuple[CheckedSentence, ...]:
        return tuple(s for s in self.sentences if s.supported)

    @property
    def all_supported(self) -> bool:
        return bool(self.sentences) and all(s.supported for s in self.sentences)

    @property
    def text(self) -> str:
        """The supported sentences, each cited to the source that backs it (``… year [1].``)."""
        return " ".join(_cited(s.text, s.source) for s in self.supported if s.source is not None).strip()


def _cited(sentence: str, source: int) -> str:
    if sentence[-1:] in ".!?":
        return f"{sentence[:-1]} [{source}]{sentence[-1]}"
    return f"{sentence} [{source}]"


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, each keeping the markers that follow its full stop."""
    return [m.group().strip() for m in _SENTENCE.finditer(text) if m.group().strip()]


def _missing(sentence: str, source_text: str) -> list[str]:
    terms = key_terms(sentence)
    numbers, words = number_terms(source_text), text_words(source_text)
    return [n for n in sorted(terms.numbers) if n not in numbers] + [n for n in sorted(terms.names) if n not in words]


def _backs(sentence: str, source_text: str, threshold: float) -> tuple[bool, list[str]]:
    missing = _missing(sentence, source_text)
    checkable = bool(key_terms(sentence)) or overlap(sentence, source_text) >= threshold
    return not missing and checkable, missing


def _check(sentence: str, sources: Sequence[PackedSource], threshold: float) -> CheckedSentence:
    cited = tuple(dict.fromkeys(n for m in find_markers(sentence) for n in m.numbers if 1 <= n <= len(sources)))
    bare = " ".join(MARKER.sub(" ", sentence).split())
    bare = re.sub(r"\s+([.,;:!?])", r"\1", bare)
    first_missing: list[str] = []
    for number in cited:
        ok, missing = _backs(bare, sources[number - 1].text, threshold)
        if ok:
            return CheckedSentence(bare, cited, number)
        first_missing = first_missing or missing
    for source in sources:
        if source.number in cited:
            continue
        ok, missing = _backs(bare, source.text, threshold)
        if ok:
            return CheckedSentence(bare, cited, source.number, recited=bool(cited))
        if not cited:
            first_missing = first_missing or missing
    return CheckedSentence(bare, cited, None, tuple(first_missing))


def verify(answer: str, sources: Sequence[PackedSource], *, threshold: float = 0.5) -> Verification:
    """Check each sentence of ``answer`` against the ``sources`` (numbered 1..n in order)."""
    sentences = [s for s in split_sentences(answer) if MARKER.sub("", s).strip(" .")]
    return Verification(tuple(_check(s, sources, threshold) for s in sentences))
