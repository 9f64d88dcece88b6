"""The parser seam: bytes of one source unit in, one or more parsed documents out."""

from __future__ import annotations

from typing import Protocol

from quarry.types import Document, RawDocument

__all__ = ["Parser"]


class Parser(Protocol):
    """Parses one format family.

    ``parse`` returns Markdown-flavoured text (``#`` headings, pipe tables) with page spans where
    the format has pages. It raises :class:`~quarry.errors.ParseError` (or a subclass:
    ``EncryptedDocument``, ``UnsupportedFormat``) naming ``raw.uri`` and saying why; it never
    returns a silently empty document for a corrupt file.
    """

    name: str
    extensions: frozenset[str]
    media_types: frozenset[str]

    def parse(self, raw: RawDocument) -> list[Document]: ...
