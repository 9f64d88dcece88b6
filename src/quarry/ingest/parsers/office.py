"""Office and e-book formats: docx, pptx, msg, epub via markitdown's per-format converters; xlsx, xls
via :mod:`quarry.ingest.parsers.spreadsheet` (openpyxl/xlrd directly — no pandas).

Choice: markitdown already turns these into the Markdown we want (mammoth for docx headings and
tables, python-pptx per slide, olefile for Outlook ``.msg``, chapters as headings for epub). We
call its converter classes directly, one instance per format built lazily and reused, instead of a
``MarkItDown`` object: that never loads the magika model, never builds a ``requests`` session,
never loads plugins and never guesses the format — the registry already chose it. Network access
is impossible on this path (no URL is ever handed to markitdown).

Post-processing: pptx slides become pages (one :class:`PageSpan` per slide, markers removed); the
``.msg`` heading becomes the subject. Workbooks: one ``## SheetName`` heading + pipe table per
non-empty sheet, ``metadata["sheets"]`` counts them.
"""

from __future__ import annotations

import io
import re
import zipfile
from functools import cache
from html import unescape
from typing import Any

from quarry.errors import EncryptedDocument
from quarry.ingest.parsers.common import build_document, join_pages, quiet
from quarry.ingest.parsers.spreadsheet import read_workbook
from quarry.types import Document, RawDocument

__all__ = ["DocxParser", "EpubParser", "MsgParser", "PptxParser", "XlsParser", "XlsxParser"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_SLIDE_MARKER = re.compile(r"^<!-- Slide number: (\d+) -->$", re.MULTILINE)
_CORE_TITLE = re.compile(rb"<dc:title>([^<]*)</dc:title>")

_CONVERTERS = {
    ".docx": "DocxConverter",
    ".pptx": "PptxConverter",
    ".msg": "OutlookMsgConverter",
    ".epub": "EpubConverter",
}


@cache
def _converter(extension: str) -> Any:
    from markitdown import converters

    return getattr(converters, _CONVERTERS[extension])()


def convert(raw: RawDocument, extension: str) -> tuple[str, str]:
    """``(markdown, title)`` from markitdown's converter for ``extension`` (``.docx``…)."""
    from markitdown import StreamInfo

    info = StreamInfo(extension=extension, filename=raw.name)
    with quiet():
        result = _converter(extension).convert(io.BytesIO(raw.data), info)
    return str(result.markdown or ""), str(result.title or "")


def _core_title(data: bytes) -> str:
    """``dc:title`` from an OOXML package's ``docProps/core.xml`` (empty when absent)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            match = _CORE_TITLE.search(archive.read("docProps/core.xml"))
    except (KeyError, zipfile.BadZipFile, OSError):
        return ""
    return unescape(match.group(1).decode("utf-8", errors="replace")).strip() if match else ""


def _check_not_encrypted(raw: RawDocument) -> None:
    """Password-protected OOXML files are OLE containers holding an ``EncryptedPackage`` stream."""
    if raw.data.startswith(_OLE_MAGIC) and _ENCRYPTED_PACKAGE in raw.data:
        raise EncryptedDocument(
            f"{raw.name} is password-protected",
            uri=raw.uri,
            hint="remove the password in the Office application (Save As without a password) and re-ingest",
        )


class _MarkItDownParser:
    name = "office"
    fmt = ""
    extensions: frozenset[str] = frozenset()
    media_types: frozenset[str] = frozenset()

    def parse(self, raw: RawDocument) -> list[Document]:
        _check_not_encrypted(raw)
        markdown, title = convert(raw, "." + self.fmt)
        return [build_document(raw, markdown, fmt=self.fmt, title=title or _core_title(raw.data))]


class DocxParser(_MarkItDownParser):
    name = fmt = "docx"
    extensions = frozenset({".docx"})
    media_types = frozenset({"application/vnd.openxmlformats-officedocument.wordprocessingml.document"})


class EpubParser(_MarkItDownParser):
    name = fmt = "epub"
    extensions = frozenset({".epub"})
    media_types = frozenset({"application/epub+zip"})


class PptxParser(_MarkItDownParser):
    name = fmt = "pptx"
    extensions = frozenset({".pptx"})
    media_types = frozenset({"application/vnd.openxmlformats-officedocument.presentationml.presentation"})

    def parse(self, raw: RawDocument) -> list[Document]:
        _check_not_encrypted(raw)
        markdown, title = convert(raw, ".pptx")
        pieces = _SLIDE_MARKER.split(markdown)  # [before, "1", slide 1, "2", slide 2, …]
        slides = pieces[2::2]
        text, pages = join_pages(slides)
        return [
            build_document(
                raw,
                text,
                fmt="pptx",
                title=title or _core_title(raw.data),
                pages=pages,
                metadata={"pages": len(slides)},
                cleaned=True,
            )
        ]


class XlsxParser(_MarkItDownParser):
    name = fmt = "xlsx"
    extensions = frozenset({".xlsx"})
    media_types = frozenset({"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})

    def parse(self, raw: RawDocument) -> list[Document]:
        _check_not_encrypted(raw)
        sheets = read_workbook(raw)
        markdown = "\n\n".join(sheets)
        metadata = {"sheets": len(sheets)}
        return [build_document(raw, markdown, fmt=self.fmt, title=_core_title(raw.data), metadata=metadata)]


class XlsParser(XlsxParser):
    name = fmt = "xls"
    extensions = frozenset({".xls"})
    media_types = frozenset({"application/vnd.ms-excel"})


class MsgParser(_MarkItDownParser):
    name = fmt = "msg"
    extensions = frozenset({".msg"})
    media_types = frozenset({"application/vnd.ms-outlook"})

    def parse(self, raw: RawDocument) -> list[Document]:
        markdown, subject = convert(raw, ".msg")
        if subject:
            markdown = markdown.replace("# Email Message", f"# {subject}", 1)
        return [build_document(raw, markdown, fmt="msg", title=subject, metadata={"subject": subject})]
