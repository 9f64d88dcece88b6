"""Trim a chunk that does not fit the context budget to the run of its sentences that best matches the
question, instead of dropping it.

Why: on 2 cores prompt reading dominates a local answer's latency, so the packed context must be small
(~150 tokens), and a whole chunk (~250 tokens for a SciFact abstract) no longer fits. Dropping it would
leave no source at all; trimming keeps the sentences that share the most content words with the
question. The trimmed chunk keeps its id and is still an exact span (``text == document.text[start:end]``),
so citations stay exact.
"""

from __future__ import annotations

import re
from dataclasses import replace

from quarry.generation.words import content_words
from quarry.llm.tokens import count_tokens
from quarry.types import Chunk

__all__ = ["sentence_spans", "trim_chunk"]

_SENTENCE = re.compile(r"\S[^\n]*?(?:[.!?](?=\s|$)|(?=\n)|$)")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` of each sentence (or line) of ``text``, without surrounding whitespace."""
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]


def _windows(text: str, spans: list[tuple[int, int]], budget: int, model: str) -> list[tuple[int, int]]:
    """For each first sentence, the longest run of following sentences that fits ``budget`` tokens."""
    found = []
    for i, (start, _) in enumerate(spans):
        best = None
        for _, end in spans[i:]:
            if count_tokens(text[start:end], model) > budget:
                break
            best = (start, end)
        if best is not None:
            found.append(best)
    return found


def trim_chunk(
    chunk: Chunk, question: str, budget_tokens: int, *, model: str = "", keep: tuple[int, int] | None = None
) -> Chunk | None:
    """The contiguous sentences of ``chunk`` within ``budget_tokens`` sharing the most content words with
    ``question`` (ties: the earliest), as a chunk with adjusted offsets; None when no sentence fits. With
    ``keep`` (offsets in the chunk: the span a quote was taken from), only runs holding it are considered
    when one fits."""
    spans = sentence_spans(chunk.text)
    windows = _windows(chunk.text, spans, budget_tokens, model)
    if not windows:
        return None
    if keep is not None:
        windows = [w for w in windows if w[0] <= keep[0] and keep[1] <= w[1]] or windows
    wanted = content_words(question)
    start, end = max(windows, key=lambda w: (len(wanted & content_words(chunk.text[w[0] : w[1]])), -w[0]))
    return replace(chunk, text=chunk.text[start:end], start=chunk.start + start, end=chunk.start + end)
