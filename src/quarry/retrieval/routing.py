"""Query routing: which of several collections a query should be searched in.

Two signals, both from what the store already offers:

- **content** — the mean cosine of the query's ``k`` nearest chunks in the collection
  (``Store.rank_vector``). It needs no profile to be built and follows the collection as it changes.
  Top-1 alone is noisy (one stray chunk), the mean of the top 5 is steadier.
- **description** — the cosine between the query and the embedded ``CollectionInfo.description``.
  It carries the owner's intent ("biomedical abstracts") but is one short text, so it is weaker; an
  empty description contributes nothing and the content signal decides alone.

A collection embedded with another model (a tuned embedder promoted for it) gets its content signal from the
query embedded with *that* model (``embedder_for``; once per model and query); without ``embedder_for`` it
only gets the description signal. One with neither signal scores 0.

The score is ``description_weight · description + (1 - description_weight) · content``. Every
collection within ``margin`` of the best score is searched (the best always is), at most
``max_collections``. Cosines of unrelated text with MiniLM sit around 0.0-0.2 and of related text
around 0.4-0.7, so a small margin keeps genuinely ambiguous queries on several collections while
dropping the clearly unrelated ones. Defaults were chosen with ``bench/routing.py`` (see RESULTS.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from quarry.embeddings.base import Embedder
from quarry.errors import ConfigError
from quarry.retrieval.fusion import Ranked, rrf
from quarry.stores.base import CollectionInfo, Store
from quarry.types import Matrix

__all__ = ["Route", "Router", "fuse_collections"]


@dataclass(frozen=True, slots=True)
class Route:
    """One collection's fit for a query; ``None`` marks a signal that was not available."""

    collection: str
    score: float
    content: float | None
    description: float | None
    selected: bool = False


class Router:
    """Ranks collections for a query and picks the ones to search (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        *,
        k: int = 5,
        description_weight: float = 0.3,
        margin: float = 0.05,
        max_collections: int | None = None,
        embedder_for: Callable[[str], Embedder] | None = None,
    ) -> None:
        if k < 1 or not 0.0 <= description_weight <= 1.0 or margin < 0:
            raise ConfigError(
                f"bad routing settings k={k}, description_weight={description_weight}, margin={margin}",
                key="routing",
                hint="k >= 1, description_weight in [0, 1], margin >= 0",
            )
        self.store, self.embedder, self.embedder_for = store, embedder, embedder_for
        self.k, self.description_weight, self.margin = k, description_weight, margin
        self.max_collections = max_collections
        self._descriptions: dict[tuple[str, str], Matrix] = {}
        self._lock = threading.Lock()

    def rank(
        self, query: str, collections: Sequence[str] | None = None, *, vector: Matrix | None = None
    ) -> list[Route]:
        """Every candidate collection (all when ``collections`` is None), best first, ``selected`` set.
        ``vector``: ``query`` already embedded by this router's embedder."""
        infos = self._infos(collections)
        vector = self.embedder.embed_query(query) if vector is None else vector
        vectors = {self.embedder.model_id: vector}
        scored = sorted((self._score(info, query, vectors) for info in infos), key=lambda r: (-r.score, r.collection))
        return self._select(scored)

    def route(self, query: str, collections: Sequence[str] | None = None) -> list[str]:
        """The names of the collections to search, best first."""
        return [r.collection for r in self.rank(query, collections) if r.selected]

    def _infos(self, collections: Sequence[str] | None) -> list[CollectionInfo]:
        if collections is None:
            return self.store.collections()
        if not collections:
            raise ConfigError("routing needs at least one collection", key="collections")
        return [self.store.collection(name) for name in dict.fromkeys(collections)]

    def _score(self, info: CollectionInfo, query: str, vectors: dict[str, Matrix]) -> Route:
        content = self._content(info, query, vectors)
        description = self._description(info, vectors[self.embedder.model_id])
        if content is None and description is None:
            return Route(info.name, 0.0, None, None)
        if content is None or description is None:
            score = content if content is not None else description
        else:
            score = self.description_weight * description + (1 - self.description_weight) * content
        assert score is not None
        return Route(info.name, score, content, description)

    def _content(self, info: CollectionInfo, query: str, vectors: dict[str, Matrix]) -> float | None:
        """The mean cosine of the query's nearest chunks, the query embedded with the collection's own model."""
        if info.chunks == 0:
            return None
        model = info.embedder or self.embedder.model_id
        vector = vectors.get(model)
        if vector is None:
            if self.embedder_for is None:
                return None
            vector = vectors[model] = self.embedder_for(model).embed_query(query)
        nearest = self.store.rank_vector(info.name, vector, self.k)
        return float(np.mean([score for _, score in nearest])) if nearest else None

    def _description(self, info: CollectionInfo, vector: Matrix) -> float | None:
        text = info.description.strip()
        if not text:
            return None
        key = (info.name, text)
        with self._lock:
            embedded = self._descriptions.get(key)
        if embedded is None:
            embedded = self.embedder.embed_query(text)
            with self._lock:
                self._descriptions[key] = embedded
        return float(np.dot(embedded, vector))

    def _select(self, ranked: list[Route]) -> list[Route]:
        if not ranked:
            return []
        best = ranked[0].score
        limit = self.max_collections or len(ranked)
        chosen: list[Route] = []
        for i, route in enumerate(ranked):
            keep = i == 0 or (i < limit and route.score >= best - self.margin)
            chosen.append(Route(route.collection, route.score, route.content, route.description, keep))
        return chosen


def fuse_collections(runs: Mapping[str, Ranked], *, k: float = 60.0) -> list[tuple[str, str, float]]:
    """One ranking of ``(collection, key, score)`` from each collection's own ranking, by RRF.

    Scores from different collections are not comparable (BM25 statistics differ per collection), so
    only ranks are used; keys are prefixed internally because they are opaque per collection.
    """
    tagged = [[(f"{name}\x00{key}", score) for key, score in run] for name, run in runs.items()]
    fused: list[tuple[str, str, float]] = []
    for tag, score in rrf(tagged, k=k):
        name, key = tag.split("\x00", 1)
        fused.append((name, key, score))
    return fused
