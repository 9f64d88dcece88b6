"""Approximate nearest-neighbour search (HNSW, by usearch) for collections too big for exact search.

Why and when: exact cosine (:mod:`.vectors`) over 384-d MiniLM vectors took 1.6 ms p50 for 12,517
chunks, 7.4 ms for 25,000, 13 ms for 50,000 and 56 ms for 200,000 (``bench/ann.py``, 2 shared
cores). Once the matrix outgrows the CPU cache the cost per row jumps, and 5 ms is crossed at
~20,000 chunks, hence the default ``threshold`` of 20,000. Above it a collection also gets an HNSW
index: 1.4 ms p50 at 200,000 chunks, recall@10 0.98 against exact. Results always come from the
snapshot the search runs in:

- **Never stale.** An index is tagged with the ``(collection id, generation)`` it reflects, and a
  search uses it only if that equals the generation of its own read snapshot. Otherwise the search
  is exact, and it asks the background worker to bring the index up to date.
- **Incremental.** One daemon thread per store does every build and update, off the query path.
  An update compares the new snapshot with the indexed one: chunk rowids that disappeared (or
  whose vector changed: SQLite can reuse the largest rowid, so a per-row fingerprint, a random
  projection of the vector, is compared too) are removed, new ones added. When more than half the
  rows changed it rebuilds instead.
- **Searches and the update never overlap.** A read/write gate lets any number of searches use the
  index, or the worker change it. While the worker waits for or holds the gate, searches go exact
  rather than wait.
- **Persisted.** After a build, and after updates that changed at least 1% of the rows since the
  last save, the index is saved to ``<store>.ann/<collection>.<id>.<generation>.usearch``
  (written to a temporary file, then renamed). A restarted process loads the file of its exact
  generation. If only an older one exists, it loads that and updates it from its own vectors. It
  rebuilds only when there is no file.
- **Filters** (``mask``, the allowed rows): when at most ``max(threshold, k)`` rows are allowed,
  exact search over just those rows is exact and fast, so the caller does that. Otherwise the index
  is searched for ``k / allowed-fraction × 2`` candidates and disallowed rows are dropped. The
  count widens 4× until ``k`` allowed rows are found. Past 4,096 candidates (or a quarter of the
  collection) it returns ``None`` and the caller searches exactly. (The exact path is also taken
  when HNSW returns fewer than ``k`` rows.) So ``k`` results always come back when ``k`` rows match.
- **Scores** of the returned rows are recomputed from the float32 matrix, so they equal the exact
  path's scores, and ties break the same way (higher score, then lower rowid).
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt
from usearch.index import Index

from quarry.stores.sqlite.vectors import LoadedVectors, Mask, RowIds
from quarry.types import Matrix

__all__ = ["AnnIndexes", "HnswParams"]

log = logging.getLogger(__name__)

_BATCH = 8192  # rows added per call while building: the worker checks for close() in between
_REBUILD_FRACTION = 0.5  # above this share of changed rows, a fresh build is cheaper than updates
_SAVE_FRACTION = 0.01  # save after updates once this share of rows changed since the last save
_OVERSAMPLE = 2.0
_WIDEN = 4
_MAX_CANDIDATES = 4096  # wider than this, exact search is about as fast


@dataclass(frozen=True, slots=True)
class HnswParams:
    """When to index and how (``threshold <= 0``: never). Defaults measured in ``bench/ann.py``."""

    threshold: int = 20_000
    connectivity: int = 16  # M: graph edges per node
    expansion_add: int = 128  # ef_construction
    expansion_search: int = 64  # ef_search (usearch uses max(ef, count) per search)

    def wanted(self, rows: int) -> bool:
        return 0 < self.threshold < rows


@dataclass(slots=True)
class _Built:
    """One collection's index and the snapshot it reflects (rowids ascending, with fingerprints)."""

    index: Index
    key: tuple[int, int]
    rowids: RowIds
    prints: Matrix
    unsaved: int = 0


class _Gate:
    """Many searches or one writer; a search never waits (it is told to go exact instead)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextmanager
    def read(self) -> Iterator[bool]:
        with self._cond:
            entered = not self._writing
            self._readers += entered
        try:
            yield entered
        finally:
            if entered:
                with self._cond:
                    self._readers -= 1
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writing = True
            self._cond.wait_for(lambda: self._readers == 0)
        try:
            yield
        finally:
            with self._cond:
                self._writing = False


def fingerprints(matrix: Matrix) -> Matrix:
    """A random projection per row: equal rows give equal values; changed rows practically never do."""
    probe = np.random.default_rng(matrix.shape[1]).standard_normal(size=(matrix.shape[1],), dtype=np.float32)
    if not len(matrix):
        return np.zeros(0, dtype=np.float32)
    prints: Matrix = np.einsum("ij,j->i", matrix, probe)
    return prints


class AnnIndexes:
    """The HNSW indexes of one store's collections, kept up to date by one background thread."""

    def __init__(self, folder: Path | None, params: HnswParams) -> None:
        self.folder = folder
        self.params = params
        self.counts = {"ann": 0, "widened": 0, "fallback": 0}  # searches served, for tests and benches
        self._built: dict[str, _Built] = {}
        self._pending: dict[str, LoadedVectors] = {}
        self._failed: dict[str, tuple[int, int]] = {}  # the snapshot a build failed for: not retried
        self._drops = 0  # bumped by drop(), so the worker never keeps an index of a deleted collection
        self._gates: dict[str, _Gate] = {}
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        self._closed = False

    # -- the query path

    def search(
        self, collection: str, loaded: LoadedVectors, query: Matrix, k: int, mask: Mask | None
    ) -> list[tuple[int, float]] | None:
        """Top ``k`` ``(rowid, score)`` of the allowed rows, or ``None`` if the caller must go exact."""
        with self._cond:
            built, gate = self._built.get(collection), self._gate(collection)
        if built is None or built.key != loaded.key:
            self.request(collection, loaded)
            return None
        with gate.read() as entered:
            if not entered or built.key != loaded.key:
                return None
            return self._filtered(built.index, loaded, query, k, mask)

    def _filtered(
        self, index: Index, loaded: LoadedVectors, query: Matrix, k: int, mask: Mask | None
    ) -> list[tuple[int, float]] | None:
        rows = len(loaded.rowids)
        allowed = rows if mask is None else int(np.count_nonzero(mask))
        most = max(k, min(rows // 4, _MAX_CANDIDATES))
        count = k if mask is None else min(math.ceil(k * rows / allowed * _OVERSAMPLE), most)
        while True:
            keys = np.asarray(index.search(query, count, threads=1).keys, dtype=np.int64)
            at = np.searchsorted(loaded.rowids, keys)
            if mask is not None:
                at = at[mask[at]]
            if len(at) >= k:
                self.counts["ann"] += 1
                return _rescored(loaded, query, at, k)
            if count >= most:
                self.counts["fallback"] += 1
                return None
            count = min(count * _WIDEN, most)
            self.counts["widened"] += 1

    # -- keeping indexes up to date

    def request(self, collection: str, loaded: LoadedVectors) -> None:
        """Ask the worker to index ``loaded`` (the newest request per collection wins)."""
        with self._cond:
            if self._closed or self._failed.get(collection) == loaded.key:
                return
            self._pending[collection] = loaded
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="quarry-ann", daemon=True)
                self._worker.start()
            self._cond.notify_all()

    def wait(self, collection: str, loaded: LoadedVectors) -> bool:
        """Request ``loaded`` and block until the worker has handled it; ``True`` if it is indexed."""
        self.request(collection, loaded)
        with self._cond:
            self._cond.wait_for(lambda: self._closed or self._pending.get(collection) is not loaded)
            return self._key(collection) == loaded.key

    def drop(self, collection: str) -> None:
        """Forget a deleted collection's index and delete its files."""
        with self._cond:
            self._built.pop(collection, None)
            self._pending.pop(collection, None)
            self._failed.pop(collection, None)
            self._drops += 1
        for _, _, path in self._files(collection):
            path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify_all()
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join()
        with self._cond:
            self._built.clear()

    def _key(self, collection: str) -> tuple[int, int] | None:
        built = self._built.get(collection)
        return None if built is None else built.key

    def _gate(self, collection: str) -> _Gate:
        return self._gates.setdefault(collection, _Gate())

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or bool(self._pending))
                if self._closed:
                    return
                collection = next(iter(self._pending))
                loaded, drops = self._pending[collection], self._drops
                current = self._built.get(collection)
            try:
                built = self._sync(collection, loaded, current)
            except Exception:  # an index is an optimisation: log, and let searches stay exact
                log.exception("could not build the ANN index of collection %r", collection)
                built = None
            with self._cond:
                if self._pending.get(collection) is loaded:
                    del self._pending[collection]
                if drops == self._drops:  # (a collection dropped meanwhile keeps nothing)
                    self._keep(collection, loaded, built)
                self._cond.notify_all()

    def _keep(self, collection: str, loaded: LoadedVectors, built: _Built | None) -> None:
        """Record the worker's result (a newer request may be pending: it starts from this one)."""
        if built is not None and built.key == loaded.key:
            self._built[collection] = built
        else:
            self._built.pop(collection, None)
            self._failed[collection] = loaded.key

    def _sync(self, collection: str, loaded: LoadedVectors, current: _Built | None) -> _Built | None:
        if current is None or current.key[0] != loaded.key[0]:
            current = self._load(collection, loaded)
        if current is not None and current.key == loaded.key:
            return current
        prints = fingerprints(loaded.matrix)
        if current is not None:
            with self._gate_of(collection).write():
                updated = self._update(current, loaded, prints)
            if updated:
                self._save_if_due(collection, current)
                return current
        built = self._build(loaded, prints)
        if built is not None:
            self._save(collection, built)
        return built

    def _gate_of(self, collection: str) -> _Gate:
        with self._cond:
            return self._gate(collection)

    def _update(self, built: _Built, loaded: LoadedVectors, prints: Matrix) -> bool:
        """Apply the difference in place; ``False`` if a rebuild is cheaper."""
        built.key = (-1, -1)  # matches no snapshot until the update is complete (or if it fails)
        common, old_at, new_at = np.intersect1d(built.rowids, loaded.rowids, assume_unique=True, return_indices=True)
        changed = common[built.prints[old_at] != prints[new_at]]
        removed = np.union1d(np.setdiff1d(built.rowids, loaded.rowids, assume_unique=True), changed)
        added = np.union1d(np.setdiff1d(loaded.rowids, built.rowids, assume_unique=True), changed)
        if len(removed) + len(added) > _REBUILD_FRACTION * max(len(loaded.rowids), 1):
            return False
        # an exception below leaves the key at (-1, -1): the worker then drops this index
        if len(removed):
            built.index.remove(removed.astype(np.uint64), threads=1)
        if len(added):
            at = np.searchsorted(loaded.rowids, added)
            built.index.add(added.astype(np.uint64), loaded.matrix[at], threads=1)
        built.key, built.rowids, built.prints = loaded.key, loaded.rowids, prints
        built.unsaved += len(removed) + len(added)
        return True

    def _build(self, loaded: LoadedVectors, prints: Matrix) -> _Built | None:
        p = self.params
        index = Index(
            ndim=loaded.dimension,
            metric="ip",
            dtype="f32",
            connectivity=p.connectivity,
            expansion_add=p.expansion_add,
            expansion_search=p.expansion_search,
        )
        for start in range(0, len(loaded.rowids), _BATCH):
            if self._closed:
                return None
            end = start + _BATCH
            index.add(loaded.rowids[start:end].astype(np.uint64), loaded.matrix[start:end], threads=1)
        return _Built(index, loaded.key, loaded.rowids, prints)

    # -- files

    def _files(self, collection: str) -> list[tuple[int, int, Path]]:
        """``(collection id, generation, path)`` of the saved indexes of ``collection``."""
        if self.folder is None or not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob(f"{collection}.*.*.usearch"):
            name, ident, generation, _ = path.name.rsplit(".", 3)
            if name == collection and ident.isdigit() and generation.isdigit():
                found.append((int(ident), int(generation), path))
        return found

    def _load(self, collection: str, loaded: LoadedVectors) -> _Built | None:
        """The saved index of this collection's newest generation not above ``loaded``'s, if any."""
        ident, generation = loaded.key
        saved = sorted(f for f in self._files(collection) if f[0] == ident and f[1] <= generation)
        if not saved:
            return None
        path = saved[-1][2]
        try:
            p = self.params
            index = Index.restore(
                path, connectivity=p.connectivity, expansion_add=p.expansion_add, expansion_search=p.expansion_search
            )
        except Exception:  # a truncated or foreign file: rebuild, and do not trip over it again
            log.warning("ignoring unreadable ANN index %s", path, exc_info=True)
            path.unlink(missing_ok=True)
            return None
        if index is None or index.ndim != loaded.dimension or index.connectivity != self.params.connectivity:
            return None
        if saved[-1][1] == generation:
            return _Built(index, loaded.key, loaded.rowids, fingerprints(loaded.matrix))
        keys = np.sort(np.asarray(index.keys[:], dtype=np.uint64))  # the older snapshot's rows
        return _Built(index, (ident, saved[-1][1]), keys.astype(np.int64), fingerprints(_stored(index, keys)))

    def _save_if_due(self, collection: str, built: _Built) -> None:
        if built.unsaved >= max(1, _SAVE_FRACTION * len(built.rowids)):
            self._save(collection, built)

    def _save(self, collection: str, built: _Built) -> None:
        if self.folder is None:
            return
        ident, generation = built.key
        target = self.folder / f"{collection}.{ident}.{generation}.usearch"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".saving-", suffix=".usearch")
            os.close(handle)
            built.index.save(temporary)
            os.replace(temporary, target)
        except OSError:
            log.warning("could not save the ANN index of %r to %s", collection, target, exc_info=True)
            return
        built.unsaved = 0
        for _, _, path in self._files(collection):
            if path != target:
                path.unlink(missing_ok=True)


def _stored(index: Index, keys: npt.NDArray[np.uint64]) -> Matrix:
    """The vectors the index holds for ``keys`` (all present), as one float32 matrix."""
    if not len(keys):
        return np.zeros((0, index.ndim), dtype=np.float32)
    rows = cast("Sequence[Matrix]", index.get(keys))  # a tuple with one vector per key
    stacked: Matrix = np.vstack(rows).astype(np.float32, copy=False)
    return stacked


def _rescored(loaded: LoadedVectors, query: Matrix, at: npt.NDArray[np.intp], k: int) -> list[tuple[int, float]]:
    """Exact scores for candidate rows ``at``, best ``k`` first (ties: lower rowid first)."""
    scores = np.einsum("ij,j->i", loaded.matrix[at], query)
    rowids = loaded.rowids[at]
    order = np.lexsort((rowids, -scores))[:k]
    return [(int(rowids[i]), float(scores[i])) for i in order]
