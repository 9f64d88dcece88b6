"""Document parsers: raw bytes of one source unit → Markdown-flavoured :class:`~quarry.types.Document` s."""

from quarry.ingest.parsers.base import Parser
from quarry.ingest.parsers.registry import ParserRegistry, default_registry

__all__ = ["Parser", "ParserRegistry", "default_registry"]
