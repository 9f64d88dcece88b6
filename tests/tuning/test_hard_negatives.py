"""Hard negatives mined from a real SciFact slice, by BM25 and by the dense path: never the query's own document,
drawn from the miner's top three other documents (after ``skip`` of them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from quarry.assembly import build
from quarry.assembly.tuning import bm25_ranker, dense_ranker, mine_negatives
from quarry.evaluation import load_beir
from quarry.ingest.sources import FileSource
from quarry.settings import Settings, StoreSettings
from quarry.tuning.pairs import judged_pairs, with_hard_negatives
from quarry.tuning.sources import as_stored_chunks

from .conftest import build_slice


def test_each_miner_gives_a_passage_of_another_document_among_its_best(datasets: Path, tmp_path: Path) -> None:
    data = build_slice(datasets / "scifact", tmp_path / "data", train=12, test=2, distractors=60)
    quarry = build(Settings(store=StoreSettings(path=tmp_path / "quarry.db")))
    try:
        quarry.ingestor.run(FileSource(data / "corpus.jsonl", max_bytes=10**8), "c")
        pairs = as_stored_chunks(judged_pairs(load_beir(data, "train")), quarry.store, "c")
        for ranker in (bm25_ranker(quarry, "c"), dense_ranker(quarry, "c")):
            for skip in (0, 2):
                mined = with_hard_negatives(pairs, ranker, depth=12, skip=skip, seed=3)
                assert [(p.query, p.positive) for p in mined] == [(p.query, p.positive) for p in pairs]
                for pair in mined:
                    ranked = ranker(pair.query, 12)
                    own = {p.document for p in pairs if p.query == pair.query}
                    others = [text for doc, text in ranked if doc not in own]
                    assert pair.negative in others[skip : skip + 3] or (pair.negative == "" == "".join(others[skip:]))
        dense = with_hard_negatives(pairs, dense_ranker(quarry, "c"), seed=3)
        bm25 = with_hard_negatives(pairs, bm25_ranker(quarry, "c"), seed=3)
        assert sum(a.negative != b.negative for a, b in zip(dense, bm25, strict=True)) >= len(pairs) // 4
        assert mine_negatives(quarry, "c", pairs, miner="dense", skip=0) == with_hard_negatives(
            pairs, dense_ranker(quarry, "c"), depth=10
        )
        with pytest.raises(ValueError, match="unknown hard-negative miner 'bm52'"):
            mine_negatives(quarry, "c", pairs, miner="bm52")
    finally:
        quarry.close()
