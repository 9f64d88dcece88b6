"""Wiring for ``quarry tune`` and ``quarry models``: the registry over the configured stores, the served
searcher as the evaluation's retrieval, and training pairs gathered from the sources a user names."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quarry.embeddings import Embedder
from quarry.evaluation.datasets import load_beir
from quarry.evaluation.qa import QAItem, load_qa_set
from quarry.llm.base import ChatModel
from quarry.retrieval.search import Searcher
from quarry.tracing import Tracer
from quarry.tuning.embedder_job import EvalQueries, Search
from quarry.tuning.pairs import TrainingPair, judged_pairs, split_by_document, with_hard_negatives
from quarry.tuning.registry import ModelRegistry
from quarry.tuning.sft_data import ChatExample
from quarry.tuning.sources import as_stored_chunks, doc_key, feedback_pairs, qa_eval_queries, qa_pairs

if TYPE_CHECKING:
    from quarry.assembly import Quarry

__all__ = [
    "PairPlan", "answers_eval", "bm25_ranker", "chat_loader", "dense_ranker", "gather_pairs", "llm_examples",
    "mine_negatives", "model_registry", "models_folder", "registry_listing", "served_search", "tuned_loader",
]  # fmt: skip


def model_registry(quarry: Quarry) -> ModelRegistry:
    return ModelRegistry(quarry.model_store, quarry.store, quarry.embedders, alpha=quarry.settings.tuning.alpha)


def models_folder(quarry: Quarry) -> Path:
    """Where tuned models' files live: ``[tuning] folder``, else ``models/`` beside the store."""
    configured = quarry.settings.tuning.folder
    return Path(configured) if configured else quarry.settings.store.beside(".models")


def served_search(quarry: Quarry) -> Search:
    """The served retrieval (settings, reranker, tuned embedders) without a trace per query."""
    searcher = _searcher(quarry, rerank=True)

    def search(query: str, collection: str, k: int, mode: str) -> list[str]:
        hits = searcher.search(query, collection, k=k, mode=mode).hits  # type: ignore[arg-type]
        return list(dict.fromkeys(hit.document_uri for hit in hits))

    return search


def tuned_loader(quarry: Quarry) -> Callable[[str, Path], Embedder]:
    def load(model_id: str, artifact: Path) -> Embedder:
        from quarry.assembly.models import tuned_embedder

        return tuned_embedder(model_id, artifact, threads=quarry.settings.embeddings.threads)

    return load


@dataclass
class PairPlan:
    """What ``quarry tune embeddings`` trains and evaluates on, with counts per source."""

    train: list[TrainingPair]
    evaluation: EvalQueries
    sources: dict[str, int] = field(default_factory=dict)
    negatives: str = ""  # how the hard negatives were mined ("bm25", "dense, skip 2"; "" = none)


def gather_pairs(
    quarry: Quarry, collection: str, *, queries: Path | None, split: str, eval_data: Path | None, eval_split: str,
    feedback: bool, synthetic: list[TrainingPair], hard_negatives: bool, titles: Sequence[TrainingPair] = (),
    miner: str = "dense", skip: int = 2,
) -> PairPlan:  # fmt: skip
    """Training pairs and held-out questions. Title pairs (:mod:`quarry.tuning.titles`) only ever train: a title
    is not a question a user asks, so it is never among the held-out ones; it gets no mined hard negative. Hard
    negatives come from ``miner`` ("dense": the collection's embedder, or "bm25"), past its first ``skip`` other
    documents (the default was chosen on a validation split of SciFact train: bench/tuning_validation.py)."""
    pairs: list[TrainingPair] = []
    if queries is not None:
        pairs += _judged(quarry, collection, queries, split)
    if feedback:
        items = quarry.feedback_store.recent(10_000)
        pairs += feedback_pairs(items, quarry.trace_store, quarry.store, collection)
    pairs += synthetic
    if eval_data is not None:
        train, evaluation = pairs, _eval_queries(quarry, collection, eval_data, eval_split)
    else:
        train, held = split_by_document(pairs, 0.1)
        from quarry.tuning.embedder_job import held_out_queries

        evaluation = held_out_queries(held)
    if hard_negatives:
        train = mine_negatives(quarry, collection, train, miner=miner, skip=skip)
    train = [*train, *titles]  # in-batch negatives only: measured so (bench/tuning_validation.py --titles)
    sources: dict[str, int] = {}
    for pair in train:
        sources[pair.source] = sources.get(pair.source, 0) + 1
    mined = (miner + (f", skip {skip}" if skip else "")) if hard_negatives else ""
    return PairPlan(train, evaluation, sources, mined)


def _qa_items(data: Path, split: str) -> tuple[QAItem, ...]:
    """A QA file's items of ``split``; all of them when the file has no splits at all."""
    everything = load_qa_set(data).items
    return everything if not any(i.split for i in everything) else load_qa_set(data, split=split).items


def _judged(quarry: Quarry, collection: str, data: Path, split: str) -> list[TrainingPair]:
    if data.is_dir():
        return as_stored_chunks(judged_pairs(load_beir(data, split)), quarry.store, collection)
    return qa_pairs(_qa_items(data, split), quarry.store, collection)


def _eval_queries(quarry: Quarry, collection: str, data: Path, split: str) -> EvalQueries:
    if data.is_dir():
        beir = load_beir(data, split)
        return EvalQueries(f"{data.name}-{split}", dict(beir.queries), beir.qrels)
    items = [i for i in _qa_items(data, split) if i.answerable and i.gold_docs]
    return qa_eval_queries(items, quarry.store, collection, f"{data.stem}-{split}")


def bm25_ranker(quarry: Quarry, collection: str) -> Callable[[str, int], list[tuple[str, str]]]:
    """BM25 over ``collection`` as (document key, passage) pairs: what hard negatives are mined with."""
    store = quarry.store

    def rank(query: str, k: int) -> list[tuple[str, str]]:
        return [(doc_key(h.document_uri), h.chunk.context) for h in store.search_text(collection, query, k)]

    return rank


def mine_negatives(
    quarry: Quarry, collection: str, pairs: Sequence[TrainingPair], *, miner: str = "dense", skip: int = 2
) -> list[TrainingPair]:
    """Each pair with a hard negative from ``miner`` ("dense" or "bm25") over ``collection``, past its first
    ``skip`` other documents (:func:`quarry.tuning.pairs.with_hard_negatives`)."""
    rankers = {"dense": dense_ranker, "bm25": bm25_ranker}
    if miner not in rankers:
        raise ValueError(f"unknown hard-negative miner {miner!r}: use 'dense' or 'bm25'")
    rank = rankers[miner](quarry, collection)
    return with_hard_negatives(pairs, rank, depth=10 + skip, skip=skip)


def dense_ranker(quarry: Quarry, collection: str) -> Callable[[str, int], list[tuple[str, str]]]:
    """The dense path over ``collection`` (its own embedder) as (document key, passage) pairs: hard negatives the
    model being tuned itself confuses with the positive (BM25's share words, these share meaning)."""
    searcher = _searcher(quarry, rerank=False)

    def rank(query: str, k: int) -> list[tuple[str, str]]:
        hits = searcher.search(query, collection, k=k, mode="dense").hits
        return [(doc_key(h.document_uri), h.chunk.context) for h in hits]

    return rank


def _searcher(quarry: Quarry, *, rerank: bool) -> Searcher:
    """Retrieval as configured (tuned embedders resolved per collection), without a trace per query."""
    return Searcher(quarry.store, quarry.embedder, Tracer(), quarry.settings.retrieval,
                    reranker=quarry.reranker if rerank else None, embedders=quarry.embedders)  # fmt: skip


def registry_listing(quarry: Quarry) -> list[dict[str, Any]]:
    """Registry entries and prompt versions as rows (``quarry models list``, ``GET /v1/models``)."""
    rows: list[dict[str, Any]] = []
    for entry in quarry.model_store.entries():
        means = {name: float(e.get("mean", 0.0)) for name, e in entry.evaluations.items()}
        rows.append({"id": entry.id, "target": entry.target, "kind": entry.kind, "status": entry.status,
                     "model_id": entry.model_id, "base": entry.base, "evaluations": means, "index": entry.index,
                     "created_at": entry.created_at})  # fmt: skip
    registry = quarry.prompts
    for name in registry.names():
        summary = registry.summary(name)
        for version in summary.versions:
            rows.append({"id": f"prompt:{name}@v{version}", "target": f"prompt:{name}", "kind": "prompt",
                         "status": "production" if summary.serves == f"{name}@{version}" else "candidate",
                         "model_id": f"{name}@{version}", "base": "", "evaluations": {}, "index": "",
                         "created_at": 0.0})  # fmt: skip
    return rows


def chat_loader(quarry: Quarry) -> Callable[[Path | None], ChatModel]:
    """The configured local model with a given LoRA adapter (None: none), bare (no retries or metering)."""
    from quarry.llm.local import LocalChatModel

    local = quarry.settings.llm.local

    def load(lora: Path | None) -> ChatModel:
        return LocalChatModel(local.model, n_threads=local.n_threads, n_ctx=local.n_ctx, repack=local.repack,
                              lora=lora)  # fmt: skip

    return load


def answers_eval(quarry: Quarry, qa: Path, split: str, collection: str) -> Callable[[Path | None], dict[str, float]]:
    """Per-question ``correct`` of the served answer pipeline over ``collection`` with a given adapter."""
    from quarry.assembly import build
    from quarry.assembly.evaluation import answer_target
    from quarry.evaluation.answer_runner import run_answers

    items = load_qa_set(qa, split=split)

    def evaluate(lora: Path | None) -> dict[str, float]:
        settings = quarry.settings.model_copy(deep=True)
        settings.llm.local.lora = str(lora) if lora is not None else "none"
        settings.cache.enabled = False
        other = build(settings)
        try:
            target = answer_target(other.answerer, other.store, other.settings, collection, None)
            return run_answers(items, target, name=f"lora={lora}").scores("correct")
        finally:
            other.close()

    return evaluate


def llm_examples(
    quarry: Quarry, qa: Path, split: str, eval_split: str, *, feedback: bool
) -> tuple[list[ChatExample], list[ChatExample], str]:
    """(train, held-out, abstain marker): the QA set's splits in the served answer prompt's format, plus feedback."""
    from quarry.tuning.sft_data import answer_examples, feedback_examples

    template = quarry.prompts.template("answer")
    system, user, abstain = template.system, template.user, template.abstain_marker
    train = answer_examples(load_qa_set(qa, split=split).items, system=system, user=user, abstain=abstain)
    held_out = answer_examples(load_qa_set(qa, split=eval_split).items, system=system, user=user, abstain=abstain,
                               seed=1)  # fmt: skip
    if feedback:
        recent = quarry.feedback_store.recent(10_000)
        train += feedback_examples(recent, quarry.trace_store, quarry.store, system=system, user=user, abstain=abstain)
    return train, held_out, template.abstain_marker
