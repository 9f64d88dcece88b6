"""Training pairs from what a user already has: a QA set with gold documents (the dev set's train split, a
BEIR folder's judged queries) and feedback (liked or corrected answers and the documents they cited).

A gold *document* becomes a passage by picking its stored chunk that shares the most words with the reference
answer and the question (a gold passage given in the QA set is used as it is)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from quarry.evaluation.feedback_export import feedback_cases
from quarry.evaluation.qa import QAItem, matches_gold
from quarry.pipeline.reembed import all_documents
from quarry.stores.base import Store, TraceStore
from quarry.stores.ops import Feedback
from quarry.tuning.pairs import EvalQueries, TrainingPair

__all__ = [
    "as_stored_chunks", "doc_key", "feedback_pairs", "qa_eval_queries", "qa_pairs",
]  # fmt: skip

_WORD = re.compile(r"\w+")


def doc_key(uri: str) -> str:
    """The id judgments use for a stored document: the part after ``#`` (a JSONL corpus line), else the uri."""
    return uri.rsplit("#", 1)[1] if "#" in uri else uri


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if len(w) > 2}


def _best_chunk(store: Store, collection: str, uri: str, probe: str) -> str:
    chunks = store.chunks(collection, uri)
    if not chunks:
        return ""
    wanted = _words(probe)
    return max(chunks, key=lambda c: len(wanted & _words(c.context))).context


def qa_pairs(items: Sequence[QAItem], store: Store, collection: str, *, source: str = "judged") -> list[TrainingPair]:
    """One pair per answerable item and gold document found in ``collection`` (items without gold are skipped)."""
    uris = list(all_documents(store, collection))
    pairs: list[TrainingPair] = []
    for item in items:
        if not item.answerable or not (item.gold_docs or item.gold_passages):
            continue
        found = [u for g in item.gold_docs for u in uris if matches_gold(u, g)]
        if item.gold_passages:
            document = found[0] if found else item.id
            pairs.extend(TrainingPair(item.question, p, doc_key(document), source=source) for p in item.gold_passages)
            continue
        for uri in dict.fromkeys(found):
            passage = _best_chunk(store, collection, uri, " ".join((*item.answers, item.question)))
            if passage:
                pairs.append(TrainingPair(item.question, passage, doc_key(uri), source=source))
    return pairs


def as_stored_chunks(pairs: Sequence[TrainingPair], store: Store, collection: str) -> list[TrainingPair]:
    """Judged pairs whose document is in ``collection`` with the positive replaced by its stored chunk that best
    matches the query: the model then learns on the passages it will be asked to rank (whole BEIR documents as
    positives beside chunk-sized hard negatives would teach it that longer means relevant)."""
    uris = {doc_key(uri): uri for uri in all_documents(store, collection)}
    out: list[TrainingPair] = []
    for pair in pairs:
        uri = uris.get(pair.document)
        passage = _best_chunk(store, collection, uri, pair.query) if uri else ""
        out.append(TrainingPair(pair.query, passage or pair.positive, pair.document, pair.negative, pair.source))
    return out


def qa_eval_queries(items: Sequence[QAItem], store: Store, collection: str, name: str) -> EvalQueries:
    """Answerable items with gold documents as judged queries, their golds resolved to the stored documents'
    keys (a gold ``essay.txt`` is the stored ``file:///…/essay.txt``); items none of whose golds is stored are
    left out."""
    uris = list(all_documents(store, collection))
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for item in items:
        found = {doc_key(u): 1 for g in item.gold_docs for u in uris if matches_gold(u, g)}
        if item.answerable and found:
            queries[item.id], qrels[item.id] = item.question, found
    return EvalQueries(name, queries, qrels)


def feedback_pairs(
    feedback: Sequence[Feedback], traces: TraceStore, store: Store, collection: str
) -> list[TrainingPair]:
    """Liked (or corrected) answers of ``collection``: the question and the passages of the documents it cited."""
    items: list[QAItem] = []
    for case in feedback_cases(feedback, traces).cases:
        meta, answers, gold = case["metadata"], case["answers"], case["gold_docs"]
        if isinstance(meta, dict) and meta.get("collection") == collection and isinstance(answers, list):
            docs = tuple(str(g) for g in gold) if isinstance(gold, list) else ()
            items.append(QAItem(str(case["id"]), str(case["question"]), tuple(map(str, answers)),
                                bool(case["answerable"]), docs))  # fmt: skip
    return qa_pairs(items, store, collection, source="feedback")
