"""What every system in bench/retrieval.py is measured with: one ``SystemRun`` per subprocess.

Each system (Quarry, Quarry doc-level, bm25s, LlamaIndex) runs in its own Python process, so its
peak RSS is its own. Inside, the index is built from the raw corpus and timed, then each
configuration is scored twice on the same queries:

* quality: the system asked for 100 documents (nDCG@10, Recall@100, … with bootstrap CIs);
* timing: the system asked for 10 (what a user asks for), warm, one query at a time, while holding
  ``/tmp/quarry-latency.lock`` so no two timing runs on the shared machine overlap. Its latency is
  the wall time of one call, query embedding included.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import resource
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quarry.evaluation import EvalReport, RetrievalDataset, Retrieve, evaluate

LATENCY_LOCK = Path("/tmp/quarry-latency.lock")
QUALITY_K = 100
TIMED_K = 10
WARM_UP_QUERIES = 10

Search = Callable[[str, int], list[str]]
"""A system under test: (query, k) → SciFact document ids, best first, each once."""


@dataclass(frozen=True, slots=True)
class Config:
    name: str
    search: Search


@dataclass(frozen=True, slots=True)
class Built:
    """A system's index, ready to search: its configurations and how long building took."""

    configs: list[Config]
    index_seconds: float
    reused: bool
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Scored:
    quality: EvalReport  # asked for QUALITY_K documents
    timed: EvalReport  # asked for TIMED_K documents, under the latency lock


@dataclass(frozen=True, slots=True)
class SystemRun:
    system: str
    index_seconds: float
    reused: bool
    peak_rss_mb: float
    load_during_timing: tuple[float, float, float]
    scored: dict[str, Scored]
    notes: list[str]


@dataclass(frozen=True, slots=True)
class SciFactDoc:
    doc_id: str
    title: str
    text: str


def read_corpus(path: Path) -> list[SciFactDoc]:
    """The raw BEIR corpus, parsed from ``corpus.jsonl.gz``; competitors' index times include this."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    return [SciFactDoc(str(r["_id"]), str(r.get("title", "")), str(r.get("text", ""))) for r in records]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def latency_lock(enabled: bool = True) -> Iterator[tuple[float, float, float]]:
    """Hold the machine-wide timing lock (the same one ``flock /tmp/quarry-latency.lock`` takes)."""
    if not enabled:  # smoke tests only: their timings are not reported as results
        yield os.getloadavg()
        return
    with LATENCY_LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield os.getloadavg()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def at_k(search: Search, k: int) -> Retrieve:
    return lambda query: search(query, k)


def score(data: RetrievalDataset, built: Built, system: str, *, lock: bool = True) -> SystemRun:
    """Quality at k=100 for every configuration, then the timed k=10 passes under the lock."""
    quality = {c.name: evaluate(data, at_k(c.search, QUALITY_K), name=c.name) for c in built.configs}
    queries = list(data.queries.values())
    timed: dict[str, EvalReport] = {}
    with latency_lock(lock) as load:
        for config in built.configs:
            for query in queries[:WARM_UP_QUERIES]:
                config.search(query, TIMED_K)
            timed[config.name] = evaluate(data, at_k(config.search, TIMED_K), ks=(TIMED_K,), name=config.name)
    return SystemRun(
        system=system,
        index_seconds=built.index_seconds,
        reused=built.reused,
        peak_rss_mb=peak_rss_mb(),
        load_during_timing=load,
        scored={name: Scored(quality[name], timed[name]) for name in quality},
        notes=built.notes,
    )


def forbid_network() -> None:
    """Make any TCP/UDP connection attempt fail loudly: the benchmark must run offline."""
    original = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise RuntimeError(f"network access attempted during the LlamaIndex benchmark: {address}")
        original(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]


class Stopwatch:
    """``with Stopwatch() as watch: ...`` then ``watch.seconds``."""

    seconds: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._began = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self._began
