"""The app of one ``quarry serve --workers N`` process.

uvicorn starts each worker process by importing :func:`create_worker_app` (a factory), so what the
parent knew — the config file and the worker count — travels in one environment variable,
:data:`OPTIONS_ENV`, as JSON; command-line overrides of settings travel as ``QUARRY_*`` variables.
Each worker then builds its own system (store connections, model,
indexes, result cache): nothing in memory is shared between workers. Jobs and keys are shared through
their SQLite files; rate limits and the result cache are per process (see :func:`create_app`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from fastapi import FastAPI

from quarry.api.access_log import enable_access_log
from quarry.api.app import create_app
from quarry.assembly import build
from quarry.errors import ConfigError
from quarry.settings import load_settings

__all__ = ["OPTIONS_ENV", "ServeOptions", "create_worker_app"]

OPTIONS_ENV = "QUARRY_SERVE_OPTIONS"


@dataclass(frozen=True)
class ServeOptions:
    """What the parent process knew that settings do not hold: the config file and the worker count.
    (Everything else, command-line overrides included, travels as ``QUARRY_*`` settings variables.)"""

    config: str | None = None
    workers: int = 1

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, text: str) -> ServeOptions:
        data = json.loads(text)
        return cls(config=data["config"], workers=int(data["workers"]))


def create_worker_app() -> FastAPI:
    text = os.environ.get(OPTIONS_ENV)
    if not text:
        raise ConfigError(
            f"{OPTIONS_ENV} is not set", key=OPTIONS_ENV, hint="start worker processes with `quarry serve --workers N`"
        )
    options = ServeOptions.from_env(text)
    quarry = build(load_settings(Path(options.config) if options.config else None))
    if quarry.settings.api.access_log:
        enable_access_log()
    return create_app(quarry, quarry.settings, workers=options.workers, close_quarry=True)
