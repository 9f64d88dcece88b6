"""Wiring of the model registry: its store, the embedder of a tuned model id, the production LoRA adapter (and the
served chat model that follows it)."""

from __future__ import annotations

import threading
from pathlib import Path

from quarry.embeddings import Embedder, MiniLMEmbedder
from quarry.errors import ConfigError
from quarry.llm import ChatModel, build_chat_model
from quarry.llm.reloading import ReloadingChatModel
from quarry.settings import LLMSettings, Settings
from quarry.stores.models import ModelStore
from quarry.stores.sqlite.models import SQLiteModelStore

__all__ = [
    "CHAT_TARGET", "EmbedderResolver", "build_model_store", "production_adapter", "served_chat_model",
    "tuned_embedder",
]  # fmt: skip

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


def production_adapter(models: ModelStore) -> Path | None:
    """The GGUF file of the registry's production chat adapter; None when the base model is production."""
    production = next((e for e in models.entries(CHAT_TARGET) if e.status == "production"), None)
    return production.adapter_file if production is not None else None


def follows_registry(llm: LLMSettings) -> bool:
    """Whether the served chat model is the registry's production adapter (a local model without a configured
    ``[llm.local] lora``; "none" pins the base model)."""
    return llm.provider == "local" and not llm.local.lora


def with_adapter(llm: LLMSettings, adapter: Path | None) -> LLMSettings:
    if adapter is None:
        return llm
    return llm.model_copy(update={"local": llm.local.model_copy(update={"lora": str(adapter)})})


def served_chat_model(settings: Settings, models: ModelStore) -> ChatModel:
    """The configured chat model; a local one that follows the registry is rebuilt when another adapter (or the
    base model) is promoted — checked every ``[tuning] reload_s`` — and a replaced adapter's server is stopped
    once its last call ends."""
    llm = settings.llm
    if not follows_registry(llm):
        return build_chat_model(llm)

    def retire(adapter: Path | None, model: ChatModel) -> None:
        model.close()
        if adapter is not None:
            from quarry.llm.local import stop_local_servers

            stop_local_servers(lora=adapter)

    return ReloadingChatModel(
        lambda: production_adapter(models),
        lambda adapter: build_chat_model(with_adapter(llm, adapter)),
        every_s=settings.tuning.reload_s,
        retire=retire,
    )
