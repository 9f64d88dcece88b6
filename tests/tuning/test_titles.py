"""Document titles as pseudo-queries, on real SciFact abstracts and a real text file in the same collection."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from quarry.assembly import build
from quarry.ingest.sources import FileSource
from quarry.settings import Settings, StoreSettings
from quarry.tuning.titles import title_pairs, usable_title

from .conftest import build_slice


def test_each_title_asks_for_its_own_abstract_without_giving_it_away(datasets: Path, tmp_path: Path) -> None:
    data = build_slice(datasets / "scifact", tmp_path / "data", train=4, test=2, distractors=10)
    text_file = datasets / "documents/unstructured/example-docs/book-war-and-peace-1p.txt"
    quarry = build(Settings(store=StoreSettings(path=tmp_path / "quarry.db")))
    try:
        quarry.ingestor.run(FileSource(data / "corpus.jsonl", max_bytes=10**8), "c")
        quarry.ingestor.run(FileSource(text_file, max_bytes=10**8), "c")
        made = title_pairs(quarry.store, "c", count=100, seed=1)
        again = title_pairs(quarry.store, "c", count=3, seed=1)
    finally:
        quarry.close()
    corpus = {d["_id"]: d for d in map(json.loads, (data / "corpus.jsonl").read_text().splitlines())}
    usable = [d for d in corpus.values() if usable_title(d["title"])]
    assert made.documents == len(corpus) + 1 and len(made.pairs) == len(usable) >= 10
    for pair in made.pairs:
        doc = corpus[pair.document]  # the text file (its title is its file name) gave no pair
        assert pair.query == " ".join(doc["title"].split()) and pair.source == "title"
        assert pair.query not in pair.positive and doc["text"].startswith(pair.positive[:60])
    assert again.pairs == made.pairs[:3]  # seeded: the same documents first


def test_file_names_and_one_word_titles_are_not_questions(datasets: Path) -> None:
    assert not usable_title("book-war-and-peace-1p.txt") and not usable_title("Summary")
    assert usable_title("Cancer-related inflammation")
    with gzip.open(datasets / "scifact/corpus.jsonl.gz", "rt") as f:
        first = json.loads(f.readline())
    assert usable_title(first["title"])
