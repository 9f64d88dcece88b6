"""Ingestion on a Ray cluster (``[ingest] engine = "ray"`` or ``quarry ingest --engine ray``): parsing and
embedding run on Ray workers, everything else stays in the driver — the source listing, the unchanged-unit and
unchanged-document checks (so nothing unchanged is parsed, embedded or written), chunking, the embedding cache,
progress, and the one transactional store write per batch. The store therefore ends exactly as a single-process
ingest leaves it (tests/pipeline/test_ray.py).

Workers are Ray actors, each building its parser registry and embedder once from picklable factories, so a
model is loaded once per worker, not per task. ``ray`` is imported only when this engine is used (extra
``quarry[ray]``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from quarry.embeddings.base import Embedder
from quarry.errors import ConfigError, ParseError
from quarry.ingest.parsers import ParserRegistry
from quarry.pipeline.ingest import Parsed, ParseUnits, parse_each
from quarry.types import Document, Matrix, RawDocument

__all__ = ["RayEmbedder", "RemoteParseError", "connect", "ray_parse_units"]


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError("[ingest] engine = 'ray' needs Ray", key="ingest.engine",
                          hint="pip install 'quarry[ray]', or use engine = 'local'") from exc  # fmt: skip
    return ray


def connect(address: str | None, workers: int) -> None:
    """Join the cluster at ``address`` (None: start a local one with ``workers`` CPUs) unless already joined."""
    ray = _ray()
    if not ray.is_initialized():
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address is None:
            options["num_cpus"] = workers
        ray.init(address=address, **options)


Shipped = list[Document] | tuple[str, str, str, str]  # documents, or a ParseError as (message, reason, uri, hint)


class _ParseWorker:
    def __init__(self, factory: Callable[[], ParserRegistry]) -> None:
        self.parse = parse_each(factory())

    def parse_all(self, items: Sequence[RawDocument]) -> list[Shipped]:
        """Errors travel as plain tuples: an exception with keyword-only fields does not survive pickling."""
        return [(str(p), p.reason, p.uri, p.hint) if isinstance(p, ParseError) else p for p in self.parse(items)]


class RemoteParseError(ParseError):
    """A worker's :class:`ParseError`, with the reason it gave."""

    def __init__(self, message: str, *, reason: str, uri: str, hint: str = "") -> None:
        super().__init__(message, uri=uri, hint=hint)
        self.reason = reason


def _landed(shipped: Shipped) -> Parsed:
    if isinstance(shipped, tuple):
        message, reason, uri, hint = shipped
        return RemoteParseError(message, reason=reason, uri=uri, hint=hint)
    return shipped


class _EmbedWorker:
    def __init__(self, factory: Callable[[], Embedder]) -> None:
        self.embedder = factory()

    def embed(self, texts: Sequence[str]) -> Matrix:
        return self.embedder.embed(texts)


def ray_parse_units(factory: Callable[[], ParserRegistry], workers: int) -> ParseUnits:
    """Parse a window of units spread over ``workers`` Ray actors (results in the units' order)."""
    ray = _ray()
    actors = [ray.remote(num_cpus=0.5)(_ParseWorker).remote(factory) for _ in range(workers)]

    def parse(items: Sequence[RawDocument]) -> list[Parsed]:
        shares = [list(items[i :: len(actors)]) for i in range(len(actors))]
        parts = ray.get([actor.parse_all.remote(share) for actor, share in zip(actors, shares, strict=True) if share])
        found: dict[int, Parsed] = {}
        for i, part in enumerate(parts):  # share i holds units i, i + workers, …
            found.update(zip(range(i, len(items), len(actors)), map(_landed, part), strict=True))
        return [found[j] for j in range(len(items))]

    return parse


class RayEmbedder(Embedder):
    """Embeds on ``workers`` Ray actors, each with its own copy of the model; token counts come from ``local``
    (the same model in the driver, used for chunking), so ids, dimensions and chunk boundaries are identical."""

    def __init__(self, factory: Callable[[], Embedder], local: Embedder, workers: int) -> None:
        ray = _ray()
        self.local, self._get = local, ray.get
        self.model_id, self.dimension, self.max_tokens = local.model_id, local.dimension, local.max_tokens
        self.batch_size = local.batch_size
        self.actors = [ray.remote(num_cpus=0.5)(_EmbedWorker).remote(factory) for _ in range(workers)]
        self.embedded = 0  # texts sent to the workers (the ingest report's "embedded")

    def count_tokens(self, text: str) -> int:
        return self.local.count_tokens(text)

    def embed(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        size = -(-len(texts) // len(self.actors))
        shards = [list(texts[i : i + size]) for i in range(0, len(texts), size)]
        parts = self._get([actor.embed.remote(shard) for actor, shard in zip(self.actors, shards, strict=False)])
        self.embedded += len(texts)
        return np.concatenate([np.asarray(p, dtype=np.float32) for p in parts])

    def _embed(self, texts: Sequence[str]) -> Matrix:
        return self.embed(texts)
