"""Delimited text (``.csv``, ``.tsv``) as one Markdown pipe table.

Written here rather than via markitdown's ``CsvConverter`` because that one only knows commas: we
detect the encoding with :func:`~quarry.ingest.parsers.common.decode_bytes` (Shift-JIS, UTF-16…)
and the delimiter with :class:`csv.Sniffer` (``,`` ``;`` ``\\t`` ``|``), tab for ``.tsv``.
"""

from __future__ import annotations

import csv
import io

from quarry.ingest.parsers.common import build_document, decode_bytes, media_charset, pipe_table
from quarry.types import Document, RawDocument

__all__ = ["DelimitedParser"]

_DELIMITERS = ",;\t|"


def _dialect(text: str, default: str) -> type[csv.Dialect] | csv.Dialect | str:
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=_DELIMITERS)
    except csv.Error:
        return csv.excel_tab if default == "\t" else csv.excel


class DelimitedParser:
    name = "delimited"
    extensions = frozenset({".csv", ".tsv", ".tab"})
    media_types = frozenset({"text/csv", "text/tab-separated-values"})

    def parse(self, raw: RawDocument) -> list[Document]:
        text = decode_bytes(raw.data, media_charset(raw))
        is_tsv = raw.name.lower().endswith((".tsv", ".tab")) or (raw.media_type or "").startswith("text/tab")
        dialect = csv.excel_tab if is_tsv else _dialect(text, ",")
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), dialect) if any(cell.strip() for cell in row)]
        metadata = {"rows": max(len(rows) - 1, 0), "columns": max((len(row) for row in rows), default=0)}
        return [build_document(raw, pipe_table(rows), fmt="tsv" if is_tsv else "csv", metadata=metadata)]
