"""Workbooks (.xlsx via openpyxl, .xls via xlrd) as one ``## SheetName`` heading + pipe table per sheet.

Choice: read the cells directly instead of going through markitdown's pandas-based converters —
pandas alone is ~84 MB of the install and only ever built a DataFrame to print it. openpyxl runs in
``read_only`` mode (streams the sheet XML, low memory) with ``data_only`` (formulas give their cached
value); xlrd reads the legacy BIFF ``.xls`` format. The container is picked from the magic bytes, so a
renamed file (an ``.xls`` that is really OOXML, or the reverse) still parses.

Rendering: empty rows and columns that are empty in every row are dropped; the first remaining row
is the table header (as pandas did); integral numbers print without ``.0``, other numbers with at
most 15 significant digits (Excel's precision), dates as ISO ``YYYY-MM-DD`` (plus the time when it
is not midnight). A sheet without any value is left out; a workbook without any is ``""`` (the
registry then raises "no text could be extracted").
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence

from quarry.errors import EncryptedDocument
from quarry.ingest.parsers.common import pipe_table, quiet
from quarry.types import RawDocument

__all__ = ["cell_text", "read_workbook", "sheet_markdown"]

_ZIP_MAGIC = b"PK\x03\x04"
_ENCRYPTED_HINT = "remove the password in the Office application (Save As without a password) and re-ingest"


def cell_text(value: object) -> str:
    """One cell value as text (``None`` → ``""``); see the module docstring for numbers and dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def sheet_markdown(name: str, rows: Iterable[Sequence[object]]) -> str:
    """``## name`` + a pipe table of the non-empty rows and columns; ``""`` when the sheet has no value."""
    table = [[cell_text(value) for value in row] for row in rows]
    table = [row for row in table if any(row)]
    if not table:
        return ""
    width = max(len(row) for row in table)
    used = [col for col in range(width) if any(col < len(row) and row[col] for row in table)]
    table = [[row[col] if col < len(row) else "" for col in used] for row in table]
    return f"## {name}\n{pipe_table(table)}"


def _xlsx_sheets(data: bytes) -> list[str]:
    import openpyxl  # type: ignore[import-untyped]

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return [sheet_markdown(sheet.title, sheet.iter_rows(values_only=True)) for sheet in book.worksheets]
    finally:
        book.close()


def _xls_value(cell: object, datemode: int) -> object:
    import xlrd  # type: ignore[import-untyped]

    kind, value = getattr(cell, "ctype", 0), getattr(cell, "value", None)
    if kind == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate.xldate_as_datetime(value, datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return value
    if kind == xlrd.XL_CELL_BOOLEAN:
        return bool(value)
    if kind == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(value, "#ERROR")
    return value


def _xls_sheets(raw: RawDocument) -> list[str]:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=raw.data, on_demand=True)
    except xlrd.XLRDError as exc:
        if "encrypted" in str(exc).lower():
            raise EncryptedDocument(f"{raw.name} is password-protected", uri=raw.uri, hint=_ENCRYPTED_HINT) from exc
        raise
    try:
        blocks = []
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            rows = ([_xls_value(cell, book.datemode) for cell in sheet.row(r)] for r in range(sheet.nrows))
            blocks.append(sheet_markdown(sheet.name, rows))
            book.unload_sheet(index)
        return blocks
    finally:
        book.release_resources()


def read_workbook(raw: RawDocument) -> list[str]:
    """The non-empty sheets of ``raw`` (xlsx or xls, told apart by magic bytes) as Markdown blocks."""
    with quiet():
        blocks = _xlsx_sheets(raw.data) if raw.data.startswith(_ZIP_MAGIC) else _xls_sheets(raw)
    return [block for block in blocks if block]
