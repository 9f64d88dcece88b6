"""Core value types shared by every layer.

All types are frozen dataclasses: they are values, safe to hash, cache and pass between threads.
Offsets (``start``/``end``) are character offsets into a :class:`Document`'s ``text``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "Chunk",
    "Document",
    "Hit",
    "JsonValue",
    "Matrix",
    "Message",
    "Metadata",
    "PageSpan",
    "RawDocument",
    "Role",
    "ToolCall",
    "Usage",
    "content_hash",
    "freeze",
]

JsonValue = str | int | float | bool | None
Metadata = Mapping[str, Any]
Matrix = npt.NDArray[np.float32]

_EMPTY: Metadata = MappingProxyType({})


def freeze(metadata: Mapping[str, Any] | None) -> Metadata:
    """A read-only copy of ``metadata`` (an empty mapping for ``None``)."""
    if not metadata:
        return _EMPTY
    return MappingProxyType(dict(metadata))


def content_hash(data: bytes | str) -> str:
    """The content address used everywhere: hex sha256 of the UTF-8 bytes."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class RawDocument:
    """Bytes from a source, before parsing.

    ``uri`` identifies the unit in its source and is stable across runs (an absolute file path,
    a URL, ``sql://…#id``); ``name`` carries the file name used for format detection.
    """

    uri: str
    data: bytes
    name: str
    media_type: str | None = None
    metadata: Metadata = field(default_factory=lambda: _EMPTY)

    @property
    def raw_hash(self) -> str:
        return content_hash(self.data)


@dataclass(frozen=True, slots=True)
class PageSpan:
    """Page ``number`` (1-based) covers ``text[start:end]`` of its document."""

    number: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed document: Markdown-flavoured ``text`` (headings as ``#``, tables as pipe tables).

    ``uri`` is unique within a collection; one raw source unit may yield several documents
    (a JSONL file yields one per line, with ``uri`` = ``source_uri#id``).
    """

    uri: str
    source_uri: str
    text: str
    title: str = ""
    pages: tuple[PageSpan, ...] = ()
    metadata: Metadata = field(default_factory=lambda: _EMPTY)

    @property
    def id(self) -> str:
        return content_hash(self.uri)[:32]

    @property
    def text_hash(self) -> str:
        return content_hash(self.text)

    def page_at(self, offset: int) -> int | None:
        """The page number holding character ``offset``, or ``None`` when pages are unknown."""
        for page in self.pages:
            if page.start <= offset < page.end:
                return page.number
        return self.pages[-1].number if self.pages and offset >= self.pages[-1].end else None


@dataclass(frozen=True, slots=True)
class Chunk:
    """A span ``document.text[start:end]`` sized for the embedder.

    ``text`` is exactly that slice, so a citation can point at the span; ``context`` is what gets
    embedded (the heading path followed by the text).
    """

    document_id: str
    index: int
    text: str
    start: int
    end: int
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    token_count: int = 0
    flags: tuple[str, ...] = ()  # what guards found at ingest (e.g. "injection"); not part of the content hash

    @property
    def id(self) -> str:
        return f"{self.document_id}:{self.index}"

    @property
    def context(self) -> str:
        headings = [h for h in self.heading_path if h and h not in self.text[: len(h) + 8]]
        return "\n".join([*headings, self.text]) if headings else self.text

    @property
    def content_hash(self) -> str:
        return content_hash(self.context)


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: a chunk, its document's uri and title, and a score (higher is better)."""

    chunk: Chunk
    score: float
    document_uri: str
    title: str = ""
    metadata: Metadata = field(default_factory=lambda: _EMPTY)
    retriever: str = ""


Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A model's request to run tool ``name`` with ``arguments`` (a JSON object, as text).

    ``id`` ties the call to the ``tool`` message that carries its result.
    """

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Message:
    """One chat turn.

    An ``assistant`` message may carry ``tool_calls``; a ``tool`` message answers the call whose id is
    ``tool_call_id`` with ``content``.
    """

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens one or more calls used and what they cost; ``a + b`` sums two usages.

    ``model`` names the model that was billed; a sum of different models keeps the first non-empty one.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    model: str = ""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cost_usd + other.cost_usd,
            self.model or other.model,
        )
