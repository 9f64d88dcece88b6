"""Split Markdown text into sections at ATX headings, each with its heading path."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Section", "split_sections"]

# Lines that may open a section (``#`` .. ``######`` then a space or the line end) or a code fence.
_CANDIDATE = re.compile(r"^ {0,3}(?:(#{1,6})(?:[ \t]+(.*)|[ \t]*)$|(`{3,}|~{3,})(.*)$)", re.MULTILINE)
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")


@dataclass(frozen=True, slots=True)
class Section:
    """``text[start:end]``, starting with its heading line (except a preamble before any heading)."""

    start: int
    end: int
    heading_path: tuple[str, ...]


def split_sections(text: str) -> list[Section]:
    """Sections of ``text`` in order, covering it without gaps.

    A heading of level *n* closes every open heading of level ≥ *n*, so ``# A / ## B / ### C / ## D``
    gives the paths (A), (A, B), (A, B, C), (A, D). Lines inside fenced code blocks (```` ``` ```` or
    ``~~~``) are never headings; an unclosed fence runs to the end of the text.
    """
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    fence = ""
    cut = 0
    for match in _CANDIDATE.finditer(text):
        marker = match.group(3)
        if marker:
            fence = _toggle_fence(fence, marker, match.group(4))
            continue
        if fence:
            continue
        if match.start() > cut:
            sections.append(Section(cut, match.start(), tuple(title for _, title in stack)))
        cut = match.start()
        level = len(match.group(1))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, _heading_title(match.group(2) or "")))
    sections.append(Section(cut, len(text), tuple(title for _, title in stack)))
    return sections


def _toggle_fence(fence: str, marker: str, rest: str) -> str:
    if not fence:
        return "" if marker[0] == "`" and "`" in rest else marker  # a backtick fence's info has no backticks
    closes = marker[0] == fence[0] and len(marker) >= len(fence) and not rest.strip()
    return "" if closes else fence


def _heading_title(raw: str) -> str:
    return _CLOSING_HASHES.sub("", raw.strip()).strip()
