"""Settings, read once at the edge from ``quarry.toml`` and ``QUARRY_*`` environment variables.

Precedence: explicit arguments > environment (``QUARRY_STORE__PATH``) > ``quarry.toml`` > defaults.
Secrets are never stored here: settings name the environment variable that holds them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from quarry.errors import ConfigError
from quarry.settings.agents import AgentSettings, McpServerSettings, SqlToolSettings
from quarry.settings.answers import CacheSettings, EvaluationSettings, GenerationSettings
from quarry.settings.api import ApiSettings
from quarry.settings.diagnose import explain_validation, missing_secrets, read_toml
from quarry.settings.guards import GuardrailSettings
from quarry.settings.llm import LLMBudgetSettings, LLMProviderSettings, LLMSettings, LocalModelSettings, PriceSettings
from quarry.settings.retrieval import CollectionRetrieval, RetrievalSettings
from quarry.settings.section import Section

__all__ = [
    "AccessRule",
    "AccessSettings",
    "AgentSettings",
    "ApiSettings",
    "CacheSettings",
    "ChunkingSettings",
    "EmbeddingSettings",
    "EvaluationSettings",
    "GenerationSettings",
    "GuardrailSettings",
    "IngestSettings",
    "LLMBudgetSettings",
    "LLMProviderSettings",
    "LLMSettings",
    "LocalModelSettings",
    "McpServerSettings",
    "PriceSettings",
    "RetrievalSettings",
    "Settings",
    "SqlToolSettings",
    "StoreSettings",
    "TracingSettings",
    "TuningSettings",
    "config_file",
    "home_folder",
    "load_settings",
    "named_secrets",
]

CONFIG_FILE = "quarry.toml"


class StoreSettings(Section):
    url: str | None = Field(
        None,
        description="the engine: sqlite:///path/to/quarry.db (default: path below) or postgresql://user@host/db",
    )
    path: Path = Field(
        Path(".quarry/quarry.db"), description="the SQLite file (when url is unset); caches and runs sit beside it"
    )
    ann_threshold: int = Field(
        20_000,
        description="collections with more chunks also get an HNSW index (exact search passes 5 ms near 20k); "
        "0 or less: never",
    )
    ann_connectivity: int = Field(16, ge=2, description="HNSW M")
    ann_expansion_add: int = Field(128, ge=1, description="HNSW ef_construction")
    ann_expansion_search: int = Field(64, ge=1, description="HNSW ef_search (recall@10 0.989 on SciFact)")
    bm25_k1: float = Field(
        0.9, ge=0, description="BM25 term saturation; 0.9 and bm25_b 0.4 (Anserini's defaults) chosen on SciFact train"
    )
    bm25_b: float = Field(0.4, ge=0, le=1, description="BM25 length normalisation")

    @field_validator("url")
    @classmethod
    def _known_engine(cls, url: str | None) -> str | None:
        if url is None:
            return None
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "sqlite" and (not url[7:].startswith("///") or len(url) <= 10):
            raise ValueError("write sqlite:///relative/path.db or sqlite:////absolute/path.db")
        if scheme not in ("sqlite", "postgresql", "postgres") and not scheme.startswith("postgresql+"):
            raise ValueError("use sqlite:///path/to/quarry.db (the default) or postgresql://user@host/db")
        return url

    def beside(self, suffix: str) -> Path:
        """A side file next to the store (``quarry.db`` → ``quarry<suffix>``): caches, traces, keys, jobs."""
        return self.path.with_name(self.path.stem + suffix)

    @property
    def engine(self) -> Literal["sqlite", "postgresql"]:
        return "postgresql" if self.url and not self.url.lower().startswith("sqlite:") else "sqlite"

    @property
    def dsn(self) -> str | None:
        """The PostgreSQL URL in the form psycopg takes (``postgresql://``, no ``+driver``); None for SQLite."""
        if self.engine != "postgresql" or self.url is None:
            return None
        scheme, _, rest = self.url.partition("://")
        return self.url if scheme.lower() == "postgresql" else f"postgresql://{rest}"

    @property
    def where(self) -> str:
        """Where the knowledge base lives, for messages: the SQLite file, or the database URL without its password."""
        if self.engine == "sqlite" or self.url is None:
            return str(self.path)
        from quarry.settings.effective import mask

        return str(mask("store.url", self.url))

    def sqlite_file(self) -> Path | None:
        """The file a ``sqlite:///`` URL names (relative paths are relative to the config file), else None."""
        if not self.url or self.engine != "sqlite":
            return None
        return Path(self.url[10:])


class EmbeddingSettings(Section):
    provider: Literal["local", "openai"] = "local"
    model: str = Field("all-MiniLM-L6-v2", description="model name; the local provider ships MiniLM only")
    batch_size: int = Field(16, ge=1, le=1024, description="texts per model call (16 measured fastest on 2 cores)")
    threads: int = Field(0, ge=0, description="onnxruntime intra-op threads; 0 = all cores")
    query_model: Literal["dynamic-int8", "packaged"] = Field(
        "dynamic-int8",
        description="local MiniLM only: encode queries with an int8-matmul twin of the packaged model "
        "(2x faster, cosine 0.994 with it; documents always use the packaged model)",
    )
    query_threads: int = Field(1, ge=0, description="onnxruntime threads for one query; 0 = all cores")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key")
    dimension: int | None = Field(None, description="vector size of a remote model (probed when unset)")
    cache: bool = True


class ChunkingSettings(Section):
    max_tokens: int = Field(200, ge=16, description="chunk budget in the embedder's own tokens")
    overlap_tokens: int = Field(24, ge=0)


class IngestSettings(Section):
    max_file_mb: float = Field(64.0, gt=0, description="larger files are skipped and reported")
    include: list[str] = Field(default_factory=list, description="glob patterns; empty = everything")
    exclude: list[str] = Field(default_factory=list, description="gitignore-style patterns")
    url_timeout_s: float = Field(30.0, gt=0, description="seconds a URL fetch may wait for the next bytes")
    url_deadline_s: float = Field(120.0, gt=0, description="seconds a whole URL fetch may take, however it drips")
    batch_chunks: int = Field(512, ge=1, description="chunks embedded and committed together")
    pdf_tables: bool = Field(
        True,
        description="PDF tables as Markdown tables (pdfplumber): closer to the reference conversions (0.91 vs 0.84) "
        "and answerable by row, at ~35x the parse time of plain text (bench/RESULTS.md, Document conversion)",
    )
    engine: Literal["local", "ray"] = Field(
        "local", description="where parsing and embedding run: this process, or a Ray cluster (quarry[ray])"
    )
    ray_address: str | None = Field(
        None, description="Ray cluster to join (ray://host:10001 or 'auto'); None starts a local one"
    )
    ray_workers: int = Field(2, ge=1, le=1024, description="Ray parse and embedding workers")
    parse_window: int = Field(64, ge=1, description="files handed to Ray workers at once (memory: their bytes)")


class TracingSettings(Section):
    enabled: bool = True
    otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces"
    )
    service_name: str = "quarry"


class TuningSettings(Section):
    """``quarry tune`` and ``quarry models``: where tuned models live and how promotion is gated."""

    folder: str = Field("", description='tuned models\' files; "" = "<store>.models/" beside the store')
    alpha: float = Field(
        0.05, gt=0, lt=1, description="a candidate is promoted only if it beats production with p below this"
    )
    reload_s: float = Field(
        10.0,
        ge=0,
        description="how often a serving process checks for a newly promoted (or rolled back) chat "
        "adapter, in seconds; it serves it from its next call on (0 = before every call)",
    )


class AccessRule(Section):
    glob: str = Field(description="gitignore-style pattern over a document's relative path (else its uri)")
    principals: list[str] = Field(description="who may see matching documents, e.g. ['group:hr', 'user:ann']")


class AccessSettings(Section):
    """Who may see a document: its source's own ``principals`` metadata, else the first matching rule,
    else ``default_principals``. Changing these re-labels stored documents on the next ingest."""

    rules: list[AccessRule] = Field(default_factory=list)
    default_principals: list[str] = Field(default_factory=lambda: ["public"])
    unlabelled_public: bool = Field(
        False, description="treat documents stored before access labels existed as public (else hidden)"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QUARRY_", env_nested_delimiter="__", extra="forbid")

    store: StoreSettings = StoreSettings()
    embeddings: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    ingest: IngestSettings = IngestSettings()
    tracing: TracingSettings = TracingSettings()
    llm: LLMSettings = LLMSettings()
    generation: GenerationSettings = GenerationSettings()
    access: AccessSettings = AccessSettings()
    api: ApiSettings = ApiSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    guardrails: GuardrailSettings = GuardrailSettings()
    cache: CacheSettings = CacheSettings()
    agents: AgentSettings = AgentSettings()
    tuning: TuningSettings = TuningSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_path)
        return (init_settings, env_settings, toml)


_config_path: Path = Path(CONFIG_FILE)


HOME_ENV = "QUARRY_HOME"


def home_folder(home: Path | None = None) -> Path:
    """Where quarry.toml and the data live: ``home``, else ``$QUARRY_HOME``, else the current folder."""
    chosen = home or (Path(os.environ[HOME_ENV]) if os.environ.get(HOME_ENV) else None)
    return chosen.expanduser().resolve() if chosen else Path.cwd()


def config_file(config: Path | None = None, home: Path | None = None) -> Path:
    """The settings file used: ``config`` if given, else ``quarry.toml`` in the home folder."""
    return config if config is not None else home_folder(home) / CONFIG_FILE


def load_settings(config: Path | None = None, *, home: Path | None = None, check_secrets: bool = True) -> Settings:
    """Read settings from ``config`` (default ``quarry.toml`` in the home folder) and the environment.

    A relative store path is resolved against the config file's folder (or the home folder when there
    is no file). Errors name the file, line and key; ``check_secrets`` also refuses API key variables
    that are named but unset.
    """
    global _config_path
    path = config_file(config, home)
    if config is not None and not config.is_file():
        raise ConfigError(f"config file {config} does not exist", key="config", hint="run `quarry init` to create one")
    if path.is_file():
        read_toml(path)  # a syntax error is reported as file:line:column before pydantic sees the file
    _config_path = path
    try:
        settings = Settings()
    except ValidationError as exc:
        raise explain_validation(exc, Settings, path) from None
    finally:  # a later plain Settings() reads ./quarry.toml again, not this file
        _config_path = Path(CONFIG_FILE)
    base = path.parent if path.is_file() else home_folder(home)
    if not settings.store.path.is_absolute():
        settings.store.path = (base / settings.store.path).resolve()
    sqlite_file = settings.store.sqlite_file()
    if sqlite_file is not None:  # the URL names the file everything sits beside
        settings.store.path = sqlite_file if sqlite_file.is_absolute() else (base / sqlite_file).resolve()
    if check_secrets and (problem := missing_secrets(named_secrets(settings))) is not None:
        raise problem
    return settings


def named_secrets(settings: Settings) -> list[tuple[str, str]]:
    """(setting, variable) for every API key the configured remote providers will read at start."""
    named: list[tuple[str, str]] = []
    embeddings = settings.embeddings
    if embeddings.provider != "local" and ("api_key_env" in embeddings.model_fields_set or not embeddings.base_url):
        named.append(("embeddings.api_key_env", embeddings.api_key_env))
    chat_models = [("llm", settings.llm), *((f"llm.fallback.{i}", f) for i, f in enumerate(settings.llm.fallback))]
    for where, model in chat_models:
        if model.provider == "local" or (model.api_key_env is None and model.base_url):
            continue
        default = "ANTHROPIC_API_KEY" if model.provider == "anthropic" else "OPENAI_API_KEY"
        named.append((f"{where}.api_key_env", model.api_key_env or default))
    return named


def save_collection_overrides(config: Path, collection: str, overrides: Mapping[str, object]) -> Path:
    """Write ``overrides`` to ``[retrieval.collections.<collection>]`` in ``config``, keeping the
    rest of the file (comments included) as it is; creates the file if missing."""
    import tomlkit

    CollectionRetrieval.model_validate(dict(overrides))  # refuse to write what would not load
    document = tomlkit.parse(config.read_text(encoding="utf-8")) if config.is_file() else tomlkit.document()
    retrieval = document.setdefault("retrieval", tomlkit.table())
    collections = retrieval.setdefault("collections", tomlkit.table(is_super_table=True))
    table = tomlkit.table()
    for key, value in overrides.items():
        table[key] = value
    collections[collection] = table
    config.write_text(tomlkit.dumps(document), encoding="utf-8")
    return config
