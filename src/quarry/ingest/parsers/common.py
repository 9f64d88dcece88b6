"""Helpers shared by the parsers: decoding, document building, page joining, pipe tables.

Cleaning contract: every parser builds its documents through :func:`build_document` (which runs
:func:`~quarry.ingest.cleaning.clean_text` on page-less text) or :func:`join_pages` (which cleans each
page *before* joining, so ``doc.text[p.start:p.end]`` is exactly the cleaned page). The registry never
re-cleans a whole text, so offsets computed by a parser stay valid.
"""

from __future__ import annotations

import codecs
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import Any

from quarry.ingest.cleaning import clean_text
from quarry.types import Document, PageSpan, RawDocument, freeze

__all__ = [
    "PAGE_SEPARATOR",
    "build_document",
    "decode_bytes",
    "file_stem",
    "first_heading",
    "join_pages",
    "media_charset",
    "pipe_table",
    "quiet",
]

PAGE_SEPARATOR = "\n\n"

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


@contextmanager
def quiet() -> Iterator[None]:
    """Silence third-party warnings (pdfminer, openpyxl, bs4, markdownify…) for one conversion."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _try_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _guess_bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM shows as NUL bytes in every other position of mostly-ASCII text."""
    sample = data[:4096]
    if len(sample) < 4 or sample.count(0) < len(sample) // 4:
        return None
    encoding = "utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be"
    return _try_decode(data, encoding)


_MAGIC = {
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image", b"%PDF-": "a PDF",
    b"PK\x03\x04": "a ZIP archive", b"\x1f\x8b": "gzip data", b"\x7fELF": "an executable",
    b"\xfd7zXZ": "xz data", b"7z\xbc\xaf": "a 7z archive", b"SQLite format 3": "a database",
    b"\x00\x00\x00\x18ftyp": "a video",
}  # fmt: skip
_CONTROL = frozenset(range(32)) - {9, 10, 12, 13, 27}


def binary_kind(data: bytes) -> str | None:
    """What ``data`` is when it is not text (a known file signature, NUL bytes that are not UTF-16, or mostly
    control bytes), else None."""
    if any(data.startswith(bom) for bom, _ in _BOMS):
        return None
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            return kind
    sample = data[:8192]
    if b"\x00" in sample:  # text only when it reads as BOM-less UTF-16
        return None if _guess_bomless_utf16(sample[: len(sample) // 2 * 2]) is not None else "binary data (NUL bytes)"
    control = sum(1 for byte in sample if byte in _CONTROL)
    return "binary data (control bytes)" if sample and control > 0.1 * len(sample) else None


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode text bytes; never raises.

    Order: byte-order mark (UTF-8/16/32), the ``declared`` charset (HTTP header, ``<meta>``), UTF-8,
    BOM-less UTF-16, ``charset_normalizer``'s best guess, then UTF-8 with replacement characters.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = _try_decode(data, encoding)
            if text is not None:
                return text
    for candidate in (declared, "utf-8"):
        text = _try_decode(data, candidate) if candidate else None
        if text is not None:
            return text
    text = _guess_bomless_utf16(data)
    if text is not None:
        return text
    guess = _detect(data)
    text = _try_decode(data, guess) if guess else None
    return text if text is not None else data.decode("utf-8", errors="replace")


def _detect(data: bytes) -> str | None:
    """``charset_normalizer``'s guess, preferring cp1252 when it reads as cleanly as the best guess.

    Single-byte Western text often fits several code pages equally well (cp1250 vs cp1252); cp1252
    is by far the most common legacy encoding (it is the HTML default), so it wins ties.
    """
    from charset_normalizer import from_bytes

    matches = from_bytes(data[:200_000])
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        if match.encoding == "cp1252" and match.chaos <= best.chaos + 0.01:
            return "cp1252"
    return str(best.encoding)


def media_charset(raw: RawDocument) -> str | None:
    """The ``charset`` parameter of ``raw.media_type`` (``text/html; charset=cp1252``), if any."""
    for param in (raw.media_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def file_stem(name: str) -> str:
    """``report`` for ``/a/b/report.final.pdf``-like names (only the last suffix is dropped)."""
    return PurePosixPath(name.replace("\\", "/")).stem


def first_heading(text: str) -> str:
    match = _HEADING.search(text)
    return match.group(1).strip() if match else ""


def _title(raw: RawDocument, text: str, title: str) -> str:
    meta_title = raw.metadata.get("title")
    if isinstance(meta_title, str) and meta_title.strip():
        return meta_title.strip()
    return title.strip() or first_heading(text) or file_stem(raw.name)


def build_document(
    raw: RawDocument,
    text: str,
    *,
    fmt: str,
    title: str = "",
    pages: tuple[PageSpan, ...] = (),
    metadata: Mapping[str, Any] | None = None,
    cleaned: bool = False,
) -> Document:
    """A :class:`Document` for ``raw``: cleaned text (unless ``cleaned``), title, merged metadata."""
    if not cleaned:
        text = clean_text(text)
    merged: dict[str, Any] = {**raw.metadata, "format": fmt, **(metadata or {})}
    return Document(
        uri=raw.uri,
        source_uri=raw.uri,
        text=text,
        title=_title(raw, text, title),
        pages=pages,
        metadata=freeze(merged),
    )


def join_pages(parts: Sequence[str]) -> tuple[str, tuple[PageSpan, ...]]:
    """Clean each page, join non-empty pages with a blank line, and return the exact page spans.

    A page without text gets an empty span at the position where it would have been.
    """
    chunks: list[str] = []
    spans: list[PageSpan] = []
    offset = 0
    for number, part in enumerate(parts, start=1):
        cleaned = clean_text(part)
        if cleaned:
            if chunks:
                offset += len(PAGE_SEPARATOR)
            chunks.append(cleaned)
            spans.append(PageSpan(number, offset, offset + len(cleaned)))
            offset += len(cleaned)
        else:
            spans.append(PageSpan(number, offset, offset))
    return PAGE_SEPARATOR.join(chunks), tuple(spans)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return " ".join(text.split()).replace("|", "\\|")


def pipe_table(rows: Sequence[Sequence[object]]) -> str:
    """A Markdown pipe table; the first row is the header. Ragged rows are padded."""
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    if width == 0:
        return ""
    lines = []
    for index, row in enumerate(rows):
        cells = [_cell(value) for value in row] + [""] * (width - len(row))
        lines.append("| " + " | ".join(cells) + " |")
        if index == 0:
            lines.append("|" + " --- |" * width)
    return "\n".join(lines)
