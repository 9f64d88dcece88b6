"""JSON (one readable document) and JSON Lines (one document per line, BEIR corpora included).

JSONL/NDJSON: each line is a record. The id is ``_id`` or ``id`` (else the line number), the text
is ``text``/``content``/``body`` (else the whole record rendered as ``key: value`` lines), the title
is ``title``. A document's ``uri`` is ``f"{raw.uri}#{id}"`` and its metadata holds the record's other
scalar fields plus ``id``. With a title the text is ``# {title}\\n\\n{text}``. A malformed line is
skipped and reported in the first document's ``metadata["parse_warnings"]``; only when no line
parses is a :class:`~quarry.errors.ParseError` raised (naming the first bad line).

Fast path: SciFact's 5,183 lines parse in ≈0.2 s (``json.loads`` + ``clean_text`` per record).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from quarry.errors import ParseError
from quarry.ingest.cleaning import clean_text
from quarry.ingest.parsers.common import build_document, decode_bytes
from quarry.types import Document, RawDocument, freeze

__all__ = ["JsonParser", "JsonlParser", "render_json"]

_ID_KEYS = ("_id", "id")
_TEXT_KEYS = ("text", "content", "body")
_SCALARS = (str, int, float, bool)


def _scalar(value: Any) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _str_field(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    return value if isinstance(value, str) else ""


def render_json(value: Any, indent: int = 0) -> str:
    """Readable text for any JSON value: ``key: value`` lines, nested values indented."""
    pad = "  " * indent
    if isinstance(value, Mapping):
        lines = []
        for key, item in value.items():
            if isinstance(item, Mapping | list) and item:
                lines.append(f"{pad}{key}:\n{render_json(item, indent + 1)}")
            else:
                lines.append(f"{pad}{key}: {_scalar(item) if not isinstance(item, Mapping | list) else ''}".rstrip())
        return "\n".join(lines)
    if isinstance(value, list):
        if all(isinstance(item, Mapping) for item in value):
            return "\n\n".join(render_json(item, indent) for item in value)
        return "\n".join(f"{pad}- {render_json(item, indent + 1).strip()}" for item in value)
    return f"{pad}{_scalar(value)}"


def _is_metadata(value: Any) -> bool:
    """Scalars, and lists of scalars (tags, access ``principals``) — dropping a principals list
    would silently make a restricted record public."""
    if isinstance(value, list):
        return all(isinstance(item, _SCALARS) for item in value)
    return isinstance(value, _SCALARS)


def _record_document(raw: RawDocument, record: Any, line_no: int) -> Document | None:
    if not isinstance(record, Mapping):
        text, record_id, title, extra = render_json(record), str(line_no), "", {}
    else:
        id_key = next((k for k in _ID_KEYS if record.get(k) not in (None, "")), None)
        text_key = next((k for k in _TEXT_KEYS if isinstance(record.get(k), str)), None)
        record_id = str(record[id_key]) if id_key else str(line_no)
        title = _str_field(record, "title")
        rest = {k: v for k, v in record.items() if k not in (id_key, text_key, "title")}
        text = str(record[text_key]) if text_key else render_json(rest)
        extra = {k: v for k, v in rest.items() if _is_metadata(v)}
    body = clean_text(text)
    title = clean_text(title)
    if not body and not title:
        return None
    return Document(
        uri=f"{raw.uri}#{record_id}",
        source_uri=raw.uri,
        text=f"# {title}\n\n{body}" if title and body else body or f"# {title}",
        title=title or record_id,
        metadata=freeze({**raw.metadata, "format": "jsonl", **extra, "id": record_id}),
    )


def _bad_line(raw: RawDocument, line_no: int, reason: str) -> ParseError:
    return ParseError(
        f"line {line_no} of {raw.name} is not a usable JSON record: {reason}",
        uri=raw.uri,
        hint="each line of a .jsonl file must be one JSON object with a text/content/body field",
    )


class JsonlParser:
    name = "jsonl"
    extensions = frozenset({".jsonl", ".ndjson", ".jsonlines"})
    media_types = frozenset({"application/jsonl", "application/x-ndjson", "application/x-jsonlines"})

    def parse(self, raw: RawDocument) -> list[Document]:
        documents: list[Document] = []
        problems: list[tuple[int, str]] = []
        for line_no, line in enumerate(decode_bytes(raw.data).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                document = _record_document(raw, json.loads(line), line_no)
            except ValueError as exc:
                problems.append((line_no, f"invalid JSON ({exc})"))
                continue
            if document is None:
                problems.append((line_no, "no text"))
            else:
                documents.append(document)
        if not documents:
            raise _bad_line(raw, *(problems[0] if problems else (1, "the file is empty")))
        if problems:
            first = documents[0]
            warnings = [f"line {line_no}: {reason}" for line_no, reason in problems]
            metadata = freeze({**first.metadata, "parse_warnings": warnings})
            documents[0] = Document(first.uri, first.source_uri, first.text, first.title, (), metadata)
        return documents


class JsonParser:
    name = "json"
    extensions = frozenset({".json"})
    media_types = frozenset({"application/json", "text/json"})

    def parse(self, raw: RawDocument) -> list[Document]:
        text = decode_bytes(raw.data)
        try:
            value = json.loads(text)
        except ValueError as exc:
            if text.lstrip().startswith("{") and "\n{" in text:  # JSON Lines saved as .json
                return JsonlParser().parse(raw)
            raise ParseError(
                f"{raw.name} is not valid JSON: {exc}", uri=raw.uri, hint="fix the JSON or save it as .jsonl"
            ) from exc
        title = _str_field(value, "title") if isinstance(value, Mapping) else ""
        return [build_document(raw, render_json(value), fmt="json", title=title)]
