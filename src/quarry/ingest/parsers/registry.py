"""Choose a parser for a :class:`RawDocument` and make sure a broken file never crashes ingestion.

Dispatch order: the file extension of ``raw.name`` (``.gz`` is decompressed first and the inner
extension used, so ``corpus.jsonl.gz`` is JSONL), else ``raw.media_type``, else magic bytes
(``%PDF``, zip listings for docx/pptx/xlsx/epub, ``<html``, gzip).

Guarantee: :meth:`ParserRegistry.parse` returns ≥ 1 document with non-empty text or raises a
:class:`~quarry.errors.ParseError` (subclass) naming ``raw.uri``. Any other exception from a parser
or a third-party library is wrapped into ``ParseError`` (``raise … from exc``).

Cleaning: parsers clean their own text (per page, before joining — see ``common.py``), so the page
offsets they compute are final; the registry does not re-clean.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import replace
from functools import cache

from quarry.errors import DocumentTooLarge, ParseError, UnsupportedFormat
from quarry.ingest.parsers.base import Parser
from quarry.ingest.parsers.delimited import DelimitedParser
from quarry.ingest.parsers.eml import EmlParser
from quarry.ingest.parsers.html import HtmlParser
from quarry.ingest.parsers.jsonl import JsonlParser, JsonParser
from quarry.ingest.parsers.office import DocxParser, EpubParser, MsgParser, PptxParser, XlsParser, XlsxParser
from quarry.ingest.parsers.pdf import PdfParser
from quarry.ingest.parsers.text import TextParser
from quarry.types import Document, RawDocument

__all__ = ["ParserRegistry", "default_registry", "extension_of"]

_ZIP_MARKERS = (
    ("word/document.xml", ".docx"),
    ("ppt/presentation.xml", ".pptx"),
    ("xl/workbook.xml", ".xlsx"),
    ("META-INF/container.xml", ".epub"),
)


def extension_of(name: str) -> str:
    """Lower-cased last suffix of ``name`` (``.pdf``), ``""`` when there is none."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return "." + base.rsplit(".", 1)[1] if "." in base.strip(".") else ""


def _sniff_zip(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return ""
    return next((ext for marker, ext in _ZIP_MARKERS if marker in names), "")


def sniff(data: bytes) -> str:
    """The extension that ``data``'s magic bytes suggest, ``""`` when unknown."""
    head = data[:1024].lstrip()
    lowered = head[:512].lower()
    if head.startswith(b"%PDF") or b"%PDF-" in data[:1024]:
        return ".pdf"
    if data.startswith(b"PK\x03\x04"):
        return _sniff_zip(data)
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered:
        return ".html"
    return ""


def _default_parsers(pdf_tables: bool) -> list[Parser]:
    return [
        TextParser(),
        HtmlParser(),
        PdfParser(tables=pdf_tables),
        DocxParser(),
        PptxParser(),
        XlsxParser(),
        XlsParser(),
        MsgParser(),
        EpubParser(),
        DelimitedParser(),
        EmlParser(),
        JsonParser(),
        JsonlParser(),
    ]


class ParserRegistry:
    """Routes raw documents to parsers; see the module docstring for the dispatch and the guarantee."""

    def __init__(
        self, parsers: Iterable[Parser] | None = None, *, pdf_tables: bool = False, max_bytes: int | None = None
    ) -> None:
        self._parsers = list(parsers) if parsers is not None else _default_parsers(pdf_tables)
        self.pdf_tables = pdf_tables and parsers is None
        self._by_extension = {ext: p for p in self._parsers for ext in p.extensions}
        self._by_media_type = {mt: p for p in self._parsers for mt in p.media_types}
        self.max_bytes = max_bytes

    @property
    def fingerprint(self) -> str:
        """What changes the parsed text (part of the ingest fingerprint: changing it re-parses sources)."""
        return f"pdf_tables={int(self.pdf_tables)}"

    def supported_extensions(self) -> list[str]:
        """Every extension with a parser (plus ``.gz`` wrapping any of them), sorted."""
        return sorted({*self._by_extension, ".gz"})

    def parser_for(self, raw: RawDocument) -> Parser:
        """The parser for ``raw``, or :class:`UnsupportedFormat`."""
        extension = extension_of(raw.name)
        parser = self._by_extension.get(extension)
        if parser is None and raw.media_type:
            parser = self._by_media_type.get(raw.media_type.split(";")[0].strip().lower())
        if parser is None:
            parser = self._by_extension.get(sniff(raw.data))
        if parser is None:
            raise UnsupportedFormat(
                f"no parser for {raw.name!r} (extension {extension or 'none'!r}, media type {raw.media_type!r})",
                uri=raw.uri,
                hint="supported extensions: " + ", ".join(self.supported_extensions()),
            )
        return parser

    def parse(self, raw: RawDocument) -> list[Document]:
        """Parse ``raw`` into ≥ 1 non-empty documents, or raise a :class:`ParseError` naming ``raw.uri``."""
        self._check_size(raw, len(raw.data))
        raw = self._gunzip(raw)
        parser = self.parser_for(raw)
        if raw.data[:4] == b"PK\x03\x04":
            self._check_zip(raw)
        try:
            documents = parser.parse(raw)
        except ParseError:
            raise
        except Exception as exc:
            raise ParseError(
                f"{parser.name} parser failed on {raw.name}: {type(exc).__name__}: {exc}",
                uri=raw.uri,
                hint="the file is probably corrupt or uses an unsupported variant of the format",
            ) from exc
        documents = [doc for doc in documents if doc.text.strip()]
        if not documents:
            raise ParseError(
                f"no text could be extracted from {raw.name}",
                uri=raw.uri,
                hint="the file is empty, whitespace-only or only images (scanned? OCR is not supported)",
            )
        return documents

    def _check_size(self, raw: RawDocument, size: int) -> None:
        if self.max_bytes is not None and size > self.max_bytes:
            raise DocumentTooLarge(
                f"{raw.name} is {size:,} bytes, over the {self.max_bytes:,}-byte limit",
                uri=raw.uri,
                hint="raise the size limit in the settings or split the file",
            )

    def _check_zip(self, raw: RawDocument) -> None:
        """DOCX, PPTX, XLSX and EPUB are zip files: refuse one that would inflate too far (a zip bomb) before any
        parser opens it — too many entries, too many bytes in all, or an entry packed too tightly for a real
        document. zipfile never reads past an entry's declared size, so the declared sizes bound the work."""
        try:
            with zipfile.ZipFile(io.BytesIO(raw.data)) as archive:
                entries = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return  # the parser reports a broken file in its own words
        cap = self.max_bytes if self.max_bytes is not None else GUNZIP_CAP
        total = sum(e.file_size for e in entries)
        packed = max(entries, key=lambda e: e.file_size / max(e.compress_size, 1), default=None)
        ratio = packed.file_size / max(packed.compress_size, 1) if packed is not None else 0.0
        problem = (
            f"{len(entries):,} entries (at most {ZIP_MAX_ENTRIES:,})" if len(entries) > ZIP_MAX_ENTRIES
            else f"{total:,} bytes inflated (at most {cap * ZIP_INFLATION:,})" if total > cap * ZIP_INFLATION
            else f"an entry inflating {ratio:,.0f}x (at most {ZIP_MAX_RATIO}x)"
            if ratio > ZIP_MAX_RATIO and packed is not None and packed.file_size > 10**6 else ""
        )  # fmt: skip
        if problem:
            hint = "a real document does not inflate like this; re-save it or leave it out"
            raise DocumentTooLarge(f"{raw.name} looks like a zip bomb: {problem}", uri=raw.uri, hint=hint)

    def _gunzip(self, raw: RawDocument) -> RawDocument:
        if not (raw.name.lower().endswith(".gz") or (not extension_of(raw.name) and raw.data[:2] == b"\x1f\x8b")):
            return raw
        cap = self.max_bytes if self.max_bytes is not None else GUNZIP_CAP
        try:
            data = bounded_gunzip(raw.data, cap)
        except (OSError, EOFError, zlib.error) as exc:
            raise ParseError(f"{raw.name} is not a valid gzip file: {exc}", uri=raw.uri, hint="re-download it") from exc
        if data is None:  # inflated past the cap: a gzip bomb, or simply too large
            raise DocumentTooLarge(
                f"{raw.name} inflates to more than {cap:,} bytes; it was not decompressed further",
                uri=raw.uri,
                hint="raise the size limit in the settings or split the file",
            )
        self._check_size(raw, len(data))
        name = raw.name[:-3] if raw.name.lower().endswith(".gz") else raw.name
        return replace(raw, data=data, name=name, media_type=None)


GUNZIP_CAP = 512 * 10**6  # when the registry has no size limit of its own
ZIP_MAX_ENTRIES = 10_000
ZIP_INFLATION = 4  # all entries together may inflate to this many times the file size limit
ZIP_MAX_RATIO = 200  # an entry over 1 MB packed tighter than this is not a document part (XML packs ~5-30x)


def bounded_gunzip(data: bytes, cap: int) -> bytes | None:
    """``data`` gunzipped (every member), or None as soon as the output would pass ``cap`` bytes: memory stays
    bounded by the cap however small the input (a 1 MB gzip bomb inflates to GBs)."""
    out = bytearray()
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits=31)
        while True:
            chunk = inflater.decompress(rest, max(1, cap + 1 - len(out)))
            out += chunk
            if len(out) > cap:
                return None
            rest = inflater.unconsumed_tail
            if inflater.eof or not rest:
                break
        if not inflater.eof:
            raise EOFError("compressed file ended before the end-of-stream marker was reached")
        rest = inflater.unused_data.lstrip(b"\x00")
    return bytes(out)


@cache
def default_registry(*, pdf_tables: bool = True, max_bytes: int | None = None) -> ParserRegistry:
    """The process-wide registry with every built-in parser; PDF tables become Markdown tables (pdfplumber)
    unless ``pdf_tables`` is off (then PDFs are read ~35x faster, as plain text)."""
    return ParserRegistry(pdf_tables=pdf_tables, max_bytes=max_bytes)
