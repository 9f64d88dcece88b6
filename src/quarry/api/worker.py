"""The app of one ``quarry serve --workers N`` process.

uvicorn starts each worker process by importing :func:`create_worker_app` (a factory), so what the
parent knew — the config file and the serve options — travels in one environment variable,
:data:`OPTIONS_ENV`, as JSON. Each worker then builds its own system (store connections, model,
indexes, result cache): nothing in memory is shared between workers. Jobs and keys are shared through
their SQLite files; rate limits and the result cache are per process (see :func:`create_app`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fastapi import FastAPI

from quarry.api.app import create_app
from quarry.assembly import build
from quarry.cache.results import ResultCacheConfig
from quarry.errors import ConfigError
from quarry.settings import load_settings

__all__ = ["OPTIONS_ENV", "ServeOptions", "create_worker_app"]

OPTIONS_ENV = "QUARRY_SERVE_OPTIONS"


@dataclass(frozen=True)
class ServeOptions:
    config: str | None = None
    workers: int = 1
    cache: ResultCacheConfig = field(default_factory=ResultCacheConfig)
    metrics_token_env: str = "QUARRY_METRICS_TOKEN"

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, text: str) -> ServeOptions:
        data = json.loads(text)
        return cls(
            config=data["config"],
            workers=int(data["workers"]),
            cache=ResultCacheConfig(**data["cache"]),
            metrics_token_env=data["metrics_token_env"],
        )


def create_worker_app() -> FastAPI:
    text = os.environ.get(OPTIONS_ENV)
    if not text:
        raise ConfigError(
            f"{OPTIONS_ENV} is not set", key=OPTIONS_ENV, hint="start worker processes with `quarry serve --workers N`"
        )
    options = ServeOptions.from_env(text)
    quarry = build(load_settings(Path(options.config) if options.config else None))
    return create_app(
        quarry,
        quarry.settings,
        cache=options.cache,
        metrics_token=os.environ.get(options.metrics_token_env),
        workers=options.workers,
        close_quarry=True,
    )
