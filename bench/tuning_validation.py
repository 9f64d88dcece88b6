"""How long to train the embedder, chosen on SciFact's *train* split only (the test split is never read here).

    python bench/tuning_validation.py [--epochs 4] [--positives chunk|document] [--validation 0.2] [--titles N [--no-judged]] [--lr X]
    python bench/tuning_validation.py --epochs 1 --synthetic 800 --synthetic-model qwen2.5-0.5b   # + questions a model wrote
    python bench/tuning_validation.py --epochs 1 --synthetic 800 --synthetic-model qwen2.5-0.5b --no-hard-negatives   # in-batch only
    python bench/tuning_validation.py --report        # the RESULTS section from the saved runs (a stopped run too)

The train split's judged pairs (as ``quarry tune embeddings`` builds them: ``--positives chunk`` = each judged
document's best-matching stored chunk, ``document`` = the whole abstract) are split by document
(``quarry.tuning.pairs.split_by_document``, as ``quarry tune embeddings`` holds out its validation): the model
trains on the rest with one BM25 hard negative per pair, for up to ``--epochs`` epochs, and after each epoch scores
the held-out documents' queries (a query with a judged document on the training side is not among them). Scoring: dense nDCG@10 over a candidate pool shared
by all validation queries — each one's top 20 chunks by BM25 and by the packaged model, plus every chunk of its
judged documents — documents ranked by their best chunk, as the served dense path does. The packaged model is
scored on the same pool; each epoch gets a paired sign-flip test against it. The pool hides distractors only
the tuned model would rank high, so its gains here are optimistic: the pool chooses the training length, the
test split (``python bench/tuning.py embeddings``) measures the gain. ``--titles N`` adds up to N corpus documents'
titles as pseudo-queries (``quarry.tuning.titles``, seed 1, in-batch negatives only), as ``quarry tune embeddings
--titles N`` does; a validation document's title is among them, as a test document's is in the test run. ``--synthetic N``
adds up to N round-trip-filtered questions the packaged ``--synthetic-model`` writes over sampled corpus chunks (seed
1; the replies are kept in bench/_work/tuning/synthetic-replies-<model>.jsonl, which ``bench/tuning.py embeddings`` reuses), each with a BM25 hard
negative. Needs ``quarry[tune]`` and the
SciFact store that ``python bench/tuning.py embeddings`` ingests into bench/_work/tuning (made here if missing).
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import shutil
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from quarry.assembly import build  # noqa: E402
from quarry.assembly.tuning import mine_negatives  # noqa: E402
from quarry.evaluation.datasets import load_beir  # noqa: E402
from quarry.evaluation.metrics import ndcg  # noqa: E402
from quarry.evaluation.stats import paired_test  # noqa: E402
from quarry.ingest.sources import FileSource  # noqa: E402
from quarry.pipeline.reembed import all_documents  # noqa: E402
from quarry.settings import Settings, StoreSettings  # noqa: E402
from quarry.tuning.embedder_job import held_out_queries  # noqa: E402
from quarry.tuning.embedder_training import EmbedderTraining, base_model_dir, train_embedder  # noqa: E402
from quarry.tuning.pairs import EvalQueries, TrainingPair, judged_pairs, split_by_document  # noqa: E402
from quarry.tuning.sources import as_stored_chunks, doc_key  # noqa: E402
from quarry.tuning.synthetic import ReplyLog, synthetic_pairs  # noqa: E402
from quarry.tuning.titles import title_pairs  # noqa: E402
from results import machine, read_section, write_section  # noqa: E402

SCIFACT = BENCH.parents[1] / "shared/datasets/scifact"
WORK = BENCH / "_work/tuning"
COLLECTION = "scifact"
POOL_DEPTH = 20


def _log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, flush=True)


def _split(quarry: Any, args: argparse.Namespace) -> tuple[list[TrainingPair], EvalQueries]:
    """(training pairs with hard negatives, the validation queries with their judged documents)."""
    pairs = judged_pairs(load_beir(SCIFACT, "train"))
    if args.positives == "chunk":
        pairs = as_stored_chunks(pairs, quarry.store, COLLECTION)
    fit, held = split_by_document(pairs, args.validation, seed=0)
    return _negatives(quarry, fit, args), held_out_queries(held)


def _negatives(quarry: Any, pairs: list[TrainingPair], args: argparse.Namespace) -> list[TrainingPair]:
    return mine_negatives(quarry, COLLECTION, pairs, miner=args.negatives, skip=args.skip)


def _pool(quarry: Any, queries: dict[str, str], qrels: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(chunk texts, their document keys): the validation queries' BM25 and packaged-dense top chunks and every
    chunk of their judged documents."""
    uris = {doc_key(u): u for u in all_documents(quarry.store, COLLECTION)}
    chunks: dict[str, tuple[str, str]] = {}
    for qid, text in queries.items():
        vector = quarry.embedder.embed_query(text)
        hits = quarry.store.search_text(COLLECTION, text, POOL_DEPTH)
        hits += quarry.store.search_vector(COLLECTION, vector, POOL_DEPTH)
        for hit in hits:
            chunks[hit.chunk.id] = (hit.chunk.context, doc_key(hit.document_uri))
        for doc in qrels[qid]:
            for chunk in quarry.store.chunks(COLLECTION, uris[doc]) if doc in uris else []:
                chunks[chunk.id] = (chunk.context, doc)
    return [t for t, _ in chunks.values()], [d for _, d in chunks.values()]


def synthetic_questions(quarry: Any, count: int, model: str) -> list[TrainingPair]:
    """Round-trip-filtered questions the packaged ``model`` writes over the corpus (as ``quarry tune embeddings
    --synthetic N --synthetic-model`` does), its replies kept in bench/_work/tuning/synthetic-replies-<model>.jsonl
    so a rerun (or the test-split run after the validation one) asks nothing again and trains on the same questions."""
    from quarry.assembly.tuning import served_search
    from quarry.settings.llm import LLMSettings, LocalModelSettings

    writer = build(
        Settings(store=StoreSettings(path=WORK / "quarry.db"), llm=LLMSettings(local=LocalModelSettings(model=model)))
    )
    search = served_search(writer)
    log = ReplyLog(WORK / f"synthetic-replies-{model}.jsonl", writer.chat_model.model_id)
    made = synthetic_pairs(writer.store, COLLECTION, writer.chat_model, lambda q, k: search(q, COLLECTION, k, "hybrid"),
                           count=count, seed=1, progress=lambda i, n: _log(f"question {i}/{n}") if i % 50 == 0 else None,
                           log=log)  # fmt: skip
    _log(f"synthetic ({model}): kept {len(made.pairs)} of {made.asked} (malformed {made.malformed}, lost {made.lost})")
    writer.close()
    return made.pairs


def _score(
    model: Any, queries: dict[str, str], qrels: dict[str, Any], pool: tuple[list[str], list[str]]
) -> dict[str, float]:
    """Dense nDCG@10 per validation query over the pool (documents by their best chunk)."""
    import numpy as np

    model.max_seq_length = 256
    texts, docs = pool
    passages = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    asked = model.encode(list(queries.values()), batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    scores: dict[str, float] = {}
    for (qid, _), row in zip(queries.items(), asked @ passages.T, strict=True):
        best: dict[str, float] = {}
        for at in np.argsort(-row):
            best.setdefault(docs[at], float(row[at]))
            if len(best) == 10:
                break
        scores[qid] = ndcg(list(best), qrels[qid], 10)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--positives", choices=["chunk", "document"], default="chunk")
    parser.add_argument("--validation", type=float, default=0.2, help="share of the train documents held out")
    parser.add_argument("--no-judged", dest="judged", action="store_false", help="train on --titles pairs only")
    parser.add_argument("--lr", type=float, default=2e-5, help="peak learning rate")
    parser.add_argument("--no-hard-negatives", dest="hard", action="store_false", help="in-batch negatives only")
    parser.add_argument("--negatives", choices=["bm25", "dense"], default="bm25", help="hard negatives' miner")
    parser.add_argument("--skip", type=int, default=0, help="pass over the miner's first N other documents")
    parser.add_argument("--batch", type=int, default=32, help="pairs per step (in-batch negatives)")
    parser.add_argument("--mini-batch", type=int, default=0, help="texts embedded at once (cached gradient)")
    parser.add_argument("--titles", type=int, default=0, help="corpus titles as pseudo-queries (at most N)")
    parser.add_argument("--synthetic", type=int, default=0, help="questions a local model writes (at most N)")
    parser.add_argument("--synthetic-model", default="smollm2", help="the packaged model that writes them")
    parser.add_argument("--report", action="store_true", help="only rewrite the RESULTS section from saved runs")
    args = parser.parse_args()
    if args.report:
        return report()
    from sentence_transformers import SentenceTransformer

    quarry = build(Settings(store=StoreSettings(path=WORK / "quarry.db")))
    quarry.ingestor.run(FileSource(SCIFACT / "corpus.jsonl.gz", max_bytes=10**10), COLLECTION)
    train, validation = _split(quarry, args)
    titles = title_pairs(quarry.store, COLLECTION, count=args.titles, seed=1).pairs if args.titles else []
    train, args.title_pairs = (train if args.judged else []) + titles, len(titles)
    synthetic = synthetic_questions(quarry, args.synthetic, args.synthetic_model) if args.synthetic else []
    train, args.synthetic_pairs = (
        train + _negatives(quarry, synthetic, args),
        len(synthetic),
    )
    train = train if args.hard else [replace(p, negative="") for p in train]
    queries, qrels = dict(validation.queries), validation.qrels
    pool = _pool(quarry, queries, qrels)
    _log(f"{len(train)} training pairs; {len(queries)} validation queries over a pool of {len(pool[0])} chunks")
    began = time.monotonic()
    base = _score(SentenceTransformer(str(base_model_dir()), device="cpu"), queries, qrels, pool)
    _log(f"packaged: {statistics.fmean(base.values()):.4f} ({time.monotonic() - began:.0f} s to score)")
    ids = sorted(base)
    rows: list[dict[str, Any]] = []

    def on_epoch(epoch: int, model: Any) -> None:
        tuned = _score(model, queries, qrels, pool)
        test = paired_test([base[i] for i in ids], [tuned[i] for i in ids])
        d = test.difference
        rows.append({"epoch": epoch, "ndcg": statistics.fmean(tuned.values()), "p": test.p_value,
                     "ci": f"{d.mean:+.4f} [{d.low:+.4f}, {d.high:+.4f}]", "at_s": time.monotonic() - began})  # fmt: skip
        _log(json.dumps(rows[-1]))
        _save(args, len(train), queries, pool, base, rows, None)  # kept epoch by epoch: a stopped run still reports

    out = WORK / f"validate-{_run_name(args)}"
    shutil.rmtree(out, ignore_errors=True)
    settings = EmbedderTraining(epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch,
                                mini_batch=args.mini_batch or None)  # fmt: skip
    trained = train_embedder(train, out, settings, on_epoch=on_epoch,
                             progress=lambda p: _log(f"step {p.step}/{p.total} loss {p.loss:.3f}") if p.step % 10 == 0 else None)  # fmt: skip
    _save(args, len(train), queries, pool, base, rows, trained.steps)
    shutil.rmtree(out, ignore_errors=True)
    quarry.close()
    report()


def _save(args: argparse.Namespace, pairs: int, queries: dict[str, str], pool: tuple[list[str], list[str]],
          base: dict[str, float], rows: list[dict[str, Any]], steps: int | None) -> None:  # fmt: skip
    data = {"positives": args.positives, "planned": args.epochs, "pairs": pairs, "queries": len(queries),
            "pool": len(pool[0]), "packaged": statistics.fmean(base.values()), "epochs": rows, "steps": steps,
            "validation": args.validation}  # fmt: skip
    data["titles"], data["lr"], data["judged"] = args.titles, args.lr, args.judged
    data["date"] = time.strftime("%Y-%m-%d")
    data["title_pairs"] = args.title_pairs
    data["synthetic"], data["synthetic_model"] = args.synthetic, args.synthetic_model
    data["synthetic_pairs"] = args.synthetic_pairs
    data["hard_negatives"] = args.hard
    data.update(negatives=args.negatives, skip=args.skip, batch=args.batch, mini_batch=args.mini_batch)
    (WORK / f"validate-{_run_name(args)}.json").write_text(json.dumps(data, indent=2))


def _run_name(args: argparse.Namespace) -> str:
    lr = f"-lr{args.lr:g}" if args.lr != 2e-5 else ""
    only = ("" if args.judged else "-nojudged") + ("" if args.hard else "-nohard")
    made = f"-synthetic{args.synthetic}-{args.synthetic_model}" if args.synthetic else ""
    recipe = (f"-{args.negatives}" if args.negatives != "bm25" else "") + (f"-skip{args.skip}" if args.skip else "")
    recipe += f"-b{args.batch}" if args.batch != 32 else ""
    titles = f"-titles{args.titles}" if args.titles else ""
    return f"{args.positives}-e{args.epochs}{titles}{made}{lr}{only}{recipe}"


def _command(run: dict[str, Any]) -> str:
    """The command that made ``run``, in backticks (as RESULTS shows it, and :data:`RUN` finds it)."""
    return (
        f"`python bench/tuning_validation.py --positives {run['positives']} --epochs {run.get('planned', len(run['epochs']))}"
        + (f" --titles {run['titles']}" if run.get("titles") else "")
        + (f" --synthetic {run['synthetic']} --synthetic-model {run['synthetic_model']}" if run.get("synthetic") else "")
        + (f" --lr {run['lr']:g}" if run.get("lr", 2e-5) != 2e-5 else "")
        + ("" if run.get("judged", True) else " --no-judged")
        + ("" if run.get("hard_negatives", True) else " --no-hard-negatives") + _recipe_flags(run) + "`"
    )  # fmt: skip


def _recipe_flags(run: dict[str, Any]) -> str:
    flags = f" --negatives {run['negatives']}" if run.get("negatives", "bm25") != "bm25" else ""
    flags += f" --skip {run['skip']}" if run.get("skip") else ""
    flags += f" --batch {run['batch']}" if run.get("batch", 32) != 32 else ""
    return flags + (f" --mini-batch {run['mini_batch']}" if run.get("mini_batch") else "")


SECTION = "Fine-tuning: choosing the embedder's epochs on a validation split of SciFact train"
RUN = re.compile(r"^`python bench/tuning_validation\.py [^`]*`", re.M)


def _reported_runs() -> dict[str, str]:
    """The runs already in RESULTS (command → its block), so a checkout without the earlier runs' saved files
    (bench/_work is not kept) adds to the section instead of dropping them."""
    section = read_section(SECTION)
    starts = [m.start() for m in RUN.finditer(section)] + [len(section)]
    blocks = [section[a:b].strip() for a, b in itertools.pairwise(starts)]
    return {RUN.match(block).group(): block for block in blocks if RUN.match(block)}  # type: ignore[union-attr]


def report() -> None:
    runs = [json.loads(p.read_text()) for p in sorted(WORK.glob("validate-*.json"))]
    lines = [f"Machine: {machine().rsplit(', ', 1)[0]}; each run's date beside it.", ""]
    earlier = _reported_runs()
    for run in runs:
        command = _command(run)
        earlier.pop(command, None)
        lines += [
            command + " — "
            + (f"{run['pairs'] - run.get('title_pairs', 0) - run.get('synthetic_pairs', 0)} training pairs from {1 - run['validation']:.0%} of the train split's documents"
               if run.get("judged", True) else "no judged pairs")
            + (f" and {run['title_pairs']} title pairs" if run.get("titles") else "")
            + (f" and {run['synthetic_pairs']} {run['synthetic_model']} questions" if run.get("synthetic") else "")
            + ("" if run.get("hard_negatives", True) else ", in-batch negatives only (no BM25 hard negative)") + "; "
            f"{run['queries']} validation queries (the other documents' queries) over a pool of {run['pool']} "
            f"chunks; dense nDCG@10; packaged model {run['packaged']:.4f}"
            + (f"; {run['steps']} steps of {run.get('batch', 32)} in all." if run.get("steps") else " (stopped after the last epoch shown).")
            + " The epochs are points of one run with a linear learning-rate decay over all of them."
            + f" Run {run.get('date', '2026-12-04')}.", "",
            "| epochs | tuned | difference [95% CI] | p |", "|---:|---:|---:|---:|",
            *(f"| {r['epoch']} | {r['ndcg']:.4f} | {r['ci']} | {r['p']:.4f} |" for r in run["epochs"]), "",
        ]  # fmt: skip
    lines += [block + "\n" for block in earlier.values()]
    write_section(SECTION, "\n".join(lines))


if __name__ == "__main__":
    main()
