"""Turn any user string into a safe FTS5 MATCH expression.

FTS5 has its own query language (``"phrases"``, ``AND``/``OR``/``NOT``, ``prefix*``, ``col:``,
``NEAR(...)``, parentheses); a raw user string can be a syntax error or mean something else. We
keep only the words, quote each one (so ``AND`` is a word, not an operator) and OR them: a
disjunctive, BM25-ranked query, like a classic search engine.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_TERMS", "match_query", "query_terms"]

MAX_TERMS = 64
_WORD = re.compile(r"\w+")


def query_terms(query: str) -> list[str]:
    """The distinct lower-cased words of ``query`` in order (NFKC, at most :data:`MAX_TERMS`)."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(unicodedata.normalize("NFKC", query)):
        term = word.strip("_").lower()
        if term and term not in seen:
            seen[term] = None
            if len(seen) >= MAX_TERMS:
                break
    return list(seen)


def match_query(query: str) -> str | None:
    """An FTS5 expression OR-ing the quoted words of ``query``; ``None`` when it has no words."""
    terms = query_terms(query)
    if not terms:
        return None
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
