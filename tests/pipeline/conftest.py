"""A real system (real MiniLM behind the embedding cache) in a temporary folder, on each store engine: every
sync-safety test runs on the embedded SQLite store and on a real PostgreSQL server."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from quarry.assembly import Quarry, build
from quarry.cache import EmbeddingCache
from quarry.embeddings import Embedder
from quarry.embeddings.cached import CachedEmbedder
from quarry.settings import Settings, StoreSettings
from tests.conftest import DATASETS, MARKITDOWN_FILES, UNSTRUCTURED_FILES

GOOD_FILES = [
    MARKITDOWN_FILES / "test.docx",
    MARKITDOWN_FILES / "test.pptx",
    MARKITDOWN_FILES / "test.xlsx",
    MARKITDOWN_FILES / "test_blog.html",
    MARKITDOWN_FILES / "REPAIR-2022-INV-001_multipage.pdf",
    UNSTRUCTURED_FILES / "fake-email.eml",
    MARKITDOWN_FILES / "test.epub",
    UNSTRUCTURED_FILES / "stanley-cups.csv",
    UNSTRUCTURED_FILES / "pdf" / "fake-memo.pdf",
]
ESSAY = DATASETS / "paul-graham-essay" / "data" / "paul_graham" / "paul_graham_essay.txt"
BAD_FILES = [
    MARKITDOWN_FILES / "random.bin",
    UNSTRUCTURED_FILES / "empty.txt",
    UNSTRUCTURED_FILES / "pdf" / "password.pdf",
]


def write_truncated_pptx(folder: Path) -> Path:
    """A real .pptx cut in half: a corrupt zip that parsers must reject."""
    data = (MARKITDOWN_FILES / "test.pptx").read_bytes()
    path = folder / "truncated.pptx"
    path.write_bytes(data[: len(data) // 2])
    return path


def copy_files(files: list[Path], folder: Path) -> Path:
    """Writable copies (the shared data is read-only)."""
    folder.mkdir(parents=True, exist_ok=True)
    for file in files:
        shutil.copyfile(file, folder / file.name)
    return folder


class Counting(Embedder):
    """Passes through to the real model and counts what reaches it."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id, self.dimension, self.max_tokens = inner.model_id, inner.dimension, inner.max_tokens
        self.batch_size = 64
        self.texts = 0

    def _embed(self, texts: list[str]) -> object:  # type: ignore[override]
        self.texts += len(texts)
        return self.inner._embed(texts)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


@pytest.fixture(params=["sqlite", "postgresql"])
def system(request: pytest.FixtureRequest, tmp_path: Path, minilm: Embedder) -> Iterator[Quarry]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    quarry = build(Settings(store=StoreSettings(path=tmp_path / "store" / "quarry.db", url=url)))
    counting = Counting(minilm)
    quarry.__dict__["embedder"] = CachedEmbedder(counting, EmbeddingCache(tmp_path / "store" / "cache.db"))
    yield quarry
    quarry.close()


def model_texts(quarry: Quarry) -> int:
    """How many texts reached the real model so far."""
    embedder = quarry.embedder
    assert isinstance(embedder, CachedEmbedder)
    inner = embedder.inner
    assert isinstance(inner, Counting)
    return inner.texts


def engine_env(quarry: Quarry) -> dict[str, str]:
    """The environment that points a ``quarry`` subprocess at ``quarry``'s store."""
    store = quarry.settings.store
    return {"QUARRY_STORE__PATH": str(store.path)} | ({"QUARRY_STORE__URL": store.url} if store.url else {})


def document_texts(quarry: Quarry) -> list[str]:
    """Every stored document's text, read over a connection of its own (what another process sees)."""
    if quarry.settings.store.url:
        with psycopg.connect(quarry.settings.store.url) as conn:
            return [row[0] for row in conn.execute("SELECT text FROM documents").fetchall()]
    db = sqlite3.connect(f"file:{quarry.settings.store.path}?mode=ro", uri=True)
    try:
        return [row[0] for row in db.execute("SELECT text FROM documents").fetchall()]
    finally:
        db.close()


class WriteWatcher:
    """Notices commits made by any other connection: ``PRAGMA data_version`` of a SQLite file; on PostgreSQL,
    the newest row version (``xmin``) and the row count of every Quarry table."""

    def __init__(self, quarry: Quarry) -> None:
        self.url = quarry.settings.store.url
        self.db = sqlite3.connect(quarry.settings.store.path) if self.url is None else None
        self.start = self._version()

    def _version(self) -> object:
        if self.db is not None:
            return int(self.db.execute("PRAGMA data_version").fetchone()[0])
        assert self.url is not None
        tables = ("collections", "sources", "documents", "chunks", "postings")
        with psycopg.connect(self.url) as conn:
            return [
                conn.execute(f"SELECT count(*), max(xmin::text::bigint) FROM {table}").fetchone() for table in tables
            ]

    def written(self) -> bool:
        return self._version() != self.start

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
