"""Wiring of the model registry: its store, the embedder of a tuned model id, the production LoRA adapter."""

from __future__ import annotations

import threading
from pathlib import Path

from quarry.embeddings import Embedder, MiniLMEmbedder
from quarry.errors import ConfigError
from quarry.settings import LLMSettings, Settings
from quarry.stores.models import ModelStore
from quarry.stores.sqlite.models import SQLiteModelStore

__all__ = ["CHAT_TARGET", "EmbedderResolver", "build_model_store", "tuned_embedder", "with_production_adapter"]

CHAT_TARGET = "chat"
ONNX_FILE = "model.int8.onnx"


def build_model_store(settings: Settings) -> ModelStore:
    if (url := settings.store.dsn) is not None:
        from quarry.stores.postgres import PostgresModelStore

        return PostgresModelStore(url)
    return SQLiteModelStore(settings.store.beside(".ops.db"))


def tuned_embedder(model_id: str, artifact: Path, *, threads: int = 0) -> Embedder:
    """A tuned MiniLM (``quarry tune embeddings``) through the default adapter; its own int8 model encodes
    queries too (it is already dynamically quantised, so no query twin is built)."""
    path = artifact / ONNX_FILE
    if not path.is_file():
        raise ConfigError(f"the tuned embedder {model_id} has no {ONNX_FILE} in {artifact}", key="embeddings.model",
                          hint="its files were removed: roll the collection back (quarry models rollback)")  # fmt: skip
    return MiniLMEmbedder(model_path=path, threads=threads, query_model="packaged", model_id=model_id)


class EmbedderResolver:
    """The embedder for a model id that made some collection's vectors: the configured one, or a registered
    tuned one (loaded once). A model id nobody can load is an error, never a silent substitute."""

    def __init__(self, base: Embedder, models: ModelStore, *, threads: int = 0) -> None:
        self.base, self.models, self.threads = base, models, threads
        self._loaded: dict[str, Embedder] = {}
        self._lock = threading.Lock()

    def __call__(self, model_id: str) -> Embedder:
        if model_id == self.base.model_id:
            return self.base
        with self._lock:
            found = self._loaded.get(model_id)
            if found is None:
                found = self._loaded[model_id] = self._load(model_id)
            return found

    def _load(self, model_id: str) -> Embedder:
        for entry in self.models.entries():
            if entry.kind == "embedder" and entry.model_id == model_id and entry.artifact:
                return tuned_embedder(model_id, Path(entry.artifact), threads=self.threads)
        raise ConfigError(f"embedder {model_id!r} is neither configured nor in the model registry",
                          key="embeddings.model",
                          hint="configure [embeddings] model to it, or re-ingest the collection")  # fmt: skip


def with_production_adapter(llm: LLMSettings, models: ModelStore) -> LLMSettings:
    """The LLM settings with the registry's production LoRA adapter, unless one is configured (or "none")."""
    if llm.provider != "local" or llm.local.lora:
        return llm
    production = next((e for e in models.entries(CHAT_TARGET) if e.status == "production"), None)
    if production is None or production.kind != "adapter" or not production.artifact:
        return llm
    adapter = Path(production.artifact) / "adapter.gguf"
    return llm.model_copy(update={"local": llm.local.model_copy(update={"lora": str(adapter)})})
