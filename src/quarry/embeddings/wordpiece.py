"""Exact WordPiece token counts for single words, in pure Python for the common ASCII case.

The Rust ``tokenizers`` call costs ~10 µs per word (most of it per-call overhead and alignment
tracking); a dictionary-driven greedy longest-match costs ~4 µs. Words that are not plain printable
ASCII go to the real tokenizer, so the result always equals
``len(tokenizer.encode(word, add_special_tokens=False).ids)``.
"""

from __future__ import annotations

import re

from tokenizers import Tokenizer

__all__ = ["WordPieceCounter"]

# BERT's pre-tokenizer isolates every ASCII punctuation/symbol character.
_PIECES = re.compile(r"[!-/:-@\[-`{-~]|[^!-/:-@\[-`{-~]+")


class WordPieceCounter:
    """Counts the WordPiece tokens of one whitespace-free word with a BERT uncased tokenizer."""

    def __init__(self, tokenizer: Tokenizer, *, prefix: str = "##", max_chars: int = 100) -> None:
        vocab = tokenizer.get_vocab()
        self._tokenizer = tokenizer
        self._starts = frozenset(t for t in vocab if not t.startswith(prefix))
        self._continues = frozenset(t[len(prefix) :] for t in vocab if t.startswith(prefix))
        self._longest = max(map(len, vocab))
        self._max_chars = max_chars
        # Added tokens ([CLS], [UNK], ...) are matched in the raw text before normalisation.
        self._added = tuple(t.content for t in tokenizer.get_added_tokens_decoder().values())

    def count(self, word: str) -> int:
        if word.isascii() and word.isprintable() and not any(t in word for t in self._added):
            return sum(self._count_piece(piece) for piece in _PIECES.findall(word.lower()))
        return len(self._tokenizer.encode(word, add_special_tokens=False).ids)

    def _count_piece(self, piece: str) -> int:
        size = len(piece)
        if size > self._max_chars:
            return 1  # [UNK]
        count = start = 0
        table = self._starts
        while start < size:
            end = min(size, start + self._longest)
            while end > start and piece[start:end] not in table:
                end -= 1
            if end == start:
                return 1  # an unmatchable piece becomes a single [UNK]
            count += 1
            start = end
            table = self._continues
        return count
