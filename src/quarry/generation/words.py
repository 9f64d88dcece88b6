"""Content words: the lexical unit of the support check and of source trimming (no model involved)."""

from __future__ import annotations

import re

__all__ = ["STOP_WORDS", "content_words", "stems"]

MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_WORD = re.compile(r"[a-z0-9]+")
_STOP_LIST = """a an and are as at be been but by can could did do does for from had has have he her his how i if in
    into is it its me my no not of on or our she so than that the their them then there these they this to
    was we were what when where which who why will with would you your about also any all just only per very
    answer question source sources"""
STOP_WORDS = frozenset(_STOP_LIST.split())


def content_words(text: str) -> set[str]:
    """Lower-cased words of ``text`` without ``[n]`` markers and stop words, a plural ``s`` trimmed."""
    words = _WORD.findall(MARKER.sub(" ", text.lower()))
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w not in STOP_WORDS and len(w) > 1}


_STEMMER: list[object] = []
# irregular past forms, which a suffix stemmer leaves apart from their verb ("grew up" ~ "grow up")
_IRREGULAR_PAIRS = """ate eat became become began begin begun begin bought buy brought bring built build caught catch
    chose choose chosen choose came come drew draw drawn draw drove drive driven drive fell fall fallen fall
    felt feel fought fight found find flew fly flown fly forgot forget forgotten forget gave give given give
    got get gotten get grew grow grown grow held hold hid hide kept keep knew know known know laid lay led lead
    lent lend lost lose made make meant mean met meet paid pay ran run rode ride ridden ride rose rise risen rise
    said say sang sing sung sing sat sit saw see seen see sold sell sent send shook shake shaken shake shot shoot
    slept sleep sought seek spoke speak spoken speak spent spend stood stand stole steal stolen steal struck
    strike swam swim swum swim swore swear sworn swear taught teach took take taken take thought think threw
    throw thrown throw told tell tore tear torn tear understood understand went go gone go woke wake woken wake
    won win wore wear worn wear wrote write written write"""
_IRREGULAR = dict(zip(_IRREGULAR_PAIRS.split()[::2], _IRREGULAR_PAIRS.split()[1::2], strict=True))


def stems(text: str) -> set[str]:
    """Snowball stems of ``text``'s words, stop words dropped (``programs`` and ``programming`` → ``program``;
    an irregular past form → its verb: ``grew`` → ``grow``)."""
    if not _STEMMER:
        import Stemmer

        _STEMMER.append(Stemmer.Stemmer("english"))
    stemmer = _STEMMER[0]
    words = [_IRREGULAR.get(w, w) for w in _WORD.findall(MARKER.sub(" ", text.lower())) if w not in STOP_WORDS]
    return set(stemmer.stemWords(words))  # type: ignore[attr-defined]
