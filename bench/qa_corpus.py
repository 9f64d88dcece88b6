"""The answer dev set's corpus, ingested into one Quarry collection (shared by the answer benchmarks).

    from qa_corpus import ensure_corpus, DEV_SET
    quarry = ensure_corpus(settings)   # ingests bench/qa's files and SciFact subset into collection "qa"

The files stay in ../shared/datasets; the SciFact subset list is written on first use.
"""

from __future__ import annotations

import sys
from pathlib import Path

from quarry.assembly import Quarry, build
from quarry.ingest.sources import FileSource
from quarry.settings import Settings

HERE = Path(__file__).resolve().parent
DEV_SET = HERE / "qa" / "dev.jsonl"
COLLECTION = "qa"
sys.path.insert(0, str(HERE / "qa"))

import build as qa_build  # noqa: E402


def corpus_files() -> list[Path]:
    """The dev set's files; the SciFact subset is written on first use (the committed questions are left alone)."""
    if not qa_build.SCIFACT_SUBSET.is_file():
        qa_build.write_scifact_subset(qa_build.scifact_abstracts())
    return [*qa_build.corpus_files(), qa_build.SCIFACT_SUBSET]


def ensure_corpus(settings: Settings) -> Quarry:
    """The system for ``settings`` with the dev corpus in collection ``qa`` (unchanged files are skipped)."""
    quarry = build(settings)
    for path in corpus_files():
        report = quarry.ingestor.run(FileSource(path, max_bytes=10**9), COLLECTION)
        if not report.ok:
            raise SystemExit(f"could not ingest {path}: {report.failures[0].reason}")
    return quarry
