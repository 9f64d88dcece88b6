"""Query routing on a real mixed store: four collections of real documents, the real MiniLM model.

Collections: a slice of the SciFact corpus (biomedical abstracts), Paul Graham's essay, four
business PDFs (receipt, repair estimate, inventory report, cinema booking) and Presidio's synthetic
personal texts. Queries with a known home: SciFact test claims whose judged documents are in the
slice, and the questions below, written for this test (they are data, not expected results).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from quarry.assembly import Quarry, build
from quarry.embeddings import Embedder
from quarry.errors import CollectionNotFound, ConfigError
from quarry.evaluation import load_beir
from quarry.ingest.sources import FileSource, Source
from quarry.retrieval.routing import Router, fuse_collections
from quarry.settings import Settings, StoreSettings
from tests.conftest import DATASETS, MARKITDOWN_FILES, SCIFACT

DESCRIPTIONS = {
    "scifact": "Abstracts of biomedical and life-science research papers",
    "essay": "Paul Graham's autobiographical essay 'What I Worked On'",
    "business": "Business documents: receipts, invoices, repair estimates, inventory reports and bookings",
    "people": "Synthetic personal records and customer messages with names, addresses and account numbers",
}
BUSINESS_PDFS = (
    "RECEIPT-2024-TXN-98765_retail_purchase.pdf",
    "REPAIR-2022-INV-001_multipage.pdf",
    "SPARSE-2024-INV-1234_borderless_table.pdf",
    "movie-theater-booking-2024.pdf",
)
ESSAY_QUESTIONS = (
    "What computer did the author first write programs on in 9th grade?",
    "Which programming language did he use with punch cards at school?",
    "Why did the author switch from studying philosophy to AI in college?",
    "Which microcomputer did his father finally buy around 1980?",
    "What was the author's undergraduate thesis about?",
    "Why did he come to think that AI as practised in the 1980s was a hoax?",
    "What did the author study at the art school in Florence?",
    "What did he learn from painting still lives?",
    "What was it like working at Interleaf?",
    "How did Viaweb start and who bought it?",
    "When did the author start publishing essays online?",
    "How did Y Combinator begin and what was the Summer Founders Program?",
    "Why did the author hand over Y Combinator to someone else?",
    "Why did he write a new Lisp dialect called Arc?",
    "What is Bel and how long did it take him to write it?",
)
BUSINESS_QUESTIONS = (
    "How much did the noise-cancelling headphones cost at TechMart?",
    "Collision repair estimate for the insured customer's Jeep",
    "Inventory variance by product code at the distribution center warehouse",
    "Holiday movie marathon package booked at Starlight Cinemas",
)
PEOPLE_QUESTIONS = (
    "What is the spending limit on my credit card?",
    "A user shares their social security number",
    "Which name is on the bank account?",
    "Street address where this person lives",
)
SCIFACT_CLAIMS = 25
SCIFACT_DOCS = 100
PEOPLE_RECORDS = 150


def _scifact_slice(folder: Path) -> tuple[Path, dict[str, str]]:
    """A JSONL slice holding every judged document of the first claims, plus seeded distractors."""
    data = load_beir(SCIFACT, "test")
    claims = dict(list(data.queries.items())[:SCIFACT_CLAIMS])
    gold = {doc for qid in claims for doc in data.qrels[qid]}
    others = sorted(set(data.corpus) - gold)
    chosen = sorted(gold) + random.Random(0).sample(others, SCIFACT_DOCS - len(gold))
    path = folder / "scifact-slice.jsonl"
    rows = ({"_id": d, "title": data.corpus[d].title, "text": data.corpus[d].text} for d in chosen)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path, claims


def _people(folder: Path) -> Path:
    records = json.loads((DATASETS / "pii/presidio_synth_dev.json").read_text())
    texts = [r["full_text"] for r in records if len(r["full_text"].split()) >= 4][:PEOPLE_RECORDS]
    path = folder / "people.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)))
    return path


def _ingest(quarry: Quarry, name: str, sources: list[Source]) -> None:
    quarry.store.ensure_collection(name, embedder=quarry.embedder.model_id, description=DESCRIPTIONS[name])
    for source in sources:
        assert quarry.ingestor.run(source, name).ok


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, minilm: Embedder) -> Iterator[tuple[Quarry, dict[str, str]]]:
    """The four-collection store and the query → home collection map."""
    folder = tmp_path_factory.mktemp("routing")
    quarry = build(Settings(store=StoreSettings(path=folder / "q.db")))
    quarry.__dict__["embedder"] = minilm
    scifact, claims = _scifact_slice(folder)
    big = 10**8
    _ingest(quarry, "scifact", [FileSource(scifact, max_bytes=big)])
    essay = DATASETS / "paul-graham-essay/data/paul_graham/paul_graham_essay.txt"
    _ingest(quarry, "essay", [FileSource(essay, max_bytes=big)])
    _ingest(quarry, "business", [FileSource(MARKITDOWN_FILES / name, max_bytes=big) for name in BUSINESS_PDFS])
    _ingest(quarry, "people", [FileSource(_people(folder), max_bytes=big)])
    homes = {claim: "scifact" for claim in claims.values()}
    for home, questions in (("essay", ESSAY_QUESTIONS), ("business", BUSINESS_QUESTIONS), ("people", PEOPLE_QUESTIONS)):
        homes.update(dict.fromkeys(questions, home))
    yield quarry, homes
    quarry.close()


def test_the_home_collection_comes_first_for_most_queries(mixed: tuple[Quarry, dict[str, str]]) -> None:
    quarry, homes = mixed
    router = Router(quarry.store, quarry.embedder)
    first = {query: router.rank(query)[0].collection for query in homes}
    correct = sum(first[q] == home for q, home in homes.items())
    assert correct / len(homes) >= 0.8  # chance is 0.25
    for home in DESCRIPTIONS:
        asked = [q for q, h in homes.items() if h == home]
        assert sum(first[q] == home for q in asked) > len(asked) / 2, home


def test_the_routed_set_holds_the_home_and_leaves_unrelated_collections_out(
    mixed: tuple[Quarry, dict[str, str]],
) -> None:
    quarry, homes = mixed
    router = Router(quarry.store, quarry.embedder)
    routed = {query: router.route(query) for query in homes}
    assert sum(homes[q] in chosen for q, chosen in routed.items()) / len(homes) >= 0.9
    assert sum(len(chosen) for chosen in routed.values()) / len(routed) < 2.0


def test_rank_reports_both_signals_best_first(mixed: tuple[Quarry, dict[str, str]]) -> None:
    quarry, _ = mixed
    routes = Router(quarry.store, quarry.embedder).rank(ESSAY_QUESTIONS[0])
    assert sorted(r.collection for r in routes) == sorted(DESCRIPTIONS)
    assert [r.score for r in routes] == sorted((r.score for r in routes), reverse=True)
    assert routes[0].selected
    for route in routes:
        assert route.content is not None and route.description is not None
        assert route.score == pytest.approx(0.3 * route.description + 0.7 * route.content)


def test_margin_and_cap_decide_how_many_collections_are_searched(mixed: tuple[Quarry, dict[str, str]]) -> None:
    quarry, _ = mixed
    query = "a person's home address and phone number"
    assert len(Router(quarry.store, quarry.embedder, margin=0.0).route(query)) == 1
    assert len(Router(quarry.store, quarry.embedder, margin=2.0).route(query)) == len(DESCRIPTIONS)
    assert len(Router(quarry.store, quarry.embedder, margin=2.0, max_collections=2).route(query)) == 2
    only = Router(quarry.store, quarry.embedder).route(query, ["essay", "people"])
    assert set(only) <= {"essay", "people"}


def test_a_collection_without_chunks_or_with_another_embedder_is_scored_by_its_description(
    mixed: tuple[Quarry, dict[str, str]],
) -> None:
    quarry, _ = mixed
    quarry.store.ensure_collection("recipes", embedder="other:model", description="Cooking recipes and baking")
    quarry.store.ensure_collection("empty", embedder=quarry.embedder.model_id)
    routes = {r.collection: r for r in Router(quarry.store, quarry.embedder).rank("how long to bake bread")}
    assert routes["recipes"].content is None and routes["recipes"].description is not None
    assert routes["recipes"].score == routes["recipes"].description
    assert routes["empty"].score == 0.0 and routes["empty"].description is None
    with pytest.raises(CollectionNotFound):
        Router(quarry.store, quarry.embedder).rank("bread", ["no-such-collection"])
    quarry.store.delete_collection("recipes")
    quarry.store.delete_collection("empty")


def test_bad_settings_and_an_empty_candidate_list_are_config_errors(mixed: tuple[Quarry, dict[str, str]]) -> None:
    quarry, _ = mixed
    with pytest.raises(ConfigError):
        Router(quarry.store, quarry.embedder, k=0)
    with pytest.raises(ConfigError):
        Router(quarry.store, quarry.embedder).rank("x", [])


def test_fuse_collections_interleaves_by_rank_and_keeps_keys_apart() -> None:
    fused = fuse_collections({"a": [("1", 9.0), ("2", 1.0)], "b": [("1", 0.5)]})
    assert [(name, key) for name, key, _ in fused][:2] in ([("a", "1"), ("b", "1")], [("b", "1"), ("a", "1")])
    assert fused[-1][:2] == ("a", "2")
    assert len(fused) == 3
