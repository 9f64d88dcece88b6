"""What a "how many" question counts, and whether a number in a span counts that (no model involved).

"How many SIDS cases were in the analysis?" counts *cases*: "1472 SIDS cases" answers it, "Five large SIDS
case-control datasets" does not, though both hold a new number and share the question's words. A number counts
the noun its phrase ends on ("12 renal transplant patients", "More than 5000 different flavonoids"), the noun of
a label before it ("Points Earned: 821"), anything after "n =" ("(n = 702)"), or — when no noun follows it and
another number of the span counts the noun ("about 70 stores … and about 500 at the end of 1997") — that noun. A
percentage counts nothing.
"""

from __future__ import annotations

import re

from quarry.generation.terms import number_terms
from quarry.generation.words import STOP_WORDS, stems

__all__ = ["counted_noun", "counts"]

_HOW_MANY = re.compile(r"\bhow many\s+(?:more\s+|of\s+(?:the\s+|these\s+|those\s+)?)?([^?]*)", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’]*|\d[\d,.]*(?:\.\d+)?|[^\sA-Za-z\d\-–—]")
_PLURAL_LIST = "people children men women mice feet teeth geese data criteria media staff"
_IRREGULAR_PLURALS = frozenset(_PLURAL_LIST.split())
_PHRASE_WORDS = 5  # words after a number that its noun may stand in ("30 Wistar albino male rats")
_LABEL_WORDS = 3  # words before a number that its label may stand in ("Points Earned: 821")


def _plural(word: str) -> bool:
    lowered = word.lower()
    if lowered in _IRREGULAR_PLURALS:
        return True
    return len(word) > 3 and lowered.endswith("s") and not lowered.endswith("ss") and not word.isupper()


def _stem(word: str) -> str:
    """One stem per word: a compound's last part ("case-control" → control), a possessive dropped ("patient's")
    — :func:`stems` of the whole word would give a set whose order changes from process to process."""
    parts = re.findall(r"[a-z0-9]+", re.sub(r"['’]s?$", "", word.lower()))
    found = stems(parts[-1]) if parts else set()
    return next(iter(found)) if found else word.lower()


def counted_noun(question: str) -> str:
    """The stem of the noun a "how many" question counts ("" when it asks no count or names none): the first
    plural of the words after "how many" before the verb, else the last of them."""
    match = _HOW_MANY.search(question)
    if match is None:
        return ""
    words: list[str] = []
    for word in re.findall(r"[A-Za-z][A-Za-z'’-]*", match.group(1)):
        if word.lower() in STOP_WORDS:
            break
        words.append(word)
    if not words:
        return ""
    noun = next((w for w in words if _plural(w)), words[-1])
    return _stem(noun)


def _number_noun(tokens: list[str], index: int) -> str | None:
    """The stem of the noun that the number at ``index`` counts; "" when no noun follows it (elided)."""
    phrase: list[str] = []
    for token in tokens[index + 1 : index + 1 + _PHRASE_WORDS]:
        if not token[0].isalpha() or token.lower() in STOP_WORDS:
            break
        phrase.append(token)
        if _plural(token):
            break
    return _stem(phrase[-1]) if phrase else ""


def _labelled(tokens: list[str], index: int, noun: str) -> bool:
    before = tokens[max(0, index - _LABEL_WORDS - 1) : index]
    if not before or before[-1] not in (":", "="):
        return False
    words = [t for t in before if t[0].isalpha()]
    return bool(words) and (words[-1].lower() == "n" or any(_stem(w) == noun for w in words))


def counts(noun: str, text: str, numbers: frozenset[str]) -> bool:
    """Whether one of ``numbers`` (normalised, as :func:`~quarry.generation.terms.number_terms` gives them)
    stands in ``text`` as a count of ``noun`` (a stem from :func:`counted_noun`); see the module docstring."""
    tokens = _TOKEN.findall(text)
    found = [(i, values) for i, t in enumerate(tokens) if (values := number_terms(t))]  # "702", "fifteen"
    found = [(i, values) for i, values in found if tokens[i + 1 : i + 2] not in (["%"], ["percent"], ["per"])]
    nouns = {i: _number_noun(tokens, i) for i, _ in found}
    parallel = noun in nouns.values()  # "about 70 stores … and about 500": the second number elides "stores"
    for index, values in found:
        if not values & numbers:
            continue
        if _labelled(tokens, index, noun) or nouns[index] == noun or (nouns[index] == "" and parallel):
            return True
    return False
