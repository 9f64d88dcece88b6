"""Deterministic answer metrics: no model involved, so the same outcome always scores the same.

Text is compared after SQuAD-style normalisation (:func:`normalise_answer`: lower case, the articles a/an/the
dropped, punctuation turned into spaces, digit group separators removed), so ``"$12,553"`` matches the reference
``"12553"``, ``"The IBM 1401"`` matches ``"IBM 1401"`` and ``"a 52-year-old"`` contains ``"52"``.
Per question (``None`` = the metric does not apply to it):

- ``correct``: answerable — the answer contains a reference and did not abstain; unanswerable — it abstained.
- ``contains``: a reference occurs in the answer (answerable; an abstention scores 0).
- ``token_f1``: best SQuAD token F1 against the references (answerable).
- ``abstained``; ``abstained_answerable`` (false abstention, answerable only); ``abstained_unanswerable``
  (correct abstention, unanswerable only).
- ``truncated``: the answer was cut off (answered questions).
- ``citation_precision``: share of cited documents that are gold; ``citation_recall``: share of gold
  documents cited (answerable, answered, with gold documents).
- ``quote_has_answer``: a cited quote contains a reference (answerable, answered).
- ``quote_valid``: share of citations whose quote is the exact document span (when the system checked).
- ``context_recall_retrieved`` / ``context_recall_packed``: a gold passage is inside what retrieval returned /
  what the model was shown (answerable, with gold passages). Passages of one document are joined by their
  offsets first, so a sentence split across two touching chunks still counts.
- ``supported``: the system's own flag (answered); ``supported_agreement``: flag == ``correct``;
  ``supported_precision``: ``correct`` among supported answers; ``supported_recall``: supported among
  correct answers.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

from quarry.evaluation.outcome import AnswerOutcome, Passage
from quarry.evaluation.qa import QAItem, matches_gold

__all__ = [
    "ANSWER_METRICS",
    "contains_answer",
    "item_metrics",
    "normalise_answer",
    "passage_present",
    "token_f1",
]

ANSWER_METRICS = (
    "correct",
    "contains",
    "token_f1",
    "abstained",
    "abstained_answerable",
    "abstained_unanswerable",
    "truncated",
    "citation_precision",
    "citation_recall",
    "quote_has_answer",
    "quote_valid",
    "context_recall_retrieved",
    "context_recall_packed",
    "supported",
    "supported_agreement",
    "supported_precision",
    "supported_recall",
)

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d)")
_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")
_PUNCTUATION = str.maketrans(
    dict.fromkeys(string.punctuation + "\u2018\u2019\u201c\u201d\u2013\u2014\u00a3\u20ac\u00b7", " ")
)


def normalise_answer(text: str) -> str:
    """SQuAD-style normalisation: NFKC, lower case, articles dropped, punctuation turned into spaces (so
    "52-year-old" holds "52" and "TRS-80" matches "TRS 80"), digit group separators dropped ("12,553" =
    "12553") and decimal points kept ("97.2%" = "97.2")."""
    lowered = unicodedata.normalize("NFKC", text).lower()
    lowered = _DECIMAL.sub("\x00", _THOUSANDS.sub("", lowered)).translate(_PUNCTUATION).replace("\x00", ".")
    return " ".join(_ARTICLES.sub(" ", lowered).split())


def contains_answer(text: str, references: Sequence[str]) -> bool:
    """Whether a normalised reference occurs in ``text`` as whole words."""
    said = f" {normalise_answer(text)} "
    return any(f" {ref} " in said for ref in (normalise_answer(r) for r in references) if ref)


def token_f1(text: str, references: Sequence[str]) -> float:
    """The best token-level F1 between ``text`` and any reference."""
    said = normalise_answer(text).split()
    best = 0.0
    for reference in references:
        wanted = normalise_answer(reference).split()
        common = sum((Counter(said) & Counter(wanted)).values())
        if common:
            precision, recall = common / len(said), common / len(wanted)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def _joined(passages: Sequence[Passage]) -> list[str]:
    """Each passage's text, plus one text per document with its passages joined by offsets (overlaps once)."""
    texts = [p.text for p in passages]
    by_document: dict[str, list[Passage]] = {}
    for passage in passages:
        if passage.end > passage.start:
            by_document.setdefault(passage.document_uri, []).append(passage)
    for group in by_document.values():
        parts: list[str] = []
        end = -1
        for p in sorted(group, key=lambda p: p.start):
            if end < 0 or p.start > end:
                parts.append(("\n" if parts else "") + p.text)
            elif p.end > end:
                parts.append(p.text[end - p.start :])
            end = max(end, p.end)
        texts.append("".join(parts))
    return texts


def passage_present(gold_passages: Sequence[str], passages: Sequence[Passage]) -> bool:
    """Whether any gold passage occurs (whitespace- and case-insensitively) in ``passages``."""
    wanted = [" ".join(g.lower().split()) for g in gold_passages]
    return any(w in " ".join(text.lower().split()) for text in _joined(passages) for w in wanted)


def _rate(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _citations(item: QAItem, outcome: AnswerOutcome) -> dict[str, float | None]:
    cited = list(dict.fromkeys(c.document_uri for c in outcome.citations))
    scored = item.answerable and not outcome.abstained
    with_gold = scored and bool(item.gold_docs)
    checked = [c.valid for c in outcome.citations if c.valid is not None]
    return {
        "citation_precision": _rate([any(matches_gold(u, g) for g in item.gold_docs) for u in cited])
        if with_gold
        else None,
        "citation_recall": _rate([any(matches_gold(u, g) for u in cited) for g in item.gold_docs])
        if with_gold
        else None,
        "quote_has_answer": float(any(contains_answer(c.quote, item.answers) for c in outcome.citations))
        if scored
        else None,
        "quote_valid": _rate([bool(v) for v in checked]),
    }


def _context(item: QAItem, outcome: AnswerOutcome) -> dict[str, float | None]:
    if not item.answerable or not item.gold_passages:
        return {"context_recall_retrieved": None, "context_recall_packed": None}
    return {
        "context_recall_retrieved": float(passage_present(item.gold_passages, outcome.retrieved)),
        "context_recall_packed": float(passage_present(item.gold_passages, outcome.context)),
    }


def _support(correct: bool, outcome: AnswerOutcome) -> dict[str, float | None]:
    if outcome.abstained:
        return dict.fromkeys(("supported", "supported_agreement", "supported_precision", "supported_recall"))
    flag = outcome.supported
    return {
        "supported": float(flag),
        "supported_agreement": float(flag == correct),
        "supported_precision": float(correct) if flag else None,
        "supported_recall": float(flag) if correct else None,
    }


def item_metrics(item: QAItem, outcome: AnswerOutcome) -> dict[str, float | None]:
    """Every metric of :data:`ANSWER_METRICS` for one question (``None`` where it does not apply)."""
    answered = not outcome.abstained
    contains = item.answerable and contains_answer(outcome.text, item.answers) and answered
    correct = contains if item.answerable else outcome.abstained
    metrics: dict[str, float | None] = {
        "correct": float(correct),
        "contains": float(contains) if item.answerable else None,
        "token_f1": (token_f1(outcome.text, item.answers) if answered else 0.0) if item.answerable else None,
        "abstained": float(outcome.abstained),
        "abstained_answerable": float(outcome.abstained) if item.answerable else None,
        "abstained_unanswerable": None if item.answerable else float(outcome.abstained),
        "truncated": float(outcome.truncated) if answered else None,
    }
    metrics.update(_citations(item, outcome))
    metrics.update(_context(item, outcome))
    metrics.update(_support(correct, outcome))
    return metrics
