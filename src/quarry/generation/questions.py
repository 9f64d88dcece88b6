"""What a question asks for, and the qualifiers an answer's source must match (no model involved).

:func:`analyse` gives the expected answer type (``number``, ``date``, ``name`` or ``any``), the question's
*qualifiers* — its numbers (a year, a quarter, a product code) and names — and its content words. A source
that lacks one of the qualifiers is about something else (another year, another product): the answer
pipeline prefers sources that carry them all and abstains when none does, instead of answering with a
neighbour's figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from quarry.generation.counting import counted_noun
from quarry.generation.terms import (
    TOKEN,
    KeyTerms,
    coded,
    key_terms,
    number_terms,
    person_names,
    place_names,
    text_words,
)
from quarry.generation.words import content_words

__all__ = [
    "Question",
    "analyse",
    "asked_names",
    "asked_numbers",
    "missing_qualifiers",
    "rival_codes",
    "type_matches",
    "unit_given",
]

_NUMBER_Q = re.compile(r"\bhow (many|much|long|old|far|large|big|tall|often)\b", re.IGNORECASE)
_QUANTITIES = frozenset(
    [
        "revenue",
        "revenues",
        "sales",
        "cost",
        "costs",
        "price",
        "rate",
        "amount",
        "total",
        "number",
        "percentage",
        "percent",
        "share",
        "proportion",
        "concentration",
        "runtime",
        "age",
        "size",
        "count",
        "loss",
        "profit",
        "income",
        "budget",
        "tax",
        "fee",
        "salary",
        "population",
        "length",
        "accuracy",
        "intensity",
        "temperature",
        "weight",
        "height",
        "width",
        "depth",
        "speed",
        "duration",
        "ratio",
        "dose",
        "dosage",
        "volume",
        "capacity",
        "frequency",
        "density",
        "margin",
        "growth",
        "yield",
        "mass",
        "distance",
        "emissions",
        "value",
        "valuation",
    ]
)
_DATE_Q = re.compile(r"^\s*when\b|\b(what|which|in what|on what|at what) (year|date|day|month|time)\b", re.IGNORECASE)
_PERSON_Q = re.compile(r"^\s*(who|whom|whose)\b|\b(at whose|which person)\b", re.IGNORECASE)
_PLACE_Q = re.compile(
    r"^\s*where\b|\b(which|what) (city|country|town|state|province|county|region|hospital|village|continent)\b",
    re.IGNORECASE,
)
_NAME_Q = re.compile(
    r"^\s*(who|whom|whose|where)\b|\b(at whose|which (city|country|company|person|publisher|town|state|university))\b",
    re.IGNORECASE,
)
_SPECIES = re.compile(r"(?<![.\w])[A-Z]\.\s?([a-z]{3,})\b")  # an abbreviated species: "E. coli", "S. aureus"
_QUESTION_WORDS = frozenset(["what", "which", "who", "whom", "whose", "when", "where", "why", "how"])
_QUOTED = re.compile(r"[\"“]([^\"”]{2,60})[\"”]")


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    kind: str  # "number" | "date" | "person" | "place" | "name" | "any"
    qualifiers: KeyTerms
    words: frozenset[str]
    quoted: tuple[str, ...] = ()
    counted: str = ""  # the stem of what a "how many" question counts (quarry.generation.counting)


def _kind(text: str) -> str:
    if _DATE_Q.search(text):
        return "date"
    words = set(re.findall(r"[a-z]+", text.lower()))
    if _NUMBER_Q.search(text) or (words & _QUANTITIES and text.lower().lstrip().startswith(("what", "how"))):
        return "number"
    if _PERSON_Q.search(text):
        return "person"
    if _PLACE_Q.search(text):
        return "place"
    if _NAME_Q.search(text):
        return "name"
    return "any"


def analyse(question: str) -> Question:
    """The type, qualifiers and content words of ``question``. The digits of a code ("TRS-80", "SKU-6678")
    are not number qualifiers: the code is a name qualifier (see :func:`missing_qualifiers`)."""
    terms = key_terms(question)
    names = frozenset(n for n in terms.names if n not in _QUESTION_WORDS and len(n) > 1)
    names |= {m.group(1)[:5] for m in _SPECIES.finditer(question)}  # "in E. coli": the source must be about coli
    plain = TOKEN.sub(lambda m: " " if coded(m.group()) else m.group(), question).replace(",", "")
    digits = frozenset(n for n in number_terms(plain) if re.search(rf"(?<![\d.,]){re.escape(n)}", plain))
    return Question(
        text=question,
        kind=_kind(question),
        qualifiers=KeyTerms(digits, names),
        words=frozenset(content_words(question)),
        quoted=tuple(m.group(1).lower() for m in _QUOTED.finditer(question)),
        counted=counted_noun(question),
    )


def _has_rival(code: str, words: frozenset[str]) -> bool:
    """Whether ``words`` hold another code of ``code``'s family ("sku-8847" beside "sku-6678"); a code that
    starts with digits ("340-bp") counts as having one."""
    prefix = re.match(r"[a-z]+-?", code)
    if prefix is None:
        return True
    head = prefix.group()
    return any(
        w.startswith(head) and not code.startswith(w) and any(c.isdigit() for c in w[len(head) :]) for w in words
    )  # not code.startswith(w): the word list also holds the code's own five-letter stem ("trs-8")


def rival_codes(question: Question, document_words: frozenset[str]) -> tuple[str, ...]:
    """The question's codes whose document holds others of their family: a span quoted for "the unit cost of
    SKU-6678" from a table of SKUs must name SKU-6678 itself, not only sit in the table."""
    return tuple(n for n in sorted(question.qualifiers.names) if coded(n) and _has_rival(n, document_words))


def missing_qualifiers(question: Question, text: str, *, document_words: frozenset[str] | None = None) -> list[str]:
    """The question's qualifiers that ``text`` does not carry (numbers first, then names, then quotes).

    Numbers (a year, a quarter) must be in ``text`` itself — the passage — since a document often holds the
    same figure for several years; so must a code when its document holds others of its family (a table of
    SKUs). Other names, and a code the document holds alone ("TRS-80"), may be anywhere in the passage's
    document when its words are given (``document_words``): a receipt names its shop once, at the top."""
    numbers = number_terms(text)
    passage = text_words(text)
    words = passage | (document_words or frozenset())
    in_passage = rival_codes(question, words)
    lowered = " ".join(text.lower().split())
    missing = [n for n in sorted(question.qualifiers.numbers) if n not in numbers]
    missing += [n for n in sorted(question.qualifiers.names) if n not in (passage if n in in_passage else words)]
    missing += [q for q in question.quoted if q not in lowered]
    return missing


_MONEY_Q = re.compile(
    r"\bhow much\b.*\b(pay|paid|cost|price|fund|funding|invest|spend|spent|earn|revenue|sales|worth|"
    r"salary|budget|charge|fee|raise)",
    re.IGNORECASE,
)
_PERCENT_Q = re.compile(r"\b(percentage|percent|share|proportion|rate)\b", re.IGNORECASE)
_CURRENCY = re.compile(r"[$£€¥]|\b(dollars?|usd|eur|euros?|chf|gbp|pounds?|yen|rupees?|crore)\b", re.IGNORECASE)
_PERCENTAGE = re.compile(r"%|\bper ?cent\b", re.IGNORECASE)


def unit_given(question: Question, answer: str) -> bool:
    """An amount of money or a percentage the question asks for comes with its unit, unless the question
    names the unit itself ("… in million US dollars?"): "10%" does not answer "how much funding"."""
    if _MONEY_Q.search(question.text) and not _CURRENCY.search(question.text):
        return bool(_CURRENCY.search(answer))
    if _PERCENT_Q.search(question.text) and not _PERCENTAGE.search(question.text) and question.kind == "number":
        return bool(_PERCENTAGE.search(answer))
    return True


_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
# a year written where a date is: after a month, a dash, a quarter or "in/since/fiscal/FY" (not "of 2000 patients")
_DATED_YEAR = re.compile(
    rf"(?:\b(?:{_MONTHS})[a-z]*\.?\s*|[–—-]\s*|\b(?:in|since|year|fiscal|fy|q[1-4])\s+)((?:19|20)\d\d)\b(?![,.]?\d)",
    re.IGNORECASE,
)
_ENUMERATOR = re.compile(r"(?:^|\n)\s*(\d{1,2})[.)]\s+(?=[A-Z])")
_CODE = re.compile(r"(?<![\w-])(?=[A-Z0-9-]*\d)[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+(?![\w-])")  # SKU-6678, TRS-80


def asked_numbers(question: Question, text: str) -> frozenset[str]:
    """The numbers of ``text`` that could answer ``question``: not one the question names itself, and for a
    quantity question neither a year written as a date ("January–June 2022", "in 2023") nor a heading's
    number ("3. Analyses by segment"); never the digits of a code ("SKU-6678"). Each is blanked where it
    stands, so the same number written elsewhere in ``text`` still counts."""
    text = _CODE.sub(" ", text)
    if question.kind == "number":
        text = _DATED_YEAR.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)], text)
        text = _ENUMERATOR.sub("\n", text)
    return number_terms(text) - question.qualifiers.numbers


def asked_names(question: Question, text: str) -> frozenset[str]:
    """The names in ``text`` of the kind the question asks for — a full name for a who-question, a place for a
    where-question, any name otherwise — that the question does not name itself (stemmed)."""
    if question.kind == "person":
        found = person_names(text)
    elif question.kind == "place":
        found = place_names(text)
    else:
        found = key_terms(text).names
    return found - question.qualifiers.names


def type_matches(question: Question, answer: str) -> bool:
    """Whether ``answer`` holds what the question asks for: a number (beyond those the question itself
    names, with its unit when the question asks for money or a percentage) for number/date questions, a name
    of the asked kind (:func:`asked_names`) for name, who- and where-questions; anything for the rest."""
    if not unit_given(question, answer):
        return False
    if question.kind in ("number", "date"):
        if asked_numbers(question, answer):
            return True
        return question.kind == "date" and bool(asked_names(question, answer))  # "in March", "on Tuesday"
    return question.kind == "any" or bool(asked_names(question, answer))
