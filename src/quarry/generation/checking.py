"""From the model's raw reply to the answer Quarry stands behind.

1. Invented citation numbers are stripped (:func:`~quarry.generation.citations.resolve`).
2. A reply that says the sources do not answer ("I don't know") is an abstention.
3. Every sentence goes through the claim check (:mod:`quarry.generation.verify`); unsupported sentences are
   dropped and each kept sentence is cited to the source that backs it.
4. What is kept must also agree with the evidence: its new facts (the numbers and names the question does
   not already contain) must occur in the best extractive candidate (:mod:`quarry.generation.extractive`),
   that candidate must hold no other value of the kind asked for (else the model had to choose, and small
   models choose badly), and the answer must hold what the question asks for.
5. Otherwise the best extractive candidate is quoted with its citation — from any retrieved passage, also
   one the model did not read.
6. ``supported`` — the answer-level flag — says Quarry stands behind the answer: the kept claims are
   backed, agree with the evidence and their source carries every qualifier of the question, or the quote
   holds what the question asks for and carries the qualifiers; either way the evidence must score at
   least ``supported_score`` (chosen on the tune split, see the setting).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from quarry.generation.citations import resolve
from quarry.generation.extractive import Quote
from quarry.generation.packing import PackedSource
from quarry.generation.questions import Question, missing_qualifiers, type_matches
from quarry.generation.terms import key_terms, number_terms, text_words
from quarry.generation.types import Citation, Claim
from quarry.generation.verify import Verification, split_sentences, verify
from quarry.generation.words import stems

__all__ = ["CANNOT", "CheckPolicy", "Checked", "check_answer", "extract_only", "render_quote", "said_cannot"]

CANNOT = (
    "cannot answer",
    "can't answer",
    "unable to answer",
    "do not contain",
    "don't contain",
    "does not contain",
    "no information",
    "not mentioned",
    "not provided",
    "not specified",
    "does not say",
    "do not say",
    "does not mention",
    "do not mention",
)


@dataclass(frozen=True, slots=True)
class Checked:
    text: str
    citations: tuple[Citation, ...]
    claims: tuple[Claim, ...]
    supported: bool
    method: str  # "generated" | "extractive" | "abstained"
    removed: tuple[int, ...] = ()
    reason: str = ""


def said_cannot(text: str, marker: str) -> bool:
    said = text.lower().replace("\u2019", "'")
    return marker.lower() in said or any(phrase in said for phrase in CANNOT)


def render_quote(quote: Quote) -> str:
    """The quote as answer text: a table row as ``header: value`` pairs, a sentence in quotation marks."""
    text = " ".join(quote.text.split())
    if text.startswith("|"):
        header = quote.scored[: len(quote.scored) - len(quote.text)].strip()
        cells = [c.strip() for c in text.strip("|").split("|")]
        names = [c.strip() for c in header.strip("|").split("|")] if header else []
        if len(names) == len(cells):
            text = "; ".join(f"{n}: {c}" if n else c for n, c in zip(names, cells, strict=True) if c) or text
        else:
            text = " ".join(c for c in cells if c)
        return f"{text} [{quote.source}]"
    return f"\u201c{text}\u201d [{quote.source}]"


def _cite(text: str, sources: Sequence[PackedSource], threshold: float) -> tuple[Citation, ...]:
    return tuple(replace(c, supported=True) for c in resolve(text, sources, threshold=threshold).citations)


def _fresh(question: Question, text: str) -> KeyFacts:
    """The numbers and names of ``text`` that the question does not already contain."""
    terms = key_terms(text)
    asked = text_words(question.text)
    return KeyFacts(terms.numbers - question.qualifiers.numbers, terms.names - question.qualifiers.names - asked)


def _agrees(question: Question, answer: str, quotes: Sequence[Quote]) -> Quote | None:
    """The top candidate, if it holds the answer's new facts and leaves nothing to choose between.

    An answer with no new fact (a restated question, a copied fragment) never agrees: the candidate is
    quoted instead.

    A small model that reads a sentence with several figures ("14 controls, 17 patients and 14 treated
    patients") often picks the wrong one. So the answer is kept only when its new facts are in the best
    candidate, in the sentence of it that matches the question best, that sentence holds no other value of
    the kind asked for (numbers for "how many" and dates, names for "who"), and a figure the source writes
    with a magnitude keeps it ("1 billion", not "1"); otherwise the candidate itself is quoted."""
    if not quotes:
        return None
    top = quotes[0]
    said, offered = _fresh(question, answer), _fresh(question, top.scored)
    lowered = top.scored.lower()
    if not (said.numbers or said.names):
        return None  # no new fact of its own: the candidate says more, so quote it
    if not said.numbers <= offered.numbers or not all(n in offered.names or n in lowered for n in said.names):
        return None
    sentences = split_sentences(top.scored) or [top.scored]
    holding = [t for t in sentences if _holds(question, t, said)] or [top.scored]
    asked = stems(question.text)
    if len(stems(holding[0]) & asked) < max(len(stems(t) & asked) for t in sentences):
        return None  # the fact comes from a sentence beside the one that matches the question
    offered = _fresh(question, holding[0])  # the values the sentence holding the answer offers
    numbers, names = offered.numbers - said.numbers, offered.names - said.names
    ambiguous = numbers if question.kind in ("number", "date") else names if question.kind != "any" else numbers | names
    if ambiguous or not _same_magnitude(answer, holding[0], said.numbers):
        return None
    return top


def _holds(question: Question, sentence: str, said: KeyFacts) -> bool:
    """Whether ``sentence`` holds every new fact of the answer (its numbers and its names)."""
    facts = _fresh(question, sentence)
    lowered = sentence.lower()
    return said.numbers <= facts.numbers and all(n in facts.names or n in lowered for n in said.names)


_MAGNITUDE = re.compile(r"(\d[\d,.]*)\s*(thousand|million|billion|trillion|bn|%|percent)\b", re.IGNORECASE)


def _same_magnitude(answer: str, sentence: str, numbers: frozenset[str]) -> bool:
    """A number the source writes with a magnitude ("1 billion", "20%") keeps it in the answer ("1" is wrong)."""
    said = {(number_terms(m.group(1)), m.group(2).lower()) for m in _MAGNITUDE.finditer(answer)}
    for match in _MAGNITUDE.finditer(sentence):
        value = number_terms(match.group(1))
        if value & numbers and (value, match.group(2).lower()) not in said:
            return False
    return True


@dataclass(frozen=True, slots=True)
class KeyFacts:
    numbers: frozenset[str]
    names: frozenset[str]


@dataclass(frozen=True, slots=True)
class CheckPolicy:
    """How strict the check is: ``overlap`` (content-word share a claim without key terms needs), ``verify``
    the claims at all, quote the evidence when the model's answer fails (``extractive_fallback``), and the
    evidence score an answer needs to be flagged supported (``supported_score``)."""

    abstain_marker: str = "I don't know"
    overlap: float = 0.5
    verify: bool = True
    extractive_fallback: bool = True
    supported_score: float = 4.4


def _quote_supported(quote: Quote, policy: CheckPolicy) -> bool:
    return quote.fits and not quote.missing and quote.score >= policy.supported_score


def _extractive(
    quotes: Sequence[Quote],
    sources: Sequence[PackedSource],
    policy: CheckPolicy,
    claims: tuple[Claim, ...] = (),
    reason: str = "",
    removed: tuple[int, ...] = (),
) -> Checked | None:
    if not quotes:
        return None
    text = render_quote(quotes[0])
    cited = _cite(text, sources, policy.overlap)
    return Checked(text, cited, claims, _quote_supported(quotes[0], policy), "extractive", removed, reason)


def extract_only(sources: Sequence[PackedSource], quotes: Sequence[Quote], policy: CheckPolicy) -> Checked | None:
    """The extractive answer alone (no model): the best of the ranked ``quotes`` over ``sources``, quoted."""
    return _extractive(quotes, sources, policy)


def _qualified(question: Question, sources: Sequence[PackedSource], numbers: set[int]) -> bool:
    return all(
        not missing_qualifiers(question, sources[n - 1].qualifier_text(), document_words=sources[n - 1].document_words)
        for n in numbers
    )


def check_answer(
    raw: str,
    packed: Sequence[PackedSource],
    question: Question,
    quotes: Sequence[Quote],
    policy: CheckPolicy,
    *,
    extra: Sequence[PackedSource] = (),
) -> Checked:
    """The answer to show for the model's reply ``raw`` over the ``packed`` sources it read; ``extra`` are
    further retrieved passages (numbered after them) a quote may come from, ``quotes`` the extractive
    candidates over both, best first. See the module docstring."""
    resolved = resolve(raw, packed, threshold=policy.overlap)
    everything = [*packed, *extra]
    if said_cannot(resolved.text, policy.abstain_marker):
        cannot = "the model said the sources do not answer the question"
        if policy.extractive_fallback and quotes and _quote_supported(quotes[0], policy):
            return _extractive(quotes, everything, policy, reason=cannot + "; quoting the best match") or Checked(
                resolved.text, (), (), False, "abstained", resolved.removed, cannot
            )
        return Checked(resolved.text, (), (), False, "abstained", resolved.removed, cannot)
    if not policy.verify:
        cited = tuple(replace(c, supported=False) for c in resolved.citations)
        return Checked(resolved.text, cited, (), False, "generated", resolved.removed)
    verification: Verification = verify(resolved.text, packed, threshold=policy.overlap)
    claims = tuple(Claim(s.text, s.supported, s.source, s.missing) for s in verification.sentences)
    answer = verification.text
    agreeing = _agrees(question, answer, quotes) if verification.supported else None
    if agreeing is not None and type_matches(question, answer):
        numbers = {s.source for s in verification.supported if s.source is not None}
        supported = (
            verification.all_supported
            and _qualified(question, packed, numbers)
            and agreeing.score >= policy.supported_score
        )
        return Checked(answer, _cite(answer, packed, policy.overlap), claims, supported, "generated", resolved.removed)
    reason = (
        "no claim of the model's answer is backed by its sources"
        if not verification.supported
        else "the model's answer disagrees with the best evidence or misses what was asked"
    )
    found = (
        _extractive(quotes, everything, policy, claims, reason, resolved.removed)
        if policy.extractive_fallback
        else None
    )
    if found is not None:
        return found
    text = answer or resolved.text
    cited = tuple(replace(c, supported=False) for c in resolve(text, packed, threshold=policy.overlap).citations)
    return Checked(text, cited, claims, False, "generated", resolved.removed, reason)
