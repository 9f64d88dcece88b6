"""Extractive answers: the span of the sources that best answers the question, quoted with its citation.

Candidates are every sentence and every pair of consecutive sentences of every source (a table row counts
alone, scored together with its table's header). Each is scored by

- ``lexical``: the question's stemmed words it holds, each weighted by its rarity among the candidates
  (an IDF over this small pool, so "Fortran" outweighs "author"), as a share of the question's weight;
- ``fits``: it holds what the question asks for — a number the question does not contain for "how many" and
  date questions, a name the question does not contain for "who"/"where", and any new number or name for
  the rest (a sentence that only restates the question scores nothing here);
- ``missing``: how many of the question's qualifiers its *passage* lacks (a year, a code, a name) — and a code
  of a family its document holds several of ("SKU-6678" among other SKUs) must be in the span itself;
- ``pair``: two sentences rather than one (the answer often follows the sentence that matches the question);
- ``dense``: cosine between the question and the candidate, computed for the best ``DENSE_POOL`` only.

``score = 3·lexical + 1·fits − 0.5·missing + 0.2·pair + 1·dense``. On the tune split of bench/qa/dev.jsonl
(``bench/answer_levers.py weights``) the best candidate holds the answer for 0.697 of answerable questions with
these weights and with IDF-weighted overlap alone; dropping the dense term or the type fit costs one question
(0.682). The other terms are kept because they encode what a held-out question needs (a value of the asked kind,
the asked year) and cost nothing measurable here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

from quarry.generation.counting import counts
from quarry.generation.packing import PackedSource
from quarry.generation.questions import (
    Question,
    asked_names,
    asked_numbers,
    missing_qualifiers,
    rival_codes,
    unit_given,
)
from quarry.generation.terms import text_words
from quarry.generation.words import content_words, stems

__all__ = ["Quote", "Similarity", "best_quote", "candidate_spans", "rank_quotes"]

Similarity = Callable[[str, Sequence[str]], Sequence[float]]
"""(question, texts) → cosine of each text with the question."""

_SENTENCE = re.compile(r"\S[^\n]*?(?:[.!?](?=\s|$)|(?=\n)|$)")
_SEPARATOR = re.compile(r"[\s|:-]+")
_MAX_CHARS = 600
_NEW_WORDS = 2  # content words a span must add to the question's to answer a non-numeric question
_WRAP_CHARS = 60  # a line at least this long that stops mid-sentence was wrapped
# words that say when without a number (content words: lower case, a plural "s" trimmed)
_TIME_LIST = """monday tuesday wednesday thursday friday saturday sunday january february march april may june july
    august september october november december morning afternoon evening night noon midnight daily weekly monthly
    yearly annually quarterly hourly today tomorrow yesterday weekend spring summer autumn fall winter"""
_TIME_WORDS = frozenset(_TIME_LIST.split())
LEXICAL, FITS, MISSING, PAIR, DENSE = 3.0, 3.0, 0.5, 0.2, 1.0
DENSE_POOL = 5  # candidates re-scored with the embedder (top-5 did as well as all on the tune split)


@dataclass(frozen=True, slots=True)
class Quote:
    source: int  # the source's number
    text: str  # exact text of the span
    start: int  # offsets within the source text
    end: int
    score: float
    lexical: float
    fits: bool
    missing: tuple[str, ...]
    scored: str = ""  # the text that was scored (a table row with its header)
    pair: bool = False  # two sentences
    dense: float = 0.0  # cosine with the question (only the best DENSE_POOL get one)


def _table_header(lines: list[str], index: int) -> str:
    start = index
    while start > 0 and lines[start - 1].lstrip().startswith("|"):
        start -= 1
    return lines[start] if start < index else ""


def unwrapped(text: str) -> str:
    """``text`` with the line breaks of hard-wrapped prose (a long line that does not end a sentence, followed by
    more text — PDF and plain-text exports wrap at a fixed width) turned into spaces; same length, so offsets
    hold. Short lines (a receipt's, a form's fields) and table rows keep their breaks."""
    lines = text.split("\n")
    joined = []
    for line, following in zip(lines, [*lines[1:], ""], strict=True):
        wrapped = (
            len(line.strip()) >= _WRAP_CHARS
            and not line.rstrip().endswith((".", "!", "?", ":", ";"))
            and following.strip()
            and not line.lstrip().startswith("|")
            and not following.lstrip().startswith("|")
        )
        joined.append(line + (" " if wrapped else "\n"))
    return "".join(joined)[: len(text)]


def candidate_spans(text: str, preamble: str = "") -> list[tuple[int, int, str]]:
    """``(start, end, scored text)`` per sentence or table row of ``text``; a row is scored with its header.
    A sentence of hard-wrapped prose runs across its line breaks (:func:`unwrapped`)."""
    spans: list[tuple[int, int, str]] = []
    lines = unwrapped(text).split("\n")
    head = [p for p in preamble.split("\n") if p.strip()]
    offset = 0
    for index, line in enumerate(lines):
        if line.lstrip().startswith("|"):
            if not _SEPARATOR.fullmatch(line):
                header = _table_header(head + lines, len(head) + index)
                spans.append((offset, offset + len(line), f"{header} {line}" if header else line))
        else:
            for match in _SENTENCE.finditer(line):
                if len(match.group().strip()) > 2:
                    spans.append((offset + match.start(), offset + match.end(), match.group()))
        offset += len(line) + 1
    return [(s, e, t) for s, e, t in spans if e - s <= _MAX_CHARS]


def _windows(source: PackedSource) -> list[tuple[int, int, str, bool]]:
    spans = candidate_spans(source.text, source.preamble)
    found = [(s, e, t, False) for s, e, t in spans]
    for (s1, _, t1), (_, e2, t2) in pairwise(spans):
        if not t1.lstrip().startswith("|") and not t2.lstrip().startswith("|") and e2 - s1 <= _MAX_CHARS:
            found.append((s1, e2, t1 + " " + t2, True))
    return found


def _fits(question: Question, text: str, asked: frozenset[str]) -> bool:
    """Whether ``text`` holds a new value of the kind asked for (``asked``: the question's own words, so a
    question word written in capitals is not a new name). A date question is also answered by a word that says
    when ("monthly", "on Friday"). A number must come with the unit asked for (money,
    a percentage) and, for "how many", count what is asked (:mod:`quarry.generation.counting`). Beyond numbers,
    a span must also say at least ``_NEW_WORDS`` content words the question does not ("Best. -- Mallori
    Harrell" answers nothing about her)."""
    if (
        question.kind == "date"
        and "year" not in question.words
        and (content_words(text) - question.words) & _TIME_WORDS
    ):
        return True  # "paid monthly on the last working day", "every Friday"
    if question.kind in ("number", "date"):
        numbers = asked_numbers(question, text)
        if not numbers or not unit_given(question, text):
            return False
        return not question.counted or counts(question.counted, text, numbers)
    if len(content_words(text) - question.words) < _NEW_WORDS:
        return False
    return question.kind == "any" or bool(asked_names(question, text) - asked)


def rank_quotes(
    question: Question, sources: Sequence[PackedSource], *, similarity: Similarity | None = None
) -> list[Quote]:
    """Every candidate span of ``sources`` that shares a word with the question, best first."""
    pool = [(source, window) for source in sources for window in _windows(source)]
    bags = [stems(window[2]) for _, window in pool]
    asked = stems(question.text)
    idf = {w: math.log(1 + len(bags) / (1 + sum(w in bag for bag in bags))) for w in asked}
    total = sum(idf.values()) or 1.0
    missing = {
        s.number: tuple(missing_qualifiers(question, s.qualifier_text(), document_words=s.document_words))
        for s in sources
    }
    rivals = {s.number: rival_codes(question, s.document_words) for s in sources}
    asked_words = text_words(question.text)
    quotes = []
    for (source, (start, end, scored, pair)), bag in zip(pool, bags, strict=True):
        lexical = sum(idf[w] for w in asked & bag) / total
        if lexical <= 0:
            continue
        text = source.text[start:end]
        fits = _fits(question, text, asked_words)  # the span itself: a table header's numbers answer nothing
        gone = missing[source.number]
        if rivals[source.number]:  # such a code must be in the span itself
            words = text_words(scored)
            gone += tuple(c for c in rivals[source.number] if c not in words and c not in gone)
        score = LEXICAL * lexical + FITS * fits - MISSING * len(gone) + PAIR * pair
        quotes.append(Quote(source.number, text, start, end, score, lexical, fits, gone, scored, pair))
    quotes.sort(key=lambda q: -q.score)
    if similarity is not None and quotes:
        head = quotes[:DENSE_POOL]
        cosines = similarity(question.text, [q.scored for q in head])
        rescored = [
            replace(q, score=q.score + DENSE * float(c), dense=float(c)) for q, c in zip(head, cosines, strict=True)
        ]
        quotes = sorted(rescored, key=lambda q: -q.score) + quotes[DENSE_POOL:]
    return quotes


def best_quote(
    question: Question, sources: Sequence[PackedSource], *, similarity: Similarity | None = None
) -> Quote | None:
    """The best candidate span (None when no sentence shares a word with the question)."""
    ranked = rank_quotes(question, sources, similarity=similarity)
    return ranked[0] if ranked else None
