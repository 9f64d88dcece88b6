"""Wiring: the only module that names concrete adapters. ``build(settings)`` → :class:`Quarry`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import TYPE_CHECKING

from quarry.assembly.models import EmbedderResolver, build_model_store, served_chat_model
from quarry.cache import EmbeddingCache
from quarry.cache.semantic import AnswerCacheBackend, SemanticCache
from quarry.cache.semantic_redis import RedisAnswerCache
from quarry.cache.semantic_sqlite import SQLiteAnswerCache
from quarry.embeddings import Embedder, MiniLMEmbedder, OpenAICompatibleEmbedder
from quarry.embeddings.cached import CachedEmbedder
from quarry.errors import ConfigError
from quarry.generation import Answerer
from quarry.generation.prompts import load_prompt
from quarry.generation.registry import PromptRegistry
from quarry.guardrails import Guardrails
from quarry.guardrails.ingest import IngestGuards
from quarry.ingest.parsers import ParserRegistry, default_registry
from quarry.llm import ChatModel, build_chat_model
from quarry.llm.reloading import ReloadingChatModel
from quarry.pipeline import Ingestor
from quarry.retrieval.rerankers import (
    CrossEncoderReranker,
    E5Reranker,
    LLMJudgeReranker,
    Reranker,
    SentenceTransformerReranker,
)
from quarry.retrieval.routing import Router
from quarry.retrieval.search import Searcher
from quarry.settings import EmbeddingSettings, Settings
from quarry.stores.agents import MemoryStore, RunStore
from quarry.stores.base import Store, TraceStore
from quarry.stores.jobs import JobStore
from quarry.stores.keys import KeyStore
from quarry.stores.models import ModelStore
from quarry.stores.ops import ExperimentStore, FeedbackStore, PromptStore
from quarry.stores.sqlite import SQLiteJobStore, SQLiteKeyStore, SQLiteStore, SQLiteTraceStore
from quarry.stores.sqlite.agents import SQLiteMemoryStore, SQLiteRunStore
from quarry.stores.sqlite.ops import SQLiteExperimentStore, SQLiteFeedbackStore, SQLitePromptStore
from quarry.tracing import SpanSink, Tracer
from quarry.tracing.otel import OtelSink

if TYPE_CHECKING:
    from quarry.agents.sql_tool import ReadOnlySql

__all__ = ["Quarry", "build", "build_embedder"]


@dataclass
class Quarry:
    """The wired system. Components are built on first use, so ``quarry collections`` never
    loads the embedding model."""

    settings: Settings
    _arm_models: dict[str, ChatModel] = field(default_factory=dict, init=False, repr=False)  # experiment arms' models

    @property
    def _postgres(self) -> str | None:
        """The PostgreSQL DSN when ``[store] url`` names one, else None (the SQLite files). The PostgreSQL adapters
        are imported in the branches that build them: importing them costs ~0.6 s that SQLite users never need."""
        return self.settings.store.dsn

    @cached_property
    def store(self) -> Store:
        """The knowledge base (collections, documents, both indexes) on the configured engine."""
        s = self.settings.store
        if (url := self._postgres) is not None:
            from quarry.stores.postgres import PostgresStore

            return PostgresStore(url, ann_threshold=s.ann_threshold, ann_connectivity=s.ann_connectivity,
                                 ann_expansion_add=s.ann_expansion_add, ann_expansion_search=s.ann_expansion_search,
                                 bm25_k1=s.bm25_k1, bm25_b=s.bm25_b)  # fmt: skip
        return SQLiteStore(s.path, ann_threshold=s.ann_threshold, ann_connectivity=s.ann_connectivity,
                           ann_expansion_add=s.ann_expansion_add, ann_expansion_search=s.ann_expansion_search,
                           bm25_k1=s.bm25_k1, bm25_b=s.bm25_b)  # fmt: skip

    @cached_property
    def trace_store(self) -> TraceStore:
        """Traces in their own file beside the store (SQLite: logging never waits on an ingest's write lock,
        and a run that changes nothing leaves the knowledge base untouched), or in the PostgreSQL database."""
        if (url := self._postgres) is not None:
            from quarry.stores.postgres import PostgresTraceStore

            return PostgresTraceStore(url)
        return SQLiteTraceStore(self.settings.store.beside(".traces.db"))

    @cached_property
    def key_store(self) -> KeyStore:
        """API keys (``[api] keys_path`` overrides where the SQLite file lives)."""
        if (url := self._postgres) is not None:
            from quarry.stores.postgres import PostgresKeyStore

            return PostgresKeyStore(url)
        return SQLiteKeyStore(self.settings.api.keys_path or self.settings.store.beside(".keys.db"))

    @cached_property
    def job_store(self) -> JobStore:
        """Ingest jobs every API worker process shares."""
        if (url := self._postgres) is not None:
            from quarry.stores.postgres import PostgresJobStore

            return PostgresJobStore(url)
        return SQLiteJobStore(self.settings.store.beside(".jobs.db"))

    @cached_property
    def prompt_store(self) -> PromptStore:
        """Prompt versions and labels created at run time (``<store>.ops.db``, or the PostgreSQL database)."""
        if (url := self._postgres) is not None:
            from quarry.stores.postgres import PostgresPromptStore

            return PostgresPromptStore(url)
        return SQLitePromptStore(self.settings.store.beside(".ops.db"))

    @cached_property
    def experiment_store(self) -> ExperimentStore:
        if (url := self._postgres) is not None:
            from quarry.stores.postgres import PostgresExperimentStore

            return PostgresExperimentStore(url)
        return SQLiteExperimentStore(self.settings.store.beside(".ops.db"))

    @cached_property
    def feedback_store(self) -> FeedbackStore:
        if (url := self._postgres) is not None:
            from quarry.stores.postgres import PostgresFeedbackStore

            return PostgresFeedbackStore(url)
        return SQLiteFeedbackStore(self.settings.store.beside(".ops.db"))

    @cached_property
    def run_store(self) -> RunStore:
        """Agent runs and their approvals (``<store>.agents.db``, or the PostgreSQL database)."""
        if (url := self._postgres) is not None:
            from quarry.stores.postgres import PostgresRunStore

            return PostgresRunStore(url)
        return SQLiteRunStore(self.settings.store.beside(".agents.db"))

    @cached_property
    def memory_store(self) -> MemoryStore:
        """Each user's long-term agent memory."""
        if (url := self._postgres) is not None:
            from quarry.stores.postgres import PostgresMemoryStore

            return PostgresMemoryStore(url)
        return SQLiteMemoryStore(self.settings.store.beside(".agents.db"))

    @cached_property
    def sql_reader(self) -> ReadOnlySql:
        """The read-only database of the ``sql_query`` tool (``[agents.sql]``)."""
        from quarry.agents.sql_tool import ReadOnlySql

        return ReadOnlySql(self.settings.agents.sql)

    @cached_property
    def prompts(self) -> PromptRegistry:
        return PromptRegistry(self.prompt_store, self.experiment_store, label=self.settings.generation.prompt_label)

    @cached_property
    def model_store(self) -> ModelStore:
        """The model registry's entries and moves (``<store>.ops.db``, or the PostgreSQL database)."""
        return build_model_store(self.settings)

    @cached_property
    def embedders(self) -> EmbedderResolver:
        """The embedder of any model id a collection was built with (the configured one, or a tuned one)."""
        return EmbedderResolver(self.embedder, self.model_store, threads=self.settings.embeddings.threads)

    @cached_property
    def embedder(self) -> Embedder:
        inner = build_embedder(self.settings.embeddings)
        if not self.settings.embeddings.cache:
            return inner
        cache_path = self.settings.store.beside(".embeddings.db")
        return CachedEmbedder(inner, EmbeddingCache(cache_path))

    @cached_property
    def parsers(self) -> ParserRegistry:
        ingest = self.settings.ingest  # a compressed file may inflate to the same limit as a plain one
        return default_registry(pdf_tables=ingest.pdf_tables, max_bytes=int(ingest.max_file_mb * 1e6))

    @cached_property
    def tracer(self) -> Tracer:
        sinks: list[SpanSink] = []
        if self.settings.tracing.enabled:
            sinks.append(self.trace_store)
            if self.settings.tracing.otlp_endpoint:
                sinks.append(OtelSink.otlp(self.settings.tracing.otlp_endpoint, self.settings.tracing.service_name))
        return Tracer(sinks)

    @cached_property
    def ingestor(self) -> Ingestor:
        ingest = self.settings.ingest
        embedder, parse_units, window = self.embedder, None, 1
        if ingest.engine == "ray":  # parsing and embedding on Ray workers; checks, chunking and writes here
            from quarry.pipeline.ray_engine import RayEmbedder, connect, ray_parse_units

            connect(ingest.ray_address, ingest.ray_workers)
            local = self.embedder.inner if isinstance(self.embedder, CachedEmbedder) else self.embedder
            remote = RayEmbedder(partial(build_embedder, self.settings.embeddings), local, ingest.ray_workers)
            embedder = (
                CachedEmbedder(remote, self.embedder.cache) if isinstance(self.embedder, CachedEmbedder) else remote
            )
            registry = partial(default_registry, pdf_tables=ingest.pdf_tables, max_bytes=int(ingest.max_file_mb * 1e6))
            parse_units, window = ray_parse_units(registry, ingest.ray_workers), ingest.parse_window
        return Ingestor(
            self.store, embedder, self.parsers, self.settings.chunking, self.tracer,
            batch_chunks=ingest.batch_chunks, access=self.settings.access, screen=IngestGuards(self.guardrails),
            parse_units=parse_units, window=window, embedders=self.embedders,
        )  # fmt: skip

    @cached_property
    def searcher(self) -> Searcher:
        retrieval = self.settings.retrieval
        expansion = retrieval.query_expansion
        if expansion.kind == "none":
            return Searcher(
                self.store, self.embedder, self.tracer, retrieval, reranker=self.reranker, embedders=self.embedders
            )
        prompts = {ref: load_prompt(ref) for ref in (expansion.hyde_prompt, expansion.multi_query_prompt)}
        return Searcher(
            self.store,
            self.embedder,
            self.tracer,
            retrieval,
            reranker=self.reranker,
            chat=self.chat_model,
            prompts=prompts,
            embedders=self.embedders,
        )

    @cached_property
    def router(self) -> Router:
        routing = self.settings.retrieval.routing
        return Router(
            self.store,
            self.embedder,
            k=routing.k,
            description_weight=routing.description_weight,
            margin=routing.margin,
            max_collections=routing.max_collections,
            embedder_for=self.embedders,
        )

    @cached_property
    def reranker(self) -> Reranker | None:
        """The configured second stage (``[retrieval.rerank]``), or None; heavy models load here."""
        settings = self.settings.retrieval.rerank
        cache_path = self.settings.store.beside(".rerank.db")
        if settings.kind == "none":
            return None
        if settings.kind == "llm":
            return LLMJudgeReranker(self.chat_model, weight=settings.weight, max_candidates=settings.depth)
        if settings.kind == "cross-encoder":
            return CrossEncoderReranker(settings.model, weight=settings.weight)
        cache = EmbeddingCache(cache_path)
        if settings.kind == "e5":
            return E5Reranker(weight=settings.weight, cache=cache, threads=settings.threads)
        return SentenceTransformerReranker(
            settings.model, weight=settings.weight, cache=cache, threads=settings.threads
        )

    @cached_property
    def chat_model(self) -> ChatModel:
        """The configured chat model with retries, fallback and metering (see ``quarry.llm.factory``); a local
        model serves the model registry's production adapter and follows its promotions and rollbacks."""
        return served_chat_model(self.settings, self.model_store)

    def refresh_chat_model(self) -> bool:
        """Serve the registry's production chat adapter now rather than at the next check; True if it changed."""
        model = self.__dict__.get("chat_model")
        return isinstance(model, ReloadingChatModel) and model.refresh()

    @cached_property
    def guardrails(self) -> Guardrails:
        """The configured guards; the injection probe embeds with the collection's query encoder."""
        embedder = self.embedder
        return Guardrails(self.settings.guardrails, embed=embedder.embed_query, model_id=embedder.model_id)

    @property
    def context_window(self) -> int:
        """The chat model's context in tokens (the local server's ``n_ctx``; 128k for hosted models)."""
        llm = self.settings.llm
        return self.settings.generation.context_window or (llm.local.n_ctx if llm.provider == "local" else 128_000)

    @cached_property
    def answerer(self) -> Answerer:
        window = self.context_window
        return Answerer(
            self.searcher,
            self.store,
            self.chat_model,
            settings=self.settings.generation,
            tracer=self.tracer,
            context_window=window,
            guardrails=self.guardrails,
            cache=self.answer_cache,
            registry=self.prompts,
            models=self.chat_model_named,
        )

    def chat_model_named(self, name: str) -> ChatModel:
        """The configured provider's model ``name`` (for an experiment arm), built once and kept."""
        if name not in self._arm_models:
            llm = self.settings.llm
            if llm.provider == "local":
                changed = llm.model_copy(update={"local": llm.local.model_copy(update={"model": name})})
            else:
                changed = llm.model_copy(update={"model": name})
            self._arm_models[name] = build_chat_model(changed)
        return self._arm_models[name]

    @cached_property
    def answer_cache(self) -> SemanticCache | None:
        """The semantic answer cache (``[cache]``): SQLite beside the store, or Redis when ``[cache] url`` (or,
        failing that, ``[api] redis_url``) is set."""
        settings = self.settings.cache
        if not settings.enabled:
            return None
        backend: AnswerCacheBackend
        if url := settings.url or self.settings.api.redis_url:
            backend = RedisAnswerCache.from_url(url, ttl_s=settings.ttl_s)
        else:
            backend = SQLiteAnswerCache(self.settings.store.beside(".answers.db"))
        return SemanticCache(backend, threshold=settings.threshold, ttl_s=settings.ttl_s)

    def close(self) -> None:
        if "chat_model" in self.__dict__:
            self.__dict__["chat_model"].close()
        for model in self._arm_models.values():
            model.close()
        for name in ("store", "trace_store", "key_store", "job_store", "prompt_store", "experiment_store",
                     "feedback_store", "run_store", "memory_store", "model_store", "sql_reader"):  # fmt: skip
            if name in self.__dict__:
                self.__dict__[name].close()
        if self.__dict__.get("answer_cache") is not None:
            self.__dict__["answer_cache"].close()
        embedder = self.__dict__.get("embedder")
        if isinstance(embedder, CachedEmbedder):
            embedder.cache.close()
        cache = getattr(self.__dict__.get("reranker"), "cache", None)
        if isinstance(cache, EmbeddingCache):
            cache.close()


def build(settings: Settings) -> Quarry:
    return Quarry(settings)


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    if settings.provider == "local":
        if settings.model not in MiniLMEmbedder.aliases:
            raise ConfigError(
                f"the local embedder ships {MiniLMEmbedder.aliases[0]} only, not {settings.model!r}",
                key="embeddings.model",
                hint="use model = 'all-MiniLM-L6-v2', or provider = 'openai' with a base_url",
            )
        return MiniLMEmbedder.from_settings(settings)
    if not settings.base_url:
        raise ConfigError(
            "the openai embedding provider needs a base_url",
            key="embeddings.base_url",
            hint="set [embeddings] base_url = 'https://api.openai.com/v1' (or your server's /v1 URL)",
        )
    return OpenAICompatibleEmbedder(
        base_url=settings.base_url,
        model=settings.model,
        api_key_env=settings.api_key_env,
        dimension=settings.dimension,
        batch_size=settings.batch_size,
    )
