"""Text normalisation for term matching: what evasions look like once undone.

``normalise("Ｐ4ss-w0rd   dump")`` → ``"password dump"``: NFKC folds full-width and compatibility forms,
a small confusables table maps look-alike letters from other scripts (Cyrillic ``а``, Greek ``ο``) to Latin,
accents are dropped, leetspeak digits and symbols become letters (``4→a``, ``0→o``, ``$→s``), everything is
lower-cased, and separators inside words (``p.a.s.s``, ``p a s s``) are closed up when the letters around them
are single characters. :func:`squeezed` also removes every space, for terms written with spaces inside.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalise", "squeezed"]

_CONFUSABLES = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
        "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p", "С": "c", "Т": "t",
        "Х": "x", "α": "a", "ο": "o", "ρ": "p", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "τ": "t", "υ": "u",
        "Α": "a", "Β": "b", "Ε": "e", "Ι": "i", "Κ": "k", "Μ": "m", "Ν": "n", "Ο": "o", "Ρ": "p", "Τ": "t",
        "¥": "y", "€": "e", "£": "l", "¢": "c", "ß": "b", "ø": "o", "Ø": "o", "ł": "l", "đ": "d", "ħ": "h",
    }
)  # fmt: skip
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s", "!": "i"}
)
_SPACED = re.compile(r"\b(?:[a-z][\s._\-*]){2,}[a-z]\b")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """``text`` with evasions undone (see the module docstring)."""
    folded = unicodedata.normalize("NFKC", text).translate(_CONFUSABLES)
    plain = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
    lowered = plain.lower().translate(_LEET)
    closed = _SPACED.sub(lambda m: re.sub(r"[\s._\-*]", "", m.group()), lowered)
    words = re.sub(r"[^a-z0-9\s]", " ", closed)
    return _SPACE.sub(" ", words).strip()


def squeezed(text: str) -> str:
    """:func:`normalise` without any spaces (``"pass word"`` → ``"password"``)."""
    return normalise(text).replace(" ", "")
