"""Content words: the lexical unit of the support check and of source trimming (no model involved)."""

from __future__ import annotations

import re

__all__ = ["content_words", "stems"]

MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_WORD = re.compile(r"[a-z0-9]+")
_STOP_WORDS = """a an and are as at be been but by can could did do does for from had has have he her his how i if in
    into is it its me my no not of on or our she so than that the their them then there these they this to
    was we were what when where which who why will with would you your about also any all just only per very
    answer question source sources"""
_STOP = frozenset(_STOP_WORDS.split())


def content_words(text: str) -> set[str]:
    """Lower-cased words of ``text`` without ``[n]`` markers and stop words, a plural ``s`` trimmed."""
    words = _WORD.findall(MARKER.sub(" ", text.lower()))
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w not in _STOP and len(w) > 1}


_STEMMER: list[object] = []


def stems(text: str) -> set[str]:
    """Snowball stems of ``text``'s words, stop words dropped (``programs`` and ``programming`` → ``program``)."""
    if not _STEMMER:
        import Stemmer

        _STEMMER.append(Stemmer.Stemmer("english"))
    stemmer = _STEMMER[0]
    words = [w for w in _WORD.findall(MARKER.sub(" ", text.lower())) if w not in _STOP]
    return set(stemmer.stemWords(words))  # type: ignore[attr-defined]
