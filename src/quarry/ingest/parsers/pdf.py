"""PDF: pypdfium2 (PDFium, C++) text per page, one :class:`PageSpan` per page.

PDFium is fast (≈2–7 ms for a 3-page invoice) and robust on broken files. With ``tables=True`` (the
default through ``[ingest] pdf_tables``) pages are also read with pdfplumber, rendering detected tables as
Markdown pipe tables interleaved with the surrounding lines (a page whose table rendering lost words keeps
PDFium's text), so a table reaches retrieval and the answering model row by row with its header. That costs
≈25–35× more (≈80–250 ms per file vs 2–6 ms on markitdown's test PDFs, see ``bench/RESULTS.md``) for a closer
layout match (0.91 vs 0.84 similarity to the reference conversions); ``pdf_tables = false`` reads plain text
only. pdfplumber is imported only when tables are on. PDFium is not thread-safe: all PDFium calls run under
one lock.
"""

from __future__ import annotations

import importlib.util
import io
import threading
from typing import Any

import pypdfium2 as pdfium

from quarry.errors import ConfigError, EncryptedDocument, ParseError
from quarry.ingest.parsers.common import build_document, join_pages, pipe_table, quiet
from quarry.types import Document, RawDocument

__all__ = ["PDFIUM_LOCK", "PdfParser"]

PDFIUM_LOCK = threading.Lock()
_ERR_PASSWORD = 4
_TABLES_HINT = "pip install pdfplumber (a dependency of quarry; was it removed?)"
_OCR_HINT = "scanned PDF without a text layer? OCR is not supported; run it through OCR (e.g. ocrmypdf) first"


def _open(raw: RawDocument) -> Any:
    try:
        return pdfium.PdfDocument(raw.data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == _ERR_PASSWORD:
            raise EncryptedDocument(
                f"{raw.name} is password-protected",
                uri=raw.uri,
                hint="decrypt it first, e.g. `qpdf --decrypt --password=… in.pdf out.pdf`",
            ) from exc
        raise ParseError(
            f"{raw.name} is not a readable PDF: {exc}",
            uri=raw.uri,
            hint="the file is corrupt or truncated; re-export or re-download it",
        ) from exc


def _pdfium_pages(doc: Any) -> list[str]:
    parts: list[str] = []
    for index in range(len(doc)):
        page = doc[index]
        try:
            textpage = page.get_textpage()
            try:
                parts.append(str(textpage.get_text_range()))
            finally:
                textpage.close()
        finally:
            page.close()
    return parts


def _metadata(doc: Any) -> dict[str, str]:
    try:
        info = doc.get_metadata_dict(skip_empty=True)
    except Exception:  # metadata is optional; a broken Info dictionary must not fail the parse
        return {}
    return {key.lower(): str(value).strip() for key, value in info.items() if key in ("Title", "Author")}


def _plumber_page(page: Any) -> str:
    """Lines outside tables plus the tables as pipe tables, in reading order (top to bottom)."""
    tables = page.find_tables()
    if not tables:
        return str(page.extract_text() or "")
    boxes = [table.bbox for table in tables]

    def outside(obj: dict[str, Any]) -> bool:
        x, y = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= x <= x1 and top <= y <= bottom for x0, top, x1, bottom in boxes)

    blocks: list[tuple[float, str]] = [
        (line["top"], line["text"]) for line in page.filter(outside).extract_text_lines() if line["text"].strip()
    ]
    for table in tables:
        rows = [row for row in table.extract() if any(cell for cell in row)]
        if rows:
            blocks.append((table.bbox[1], "\n" + pipe_table(rows) + "\n"))
    blocks.sort(key=lambda block: block[0])
    return "\n".join(text for _, text in blocks)


def _require_pdfplumber() -> None:
    """:class:`ConfigError` with the install hint when the optional ``pdfplumber`` is missing."""
    if importlib.util.find_spec("pdfplumber") is None:
        raise ConfigError(
            "PDF tables need pdfplumber, which is not installed (it is an optional extra)",
            key="pdf_tables",
            hint=f"{_TABLES_HINT}, or turn PDF tables off",
        )


def _plumber_pages(data: bytes) -> list[str]:
    import pdfplumber  # checked by PdfParser.__init__

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [_plumber_page(page) for page in pdf.pages]


def _keep_complete(plain: str, tabled: str) -> str:
    """The table rendering of a page unless it lost words (a mis-detected table): then PDFium's text."""
    return tabled if len(tabled.split()) >= 0.95 * len(plain.split()) else plain


class PdfParser:
    name = "pdf"
    extensions = frozenset({".pdf"})
    media_types = frozenset({"application/pdf", "application/x-pdf"})

    def __init__(self, *, tables: bool = False) -> None:
        if tables:
            _require_pdfplumber()
        self.tables = tables

    def parse(self, raw: RawDocument) -> list[Document]:
        with PDFIUM_LOCK, quiet():
            doc = _open(raw)
            try:
                info = _metadata(doc)
                parts = _pdfium_pages(doc)
            finally:
                doc.close()
        if self.tables and any(part.strip() for part in parts):
            with quiet():
                tabled = _plumber_pages(raw.data)
            parts = [_keep_complete(plain, table) for plain, table in zip(parts, tabled, strict=False)]
        text, pages = join_pages(parts)
        if not text:
            message = f"no text could be extracted from {raw.name} ({len(parts)} pages)"
            raise ParseError(message, uri=raw.uri, hint=_OCR_HINT)
        metadata = {"pages": len(parts), **({"author": info["author"]} if "author" in info else {})}
        title = info.get("title", "")
        return [build_document(raw, text, fmt="pdf", title=title, pages=pages, metadata=metadata, cleaned=True)]
