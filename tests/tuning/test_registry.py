"""The registry over a real store and the real models: a candidate's shadow index, gated promotion (refused when
not significantly better, recorded when forced), search serving throughout the swap, and rollback to the
previous model's kept vectors without re-embedding."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from quarry.assembly import Quarry, build
from quarry.assembly.tuning import model_registry
from quarry.ingest.sources import FileSource
from quarry.pipeline.reembed import shadow_name, sync_shadow
from quarry.settings import Settings, StoreSettings
from quarry.stores.models import ModelEntry
from quarry.testing.store_data import make_write
from quarry.tuning.registry import PromotionRefused, embedder_target

from .conftest import TunedModel

QUESTIONS = ["vitamin D and bone density", "tumour suppressor gene mutations", "antibiotic resistance in bacteria"]


@pytest.fixture
def quarry(mini_scifact: Path, tmp_path: Path) -> Iterator[Quarry]:
    lines = (mini_scifact / "corpus.jsonl").read_text().splitlines()[:30]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(lines) + "\n")
    system = build(Settings(store=StoreSettings(path=tmp_path / "quarry.db")))
    assert system.ingestor.run(FileSource(corpus, max_bytes=10**8), "docs").ok
    yield system
    system.close()


def _candidate(quarry: Quarry, tuned: TunedModel) -> ModelEntry:
    registry = model_registry(quarry)
    registry.ensure_base(embedder_target("docs"), model_id=quarry.embedder.model_id, kind="embedder")
    entry = registry.models.add(ModelEntry(embedder_target("docs"), "embedder", tuned.model_id,
                                           artifact=str(tuned.artifact), base=quarry.embedder.model_id))  # fmt: skip
    entry = registry.models.update(replace(entry, index=shadow_name("docs", entry.version)))
    sync_shadow(quarry.store, "docs", entry.index, quarry.embedders(tuned.model_id))
    return entry


def _uris(quarry: Quarry, query: str, mode: str = "dense") -> list[str]:
    return [h.document_uri for h in quarry.searcher.search(query, "docs", k=5, mode=mode).hits]  # type: ignore[arg-type]


def test_promotion_is_refused_unless_significantly_better_and_forcing_is_recorded(
    quarry: Quarry, tuned_model: TunedModel
) -> None:
    entry = _candidate(quarry, tuned_model)
    registry = model_registry(quarry)
    production = registry.production(embedder_target("docs"))
    assert production is not None and production.model_id == quarry.embedder.model_id
    same = {f"q{i}": 0.5 + 0.01 * (i % 3) for i in range(30)}
    registry.attach_evaluation(production.id, "dev", "ndcg@10", same)
    registry.attach_evaluation(entry.id, "dev", "ndcg@10", {k: v + (0.01 if i % 2 else -0.01)
                                                           for i, (k, v) in enumerate(same.items())})  # fmt: skip
    with pytest.raises(PromotionRefused) as refused:
        registry.promote(entry.id)
    assert refused.value.gate is not None and not refused.value.gate.passed and "p = " in str(refused.value)
    assert quarry.store.collection("docs").embedder == quarry.embedder.model_id  # nothing was swapped
    move, _ = registry.promote(entry.id, force=True, note="tried anyway")
    assert move.forced and "tried anyway" in move.note and quarry.store.collection("docs").embedder == entry.model_id


def test_a_significantly_better_candidate_is_promoted_and_search_serves_throughout(
    quarry: Quarry, tuned_model: TunedModel
) -> None:
    entry = _candidate(quarry, tuned_model)
    registry = model_registry(quarry)
    production = registry.production(embedder_target("docs"))
    assert production is not None
    registry.attach_evaluation(production.id, "dev", "ndcg@10", {f"q{i}": 0.4 for i in range(40)})
    registry.attach_evaluation(entry.id, "dev", "ndcg@10", {f"q{i}": 0.4 + 0.05 * (i % 4 != 0) for i in range(40)})
    before = {q: _uris(quarry, q) for q in QUESTIONS}
    failures: list[BaseException] = []
    served = [0]
    stop = threading.Event()

    def search_loop() -> None:
        while not stop.is_set():
            try:
                assert _uris(quarry, QUESTIONS[served[0] % 3], "hybrid")
                served[0] += 1
            except BaseException as exc:
                failures.append(exc)

    worker = threading.Thread(target=search_loop)
    worker.start()
    text = "Pelicans nest on coastal islands."  # a write lands after the shadow was built
    quarry.store.write("docs", upserts=[make_write("mem://late", [text], vectors=quarry.embedder.embed([text]))])
    move, gate = registry.promote(entry.id)
    stop.set()
    worker.join()
    assert not failures and served[0] > 0
    assert gate is not None and gate.passed and move.previous == production.id and not move.forced
    assert quarry.store.collection("docs").embedder == entry.model_id
    assert "mem://late" in _uris(quarry, "Pelicans nest on coastal islands")  # caught up before the swap
    kept = registry.get(production.id).index
    assert kept and quarry.store.collection(kept).embedder == production.model_id
    rolled = registry.rollback(embedder_target("docs"), note="worse in production")
    assert rolled.rollback and rolled.entry == production.id
    assert quarry.store.collection("docs").embedder == quarry.embedder.model_id
    assert {q: _uris(quarry, q) for q in QUESTIONS} == before  # the kept vectors, not re-embedded ones
    assert registry.get(entry.id).index  # the tuned vectors are kept in turn, until garbage-collected
    assert registry.gc() == []  # the previous entry stays restorable
    statuses = {e.id: e.status for e in registry.models.entries(embedder_target("docs"))}
    assert statuses == {production.id: "production", entry.id: "archived"}


def test_synthetic_questions_are_kept_only_when_retrieval_finds_their_document_again(quarry: Quarry) -> None:
    from quarry.assembly.tuning import served_search
    from quarry.testing.chat import ScriptedChatModel
    from quarry.tuning.synthetic import synthetic_pairs

    def specific(messages: list) -> str:  # the passage's own opening words, asked as a question
        words = messages[-1].content.removeprefix("Text: ").split()
        return "What is known about " + " ".join(words[:12]).rstrip(".,;:") + "?"

    chat = ScriptedChatModel(
        [specific, "The passage describes several findings.", "Who won the 1998 chess open?", specific]
    )
    search = served_search(quarry)
    report = synthetic_pairs(quarry.store, "docs", chat, lambda q, k: search(q, "docs", k, "hybrid"), count=4)
    assert (report.asked, report.malformed) == (4, 1)
    assert report.lost >= 1 and len(report.pairs) == 4 - 1 - report.lost >= 1
    assert all(p.source == "synthetic" and p.query.endswith("?") for p in report.pairs)
    assert "Text: Aspirin" in chat.calls[0].messages[1].content  # the worked example comes first


def test_a_stopped_synthetic_run_resumes_without_asking_again(quarry: Quarry, tmp_path: Path) -> None:
    from quarry.assembly.tuning import served_search
    from quarry.testing.chat import ScriptedChatModel
    from quarry.tuning.synthetic import ReplyLog, synthetic_pairs

    search = served_search(quarry)
    retrieve = lambda q, k: search(q, "docs", k, "hybrid")  # noqa: E731
    first = ScriptedChatModel(["What does the first passage say?", "What does the second passage say?"])
    done = synthetic_pairs(quarry.store, "docs", first, retrieve, count=2,
                           log=ReplyLog(tmp_path / "q.jsonl", first.model_id))  # fmt: skip
    with (tmp_path / "q.jsonl").open("a") as log:
        log.write('{"key": "torn')  # the run was killed mid-line
    again = ScriptedChatModel(["What does the third passage say?"])  # only the new passage may be asked
    resumed = synthetic_pairs(quarry.store, "docs", again, retrieve, count=3,
                              log=ReplyLog(tmp_path / "q.jsonl", again.model_id))  # fmt: skip
    assert len(again.calls) == 1 and resumed.asked == 3 and done.asked == 2
    kept = ReplyLog(tmp_path / "q.jsonl", again.model_id).replies.values()
    assert "What does the third passage say?" in kept  # the reply written after the torn line is read back
    other = ScriptedChatModel(["What does a passage say?"] * 3, model="other")
    synthetic_pairs(quarry.store, "docs", other, retrieve, count=3, log=ReplyLog(tmp_path / "q.jsonl", other.model_id))
    assert len(other.calls) == 3  # another model's replies are never reused


def test_qa_golds_resolve_to_the_stored_documents(quarry: Quarry) -> None:
    from quarry.evaluation.qa import QAItem
    from quarry.tuning.sources import doc_key, qa_eval_queries, qa_pairs

    uris = [info.uri for info in quarry.store.documents("docs", limit=3)]
    golds = [doc_key(u) for u in uris]  # what a QA file names: the corpus id, not the stored uri
    items = [QAItem("a", "what is studied here?", ("x",), True, (golds[0],)),
             QAItem("b", "and here?", ("y",), True, (golds[1], "not-stored")),
             QAItem("c", "nothing stored", ("z",), True, ("missing",)),
             QAItem("u", "unanswerable", (), False, (golds[2],))]  # fmt: skip
    evaluation = qa_eval_queries(items, quarry.store, "docs", "qa")
    assert evaluation.qrels == {"a": {golds[0]: 1}, "b": {golds[1]: 1}}
    pairs = qa_pairs(items, quarry.store, "docs")
    assert [(p.query, p.document) for p in pairs] == [("what is studied here?", golds[0]), ("and here?", golds[1])]
    assert all(p.positive in {c.context for c in quarry.store.chunks("docs", uris[i])} for i, p in enumerate(pairs))


def test_routing_scores_a_tuned_collection_by_its_content_with_its_own_query_model(
    quarry: Quarry, tuned_model: TunedModel, tmp_path: Path
) -> None:
    entry = _candidate(quarry, tuned_model)
    model_registry(quarry).promote(entry.id, force=True)
    notes = tmp_path / "birds.md"
    notes.write_text("# Pelicans\n\nPelicans nest on coastal islands and dive for fish in shallow bays.\n")
    assert quarry.ingestor.run(FileSource(notes, max_bytes=10**6), "birds").ok
    question = QUESTIONS[0]
    routes = {r.collection: r for r in quarry.router.rank(question)}
    tuned_query = quarry.embedders(entry.model_id).embed_query(question)
    nearest = quarry.store.rank_vector("docs", tuned_query, quarry.router.k)
    assert routes["docs"].content == pytest.approx(sum(s for _, s in nearest) / len(nearest))
    assert routes["birds"].content is not None and routes["docs"].score > routes["birds"].score
    assert quarry.router.route(question)[0] == "docs"
