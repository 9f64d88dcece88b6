"""Plain-text family: ``.txt``, ``.md``, ``.rst``, ``.org`` (and friends).

Bytes are decoded with :func:`~quarry.ingest.parsers.common.decode_bytes` (BOM → declared charset →
UTF-8 → BOM-less UTF-16 → charset detection), so an odd encoding never crashes ingestion. Markdown is
kept as is; other markups are passed through unchanged apart from cleaning.
"""

from __future__ import annotations

from itertools import pairwise

from quarry.errors import BinaryContent
from quarry.ingest.parsers.common import binary_kind, build_document, decode_bytes, media_charset
from quarry.types import Document, RawDocument

__all__ = ["TextParser"]

_FORMATS = {
    ".txt": "text",
    ".text": "text",
    ".log": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".org": "org",
}


def _rst_title(text: str) -> str:
    """The first reStructuredText section title (a line underlined with ``=``, ``-``, ``~``…)."""
    lines = text.splitlines()
    for above, below in pairwise(lines):
        mark = below.strip()
        if above.strip() and len(mark) >= 3 and len(set(mark)) == 1 and mark[0] in "=-~^*#+":
            return above.strip()
    return ""


def _org_title(text: str) -> str:
    for line in text.splitlines():
        if line.lower().startswith("#+title:"):
            return line.split(":", 1)[1].strip()
        if line.startswith("* "):
            return line[2:].strip()
    return ""


class TextParser:
    name = "text"
    extensions = frozenset(_FORMATS)
    media_types = frozenset({"text/plain", "text/markdown", "text/x-markdown", "text/x-rst", "text/org"})

    def parse(self, raw: RawDocument) -> list[Document]:
        kind = binary_kind(raw.data)
        if kind is not None:
            raise BinaryContent(
                f"{raw.name} looks like {kind}, not text", uri=raw.uri, hint="give it its real extension, or exclude it"
            )
        text = decode_bytes(raw.data, media_charset(raw))
        suffix = "." + raw.name.rsplit(".", 1)[-1].lower() if "." in raw.name else ".txt"
        fmt = _FORMATS.get(suffix, "text")
        title = _rst_title(text) if fmt == "rst" else _org_title(text) if fmt == "org" else ""
        return [build_document(raw, text, fmt=fmt, title=title)]
