"""LLM query rewriting: HyDE (a hypothetical passage embedded as the query) and multi-query expansion.

Both ask the configured chat model for text and never let it break a search: a provider failure, an
exhausted budget or unusable output falls back to the original query and says why in
:attr:`Rewrite.fallback`.

- **HyDE** (:func:`hypothetical_passage`, :func:`hyde_vector`): the model writes a short passage about
  the query; the dense query vector becomes the passage's embedding, or a mix of it with the query's
  own embedding (``query_weight``). Documents look more like passages than like questions, which is
  the whole idea; a weak model's passage may drift off topic, which the mix guards against.
- **Multi-query** (:func:`expand_queries`, :func:`rank_expanded`): the model writes rewrites of the
  query; each one (and the original) is searched on both paths and the runs are fused.

Prompts are versioned templates (``hyde@1``, ``multi_query@1`` in ``quarry.generation.prompts``); this
layer sits below generation, so the caller loads the template and passes it in (anything with ``ref``,
``stop`` and ``render(question, sources)``).

Measured on SciFact (``bench/expansion.py``, bench/RESULTS.md) with the local SmolLM2-135M: neither
helps, so both should stay off by default. HyDE averaged with the query was +0.008 nDCG@10 on 100
train claims (n.s.) and -0.007 on the 300 test claims (n.s.); the passage alone was -0.025 on test.
Multi-query cost 0.015-0.060 on test: the model copies the query for two claims in three, and its
other rewrites drift. A stronger configured model may change this; rerun the bench before enabling.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from quarry.embeddings.base import Embedder
from quarry.errors import BudgetExceeded, ConfigError, ProviderError
from quarry.llm.base import ChatModel, ChatSettings
from quarry.retrieval.fusion import convex, rrf
from quarry.stores.base import Store
from quarry.stores.filters import Filter
from quarry.types import Matrix, Message

__all__ = [
    "CrossQueryFusion",
    "Rewrite",
    "RewritePrompt",
    "expand_queries",
    "hyde_vector",
    "hypothetical_passage",
    "mix_vectors",
    "parse_queries",
    "rank_expanded",
    "rank_hybrid",
]

CrossQueryFusion = Literal["rrf", "zscore"]

_NUMBERING = re.compile(r"^\s*(?:(?:[-*•>]+|\(?\d{1,2}[.):](?=\s)|query\s*\d*\s*:|rewrite\s*\d*\s*:)\s*)+", re.I)
_QUOTES = "\"'`“”‘’"
_PREAMBLE = re.compile(r"^(?:passage|answer|paragraph|text)\s*:\s*", re.I)
_WORD = re.compile(r"\w+")
_MIN_PASSAGE_WORDS = 5


class RewritePrompt(Protocol):
    """What a rewrite needs from a prompt template (``quarry.generation.PromptTemplate`` fits)."""

    @property
    def ref(self) -> str: ...

    @property
    def stop(self) -> tuple[str, ...]: ...

    def render(self, question: str, sources: str) -> list[Message]: ...


@dataclass(frozen=True, slots=True)
class Rewrite:
    """What the model made of ``query``.

    ``texts``: the passage (HyDE) or the queries to search, original first (multi-query); empty for a
    HyDE fallback. ``raw`` is the model's output as returned, ``seconds`` the wall time of the call and
    ``fallback`` why the original query is used instead (``None`` when the rewrite is used).
    """

    query: str
    texts: tuple[str, ...]
    prompt: str
    model: str = ""
    raw: str = ""
    seconds: float = 0.0
    fallback: str | None = None


def _normal(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _clean_line(line: str) -> str:
    line = _NUMBERING.sub("", line.strip())
    return line.strip().strip(_QUOTES).strip()


def parse_queries(text: str, original: str, *, n: int = 3, max_chars: int = 200) -> list[str]:
    """The usable rewrites in a model's output, at most ``n``.

    One per line; numbering, bullets, ``Query:`` labels and quotes are stripped. Dropped: header lines
    (ending in ``:``), lines of fewer than two words or longer than ``max_chars`` (rambling), and lines
    equal to the original or to an earlier line once case, punctuation and spacing are ignored.
    """
    seen = {_normal(original)}
    kept: list[str] = []
    for raw_line in text.splitlines():
        line = _clean_line(raw_line)
        key = _normal(line)
        if line.endswith(":") or len(key.split()) < 2 or len(line) > max_chars or key in seen:
            continue
        seen.add(key)
        kept.append(line)
        if len(kept) == n:
            break
    return kept


def _ask(chat: ChatModel, prompt: RewritePrompt, query: str, max_tokens: int) -> tuple[str, str, float]:
    """(text, model, seconds) of one deterministic completion; provider errors propagate."""
    settings = ChatSettings(temperature=0.0, max_tokens=max_tokens, stop=prompt.stop or None, seed=0)
    began = time.perf_counter()
    completion = chat.complete(prompt.render(query, ""), settings=settings)
    return completion.text, completion.model or chat.model_id, time.perf_counter() - began


def expand_queries(
    query: str, chat: ChatModel, prompt: RewritePrompt, *, n: int = 3, max_tokens: int = 96, max_chars: int = 200
) -> Rewrite:
    """The original query followed by up to ``n`` rewrites from the model (see :func:`parse_queries`)."""
    if n < 1:
        raise ConfigError(f"n must be at least 1, got {n}", key="n", hint="ask for 1-5 rewrites")
    began = time.perf_counter()
    try:
        text, model, seconds = _ask(chat, prompt, query, max_tokens)
    except (ProviderError, BudgetExceeded) as exc:
        return Rewrite(query, (query,), prompt.ref, seconds=time.perf_counter() - began, fallback=str(exc))
    rewrites = parse_queries(text, query, n=n, max_chars=max_chars)
    fallback = None if rewrites else "no usable rewrite in the model's output"
    return Rewrite(query, (query, *rewrites), prompt.ref, model, text, seconds, fallback)


def hypothetical_passage(query: str, chat: ChatModel, prompt: RewritePrompt, *, max_tokens: int = 96) -> Rewrite:
    """A short passage about ``query`` written by the model (HyDE), or a fallback with no text.

    A ``Passage:`` style label is removed; output of fewer than five words is treated as unusable.
    """
    began = time.perf_counter()
    try:
        text, model, seconds = _ask(chat, prompt, query, max_tokens)
    except (ProviderError, BudgetExceeded) as exc:
        return Rewrite(query, (), prompt.ref, seconds=time.perf_counter() - began, fallback=str(exc))
    passage = _PREAMBLE.sub("", " ".join(text.split())).strip(_QUOTES + " ")
    if len(_WORD.findall(passage)) < _MIN_PASSAGE_WORDS:
        return Rewrite(query, (), prompt.ref, model, text, seconds, "the model's passage is empty or too short")
    return Rewrite(query, (passage,), prompt.ref, model, text, seconds)


def mix_vectors(query_vector: Matrix, passage_vector: Matrix, query_weight: float) -> Matrix:
    """``query_weight · q + (1 - query_weight) · p``, L2-normalised (both inputs are unit vectors)."""
    if not 0.0 <= query_weight <= 1.0:
        raise ConfigError(f"query_weight must be in [0, 1], got {query_weight}", key="query_weight")
    mixed = query_weight * query_vector + (1.0 - query_weight) * passage_vector
    norm = float(np.linalg.norm(mixed))
    result: Matrix = (mixed / norm if norm > 0 else query_vector).astype(np.float32, copy=False)
    return result


def hyde_vector(
    query: str,
    chat: ChatModel,
    embedder: Embedder,
    prompt: RewritePrompt,
    *,
    query_weight: float = 0.5,
    max_tokens: int = 96,
) -> tuple[Matrix, Rewrite]:
    """The dense query vector under HyDE and the rewrite behind it.

    ``query_weight`` 0 embeds the passage alone (the original HyDE); 0.5 averages passage and query.
    On a fallback the vector is the query's own embedding. Both texts go through ``embed_query`` (the
    embedder's query-side model, as the Searcher's dense path), so with no passage nothing changes.
    """
    rewrite = hypothetical_passage(query, chat, prompt, max_tokens=max_tokens)
    query_vector = embedder.embed_query(query)
    if not rewrite.texts:
        return query_vector, rewrite
    return mix_vectors(query_vector, embedder.embed_query(rewrite.texts[0]), query_weight), rewrite


def rank_hybrid(
    store: Store,
    collection: str,
    text: str,
    vector: Matrix,
    depth: int,
    where: Filter | None = None,
    *,
    bm25_weight: float = 0.5,
) -> list[tuple[str, float]]:
    """BM25 on ``text`` and dense on ``vector`` (e.g. a HyDE vector), fused as the Searcher's default
    (per-query z-scores, convex weight ``bm25_weight``)."""
    bm25 = store.rank_text(collection, text, depth, where)
    dense = store.rank_vector(collection, vector, depth, where)
    return convex([bm25, dense], [bm25_weight, 1.0 - bm25_weight], method="zscore")


def rank_expanded(
    store: Store,
    embedder: Embedder,
    collection: str,
    queries: Sequence[str],
    depth: int,
    where: Filter | None = None,
    *,
    fusion: CrossQueryFusion = "rrf",
    original_weight: float = 1.0,
    bm25_weight: float = 0.5,
    rrf_k: float = 60.0,
) -> list[tuple[str, float]]:
    """Search every query on both paths and fuse them into one ranking of chunk keys.

    Each query's BM25 and dense runs are first fused as the Searcher does (z-score, ``bm25_weight``);
    the per-query rankings are then combined with ``fusion`` (``"rrf"``: reciprocal rank fusion;
    ``"zscore"``: a weighted mean of the per-query fused scores). ``queries[0]`` is the original and
    weighs ``original_weight``, every rewrite 1.
    """
    if not queries:
        raise ConfigError("rank_expanded needs at least the original query", key="queries")
    vectors = [embedder.embed_query(query) for query in queries]  # the Searcher's query-side model
    per_query = [
        rank_hybrid(store, collection, query, vectors[i], depth, where, bm25_weight=bm25_weight)
        for i, query in enumerate(queries)
    ]
    weights = [original_weight] + [1.0] * (len(queries) - 1)
    if len(per_query) == 1:
        return per_query[0]
    if fusion == "rrf":
        return rrf(per_query, k=rrf_k, weights=weights)
    return convex(per_query, weights, method="zscore")
