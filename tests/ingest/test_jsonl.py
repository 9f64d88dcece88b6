"""JSON Lines: one document per line; the BEIR SciFact corpus end to end."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from quarry.errors import ParseError
from quarry.ingest.parsers import ParserRegistry
from quarry.types import RawDocument

from .conftest import SCIFACT_CORPUS, UNSTRUCTURED, parse_path, raw_of


def test_beir_scifact_corpus_gz_gives_one_document_per_line() -> None:
    raw = raw_of(SCIFACT_CORPUS)
    registry = ParserRegistry()
    docs = registry.parse(raw)
    assert len(docs) == 5183
    first = json.loads(gzip.decompress(raw.data).splitlines()[0])
    doc = docs[0]
    assert doc.uri == f"{raw.uri}#{first['_id']}"
    assert doc.source_uri == raw.uri
    assert doc.title == first["title"]
    assert doc.text.startswith(f"# {first['title']}\n\n{first['text'][:40]}")
    assert doc.metadata["id"] == first["_id"]
    assert len({d.uri for d in docs}) == 5183


def test_ndjson_records_without_text_are_rendered() -> None:
    docs = parse_path(UNSTRUCTURED / "arbitrary-records.ndjson")
    assert len(docs) == 3
    assert docs[0].uri.endswith("arbitrary-records.ndjson#1")
    assert "name: Garden Trowel" in docs[0].text
    assert docs[0].metadata["sku"] == "GRD-8842"


def test_broken_line_is_skipped_and_reported(tmp_path: Path) -> None:
    lines = [
        json.dumps({"_id": "a", "title": "Alpha", "text": "first", "year": 2020}),
        '{"_id": "b", "text": "unterminated',
        "",
        json.dumps({"id": 7, "content": "third", "tags": ["x"]}),
    ]
    raw = RawDocument(uri="mem://records.jsonl", data="\n".join(lines).encode(), name="records.jsonl")
    docs = ParserRegistry().parse(raw)
    assert [d.uri for d in docs] == ["mem://records.jsonl#a", "mem://records.jsonl#7"]
    assert docs[0].text == "# Alpha\n\nfirst"
    assert docs[0].metadata["year"] == 2020
    assert docs[0].metadata["id"] == "a"
    assert docs[1].metadata["tags"] == ["x"]  # scalars and lists of scalars are kept
    warnings = docs[0].metadata["parse_warnings"]
    assert len(warnings) == 1
    assert warnings[0].startswith("line 2: invalid JSON")
    assert "parse_warnings" not in docs[1].metadata


def test_all_lines_broken_names_the_first_bad_line() -> None:
    raw = RawDocument(uri="mem://bad.jsonl", data=b"\n{oops\n{also bad", name="bad.jsonl")
    with pytest.raises(ParseError, match="line 2") as caught:
        ParserRegistry().parse(raw)
    assert caught.value.uri == "mem://bad.jsonl"


def test_list_metadata_such_as_principals_is_kept(tmp_path: Path) -> None:
    from quarry.ingest.parsers import default_registry
    from quarry.types import RawDocument

    line = '{"_id": "1", "text": "salary bands", "principals": ["group:hr", "user:ann"], "nested": {"a": 1}}\n'
    (doc,) = default_registry().parse(RawDocument(uri="mem://x.jsonl", data=line.encode(), name="x.jsonl"))
    assert doc.metadata["principals"] == ["group:hr", "user:ann"]
    assert "nested" not in doc.metadata
