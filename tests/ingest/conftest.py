"""Parser-test helpers: real third-party files, read in place (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from quarry.ingest.parsers import ParserRegistry, default_registry
from quarry.types import Document, RawDocument

DATASETS = Path(os.environ.get("QUARRY_DATASETS", Path(__file__).resolve().parents[3] / "shared" / "datasets"))
MARKITDOWN = DATASETS / "documents/markitdown/packages/markitdown/tests/test_files"
UNSTRUCTURED = DATASETS / "documents/unstructured/example-docs"
SCIFACT_CORPUS = DATASETS / "scifact/corpus.jsonl.gz"


def raw_of(path: Path, *, name: str | None = None, media_type: str | None = None) -> RawDocument:
    if not path.is_file():
        pytest.fail(f"fixture {path} is missing; set QUARRY_DATASETS to the shared datasets folder")
    return RawDocument(uri=str(path), data=path.read_bytes(), name=name or path.name, media_type=media_type)


def parse_path(path: Path, registry: ParserRegistry | None = None) -> list[Document]:
    return (registry or default_registry()).parse(raw_of(path))
