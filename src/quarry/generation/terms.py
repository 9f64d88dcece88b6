"""Key terms of a sentence: the numbers, dates and names a claim stands or falls by (no model involved).

``key_terms("Viaweb opened with 6 stores in January 1996.")`` → numbers ``{"6", "1996"}``, names
``{"viaweb", "january"}``. Numbers are normalised (thousands separators, currency signs and a trailing ``%``
dropped, so ``"$12,553"`` and ``"12553"`` are the same term). Names are capitalised words and code-like tokens
(``TRS-80``, ``GOT1``, ``SKU-6678``), lower-cased; a capitalised first word counts only when it is not a common
word (so "The" or "Which" opening a sentence is not a name). Words are compared by their stems' first five
letters (``Italian`` ~ ``Italy`` does not match; ``Harvard's`` ~ ``Harvard`` does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from quarry.generation.words import MARKER, content_words

__all__ = ["TOKEN", "KeyTerms", "coded", "key_terms", "number_terms", "person_names", "place_names", "text_words"]

_NUMBER = re.compile(r"(?<![\w.])[$£€]?\d[\d,]*(?:\.\d+)?%?(?![\w])|(?<![\w])\d+(?:\.\d+)?(?=[a-zA-Z%])")
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-./]*[A-Za-z0-9]|[A-Za-z0-9]")
_WORD = re.compile(r"[a-z0-9]+")
_NAME_WORD = r"[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)*"
_PARTICLE = r"(?:van|von|de|da|di|del|der|du|le|la|bin|ibn|al)"
_PLACE_WORD = r"[A-Z][A-Za-z'’-]+"
_PLACE_RUN = rf"((?:{_PLACE_WORD}\s+)*{_PLACE_WORD})"
_LOCATIVE = "|".join(f"[{w[0].upper()}{w[0]}]{w[1:]}" for w in ("in", "at", "from", "near", "to", "into", "outside",
                                                               "across", "around", "toward", "towards"))  # fmt: skip
_PLACES = (
    re.compile(rf"\b(?:{_LOCATIVE})\s+(?:[Tt]he\s+)?{_PLACE_RUN}"),
    re.compile(rf"\b(?:city|town|village|county|state|province|region|country|republic) of\s+{_PLACE_RUN}"),
    re.compile(rf"\b(?:Location|Address|City|Country|Venue|Place|Headquarters|Birthplace)\s*:\s*{_PLACE_RUN}"),
    re.compile(rf"\b({_PLACE_WORD})(?=,\s+(?:[A-Z]{{2}}\b|{_NAME_WORD}))"),  # "Redmond, WA", "Lyon, France"
)
_FULL_NAME = re.compile(rf"\b{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)?(?:[A-Z]\.\s+)*{_NAME_WORD})+\b")
_NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "twenty": "20",
    "thirty": "30",
    "hundred": "100",
}
_COMMON = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "he",
        "she",
        "they",
        "we",
        "i",
        "you",
        "his",
        "her",
        "their",
        "our",
        "my",
        "your",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "of",
        "to",
        "and",
        "or",
        "but",
        "if",
        "as",
        "after",
        "before",
        "during",
        "since",
        "until",
        "while",
        "about",
        "above",
        "under",
        "over",
        "between",
        "into",
        "through",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "can",
        "could",
        "will",
        "would",
        "should",
        "may",
        "might",
        "must",
        "not",
        "no",
        "yes",
        "also",
        "then",
        "than",
        "so",
        "such",
        "all",
        "any",
        "each",
        "every",
        "some",
        "both",
        "one",
        "two",
        "three",
        "first",
        "second",
        "last",
        "next",
        "answer",
        "according",
        "source",
        "sources",
        "question",
    ]
)


# words that make a run of capitalised words an organisation, a place or a document rather than a person
_NOT_PERSON_LIST = """center centre east west north south street road avenue boulevard blvd lane drive square
    inc ltd llc plc corp corporation company group bank society club house hall park city county state republic kingdom
    university college school academy hospital clinic institute department ministry council committee
    association foundation report review services service systems technologies technology electronics
    solutions partners holdings international national team united church museum library station airport
    office agency authority court project programme program fund trust"""
_NOT_PERSON = frozenset(_NOT_PERSON_LIST.split())


@dataclass(frozen=True, slots=True)
class KeyTerms:
    numbers: frozenset[str]
    names: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.numbers or self.names)


def _number(token: str) -> str:
    value = token.strip("$£€%").replace(",", "")
    if "." in value:
        value = value.rstrip("0").rstrip(".") or "0"
    return value.lstrip("0") or "0"


def number_terms(text: str) -> frozenset[str]:
    """Normalised numbers in ``text``, written numbers from one to twenty included."""
    text = MARKER.sub(" ", text)
    found = {_number(m.group()) for m in _NUMBER.finditer(text) if any(c.isdigit() for c in m.group())}
    found |= {_NUMBER_WORDS[w] for w in _WORD.findall(text.lower()) if w in _NUMBER_WORDS}
    return frozenset(found)


def _stem(word: str) -> str:
    return word.lower().replace("’", "'").split("'")[0][:5]


def coded(token: str) -> bool:
    """Whether ``token`` is a code: letters and digits together ("SKU-6678", "TRS-80", "Q3")."""
    return any(c.isdigit() for c in token) and any(c.isalpha() for c in token)


def _names(text: str) -> frozenset[str]:
    names: set[str] = set()
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", MARKER.sub(" ", text)):
        for position, token in enumerate(TOKEN.findall(sentence)):
            capital = token[0].isupper() and token.lower() not in _COMMON
            if coded(token) or (capital and (position > 0 or token.lower() not in _COMMON)):
                names.add(token.lower() if coded(token) else _stem(token))
    return frozenset(names)


def person_names(text: str) -> frozenset[str]:
    """The stemmed words of what could be a person's full name in ``text``: two or more capitalised words in a
    row (initials and particles like "van" may stand between), common words breaking the run ("Tom Cheatham",
    "Mukesh D. Ambani"; not "On Lisp", "Report ID" or a lone "Receipt"). A run holding a word no person is
    named with ("Distribution Center East", "Norwich City", "Acme Technologies") is not one; other
    organisation names of two words pass; a single name ("Plato") does not."""
    found: set[str] = set()
    for match in _FULL_NAME.finditer(MARKER.sub(" ", text)):
        run: list[str] = []
        for word in [*match.group().split(), "the"]:  # a common word ends the last run
            if word.lower() not in _COMMON:
                run.append(word)
                continue
            words = [w for w in run if not w.endswith(".")]
            if len(words) >= 2 and not any(w.lower() in _NOT_PERSON for w in words):
                found.update(_stem(w) for w in words)
            run = []
    return frozenset(found)


def place_names(text: str) -> frozenset[str]:
    """The stemmed words of what stands as a place in ``text``: capitalised words after a locative ("born in
    Bangor", "moved to England", "at the Mayo Clinic"), after "city of" and the like, after a label ("Address:
    …"), or before a comma and a region ("Redmond, WA"). A capitalised word alone ("a Welsh footballer", "KEN
    SARGENT HOUSE") is not a place; common words are dropped."""
    found: set[str] = set()
    plain = MARKER.sub(" ", text)
    for pattern in _PLACES:
        for match in pattern.finditer(plain):
            found.update(_stem(w) for w in match.group(1).split() if w.lower() not in _COMMON)
    return frozenset(found)


def key_terms(text: str) -> KeyTerms:
    """The numbers and names in ``text`` (see the module docstring)."""
    return KeyTerms(number_terms(text), _names(text))


def text_words(text: str) -> frozenset[str]:
    """What a span offers to a claim: its stemmed words, coded tokens and content words."""
    tokens = TOKEN.findall(text)
    found = {_stem(t) for t in tokens} | {t.lower() for t in tokens if any(c.isdigit() for c in t)}
    return frozenset(found | content_words(text))
