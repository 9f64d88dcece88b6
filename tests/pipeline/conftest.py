"""A real system (SQLite store, real MiniLM behind the embedding cache) in a temporary folder."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture
def system(tmp_path: Path, minilm: Embedder) -> Iterator[Quarry]:
    quarry = build(Settings(store=StoreSettings(path=tmp_path / "store" / "quarry.db")))
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


class WriteWatcher:
    """Notices commits to a SQLite file made by any other connection (``PRAGMA data_version``)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.start = self._version()

    def _version(self) -> int:
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def written(self) -> bool:
        return self._version() != self.start

    def close(self) -> None:
        self.db.close()
