"""Ingest BEIR SciFact (5,183 abstracts) from scratch, then again unchanged; compare with the raw
embedder on the same chunks.

    python bench/ingest.py [--corpus ../shared/datasets/scifact/corpus.jsonl.gz]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from quarry.assembly import build
from quarry.embeddings import MiniLMEmbedder
from quarry.ingest.sources import FileSource
from quarry.settings import Settings, StoreSettings
from results import machine, write_section

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared/datasets/scifact/corpus.jsonl.gz"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--keep", type=Path, help="keep the store in this folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        quarry = build(Settings(store=StoreSettings(path=folder / "quarry.db")))
        source = FileSource(args.corpus, max_bytes=10**9)
        first = quarry.ingestor.run(source, "scifact")
        rss = peak_rss_mb()
        second = quarry.ingestor.run(source, "scifact")
        trace = quarry.trace_store.trace(first.trace_id)
        assert trace is not None
        stages = {str(s["name"]): float(str(s["duration"])) for s in trace.spans if s.get("parent_id")}
        store_mb = sum(p.stat().st_size for p in folder.glob("quarry.db*")) / 1e6
        texts = [
            c.context
            for d in quarry.store.documents("scifact", limit=10**6)
            for c in quarry.store.chunks("scifact", d.uri)
        ]
        quarry.close()
    raw = MiniLMEmbedder()
    raw.embed(texts[:64])
    began = time.perf_counter()
    raw.embed(texts)
    raw_s = time.perf_counter() - began
    report(first, second, stages, rss, store_mb, len(texts), raw_s, args.corpus)


def report(first, second, stages, rss, store_mb, chunks, raw_s, corpus) -> None:  # type: ignore[no-untyped-def]
    docs = first.documents_written
    raw_rate = chunks / raw_s
    pipe_rate = first.chunks_written / first.seconds
    stage_rows = "\n".join(
        f"| {name} | {secs:.2f} | {100 * secs / first.seconds:.1f}% |" for name, secs in stages.items()
    )
    body = f"""Command: `python bench/ingest.py` (corpus `{corpus.name}`; default settings: MiniLM int8 ONNX,
max_tokens 200, overlap 24, SQLite store). Machine: {machine()}.

| measure | value | target |
|---|---|---|
| documents | {docs} | |
| chunks | {first.chunks_written} | |
| first ingest | {first.seconds:.1f} s | |
| documents/s | {docs / first.seconds:.0f} | |
| chunks/s (pipeline) | {pipe_rate:.0f} | |
| chunks/s (raw embedder alone, same chunks) | {raw_rate:.0f} | |
| pipeline / raw embedder | {100 * pipe_rate / raw_rate:.0f}% | ≥ 80% |
| embedding share of ingest time | {100 * stages.get("embed", 0) / first.seconds:.0f}% | |
| unchanged re-run | {second.seconds:.2f} s ({100 * second.seconds / first.seconds:.1f}% of first; {second.chunks_embedded} embedded) | < 5% |
| peak RSS | {rss:.0f} MB | < 1,500 MB |
| store size (SQLite + WAL) | {store_mb:.1f} MB | |

Time per stage of the first run:

| stage | seconds | share |
|---|---|---|
{stage_rows}
"""
    print(body)
    write_section("Ingestion: SciFact from scratch and unchanged", body)


if __name__ == "__main__":
    main()
