"""The source seam: something that yields raw documents, lazily.

A source reports units it cannot read as :class:`Unreadable` items instead of raising, so one bad
file never stops a folder; an error that makes the whole source unusable (a missing folder, a
refused database connection) raises :class:`~quarry.errors.SourceError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from quarry.types import RawDocument

__all__ = ["Source", "SourceItem", "Unreadable"]


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A unit the source found but could not read (permissions, too large, vanished)."""

    uri: str
    reason: str
    kind: str = "unreadable"


SourceItem = RawDocument | Unreadable


class Source(Protocol):
    """``prefix`` is the uri prefix every unit of this source shares; ``--sync`` removes stored
    units under that prefix that the source no longer yields."""

    prefix: str

    def __iter__(self) -> Iterator[SourceItem]: ...

    def describe(self) -> str: ...
