"""Fine-tuning on 2 cores: the embedder on SciFact, and a LoRA adapter of the local chat model on the dev set.

    python bench/tuning.py embeddings [--synthetic N [--synthetic-model M]] [--titles N] [--epochs E]   # SciFact: train → test split
    python bench/tuning.py embeddings ... [--miner bm25|dense] [--skip N] [--batch B [--mini-batch M]]  # the training recipe
    python bench/tuning.py transfer                                  # the SciFact-tuned model on the dev set
    python bench/tuning.py llm [--steps N]                           # dev set: tune split → test split

Embeddings: SciFact's corpus is ingested into a store in bench/_work/tuning (kept between runs); training pairs
are the train split's 809 judged queries (plus ``--synthetic`` questions the local model writes over corpus
documents, kept only when hybrid search finds their document again in the top 5), each with a hard negative
mined by BM25 (``--miner dense``: by the packaged model, past its first ``--skip`` other documents; the bench keeps
BM25 as its default so the earlier commands in RESULTS still mean what they ran, while ``quarry tune embeddings``
defaults to ``--miner dense --skip 2``), plus ``--titles`` corpus documents' titles as pseudo-queries (in-batch
negatives only); the tuned model's shadow index is built and the test split is scored on the dense path and the fused
default, both models, per query, with paired tests — exactly what ``quarry tune embeddings`` does. The test
split is never used for anything but this report. LLM: ``quarry tune llm``'s flow on bench/qa/dev.jsonl.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from quarry.assembly import build  # noqa: E402
from quarry.assembly.tuning import (  # noqa: E402
    answers_eval,
    chat_loader,
    gather_pairs,
    llm_examples,
    model_registry,
    models_folder,
    served_search,
    tuned_loader,
)
from quarry.ingest.sources import FileSource  # noqa: E402
from quarry.settings import Settings, StoreSettings  # noqa: E402
from quarry.tuning.embedder_job import tune_embeddings  # noqa: E402
from quarry.tuning.embedder_training import EmbedderTraining  # noqa: E402
from quarry.tuning.titles import title_pairs  # noqa: E402
from tuning_report import report  # noqa: E402

SCIFACT = BENCH.parents[1] / "shared/datasets/scifact"
WORK = BENCH / "_work/tuning"
DEV = BENCH / "qa/dev.jsonl"


def _log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, flush=True)


def _ci(gate: Any) -> str:
    d = gate.test.difference
    return f"{d.mean:+.4f} [{d.low:+.4f}, {d.high:+.4f}]"


def embeddings(args: argparse.Namespace) -> None:
    quarry = build(Settings(store=StoreSettings(path=WORK / "quarry.db")))
    began = time.monotonic()
    report = quarry.ingestor.run(FileSource(SCIFACT / "corpus.jsonl.gz", max_bytes=10**10), "scifact")
    _log(f"ingest: {report.documents_written} documents written in {time.monotonic() - began:.0f} s")
    synthetic: list[Any] = []
    if args.synthetic:
        from tuning_validation import synthetic_questions

        synthetic = synthetic_questions(quarry, args.synthetic, args.synthetic_model)
        _log(f"synthetic: {len(synthetic)} questions by {args.synthetic_model}")
    titles = title_pairs(quarry.store, "scifact", count=args.titles, seed=1).pairs if args.titles else []
    plan = gather_pairs(quarry, "scifact", queries=SCIFACT, split="train", eval_data=SCIFACT, eval_split="test",
                        feedback=False, synthetic=synthetic, hard_negatives=True, titles=titles, miner=args.miner,
                        skip=args.skip)  # fmt: skip
    _log(f"pairs: {plan.sources}, hard negatives: {plan.negatives}")
    settings = EmbedderTraining(epochs=args.epochs, batch_size=args.batch, mini_batch=args.mini_batch or None)
    result = tune_embeddings(
        model_registry(quarry), "scifact", plan.train, plan.evaluation, base_model_id=quarry.embedder.model_id,
        out_root=models_folder(quarry), search=served_search(quarry), load=tuned_loader(quarry), settings=settings,
        sources=plan.sources, negatives=plan.negatives, by="bench",
        on_step=lambda p: _log(f"step {p.step}/{p.total} loss {p.loss:.3f} eta {p.eta:.0f} s") if p.step % 5 == 0 else None,
    )  # fmt: skip
    latency = _query_latency(quarry, result.entry.model_id, plan.evaluation.queries)
    data = {
        "entry": result.entry.id, "model_id": result.entry.model_id, "pairs": plan.sources,
        "steps": result.steps, "train_s": result.train_seconds, "export_s": result.export_seconds,
        "index_s": result.index_seconds, "chunks": quarry.store.collection("scifact").chunks,
        "scores": result.scores, "latency_ms": latency, "epochs": args.epochs, "synthetic": args.synthetic,
        "synthetic_model": args.synthetic_model,
        "titles": args.titles, "date": time.strftime("%Y-%m-%d"), "at": time.time(), "negatives": plan.negatives,
        "miner": args.miner, "skip": args.skip, "batch": args.batch, "mini_batch": args.mini_batch,
        "gates": {m: {"summary": g.describe(), "ci": _ci(g), "p": g.test.p_value, "passed": g.passed}
                  for m, g in result.gates.items()},
    }  # fmt: skip
    (WORK / "embeddings.json").write_text(json.dumps(data, indent=2))
    runs = WORK / "embedding-runs"  # every test-split run, so the report can set the latest beside earlier ones
    runs.mkdir(exist_ok=True)
    (runs / f"{data['model_id']}.json").write_text(json.dumps(data, indent=2))
    _log(json.dumps(data, indent=2))
    quarry.close()


def _query_latency(quarry: Any, model_id: str, queries: dict[str, str]) -> dict[str, float]:
    out = {}
    for name, embedder in (("packaged", quarry.embedder), ("tuned", quarry.embedders(model_id))):
        texts = list(queries.values())[:200]
        embedder.embed_query(texts[0])
        times = []
        for text in texts:
            began = time.perf_counter()
            embedder.embed_query(text)
            times.append((time.perf_counter() - began) * 1000)
        out[name] = round(statistics.median(times), 2)
    return out


def llm(args: argparse.Namespace) -> None:
    from quarry.llm.local import locate_model
    from quarry.tuning.llm_job import tune_llm
    from quarry.tuning.lora_training import LoraTraining

    quarry = build(Settings(store=StoreSettings(path=WORK / "quarry.db")))
    train, held_out, abstain = llm_examples(quarry, DEV, "tune", "test", feedback=False)
    answers = None
    if args.answers:  # the served pipeline over the dev set's documents (bench/qa_corpus.py's collection)
        from qa_corpus import COLLECTION, ensure_corpus

        dev = ensure_corpus(Settings(store={"path": BENCH / "_work/qa/quarry.db"}, llm={"local": {"n_threads": 2}}))
        answers = answers_eval(dev, DEV, "test", COLLECTION)
    settings = LoraTraining(epochs=args.epochs, max_steps=args.steps, learning_rate=args.lr)
    result = tune_llm(
        model_registry(quarry), train, held_out, base_model=locate_model("smollm2"), base_model_id="local:smollm2",
        out_root=models_folder(quarry), settings=settings, load=chat_loader(quarry), abstain=abstain,
        eval_name="dev-test", answers=answers, by="bench",
        on_step=lambda p: _log(f"step {p.step}/{p.total} loss {p.loss:.3f} eta {p.eta:.0f} s") if p.step % 10 == 0 else None,
    )  # fmt: skip
    registry = model_registry(quarry)
    gates = {name: registry.gate(result.entry, result.production, name) for name in result.scores}
    data = {"entry": result.entry.id, "examples": len(train), "held_out": len(held_out), "steps": result.adapter.steps,
            "train_s": result.adapter.seconds, "load_s": result.adapter.load_seconds, "scores": result.scores,
            "gates": {name: {"summary": g.describe(), "ci": _ci(g), "p": g.test.p_value, "passed": g.passed}
                      for name, g in gates.items()},
            "lr": args.lr, "loss_first": result.adapter.losses[:10], "loss_last": result.adapter.losses[-10:],
            "adapter": str(Path(result.entry.artifact or "") / "adapter.gguf"), "answers": bool(args.answers), "date": time.strftime("%Y-%m-%d")}  # fmt: skip
    (WORK / "llm.json").write_text(json.dumps(data, indent=2))
    _log(json.dumps(data, indent=2))
    quarry.close()


def tools(args: argparse.Namespace) -> None:
    """The answer-format adapter of ``llm`` on BFCL tool calls: the same seeded questions with and without it."""
    from agents import run_bfcl
    from quarry.evaluation.stats import paired_test

    adapter = Path(json.loads((WORK / "llm.json").read_text())["adapter"])
    rows = {}
    for category in ("simple_python", "multiple"):
        base = run_bfcl("smollm2", category, args.limit)
        tuned = run_bfcl("smollm2", category, args.limit, lora=adapter)
        test = paired_test(base["per_item"], tuned["per_item"])
        rows[category] = {"n": base["n"], "base": base["accuracy"], "tuned": tuned["accuracy"], "p": test.p_value,
                          "ci": f"{test.difference.mean:+.3f} [{test.difference.low:+.3f}, {test.difference.high:+.3f}]",
                          "p50_s": [base["p50_s"], tuned["p50_s"]]}  # fmt: skip
        _log(json.dumps(rows[category]))
    (WORK / "tools.json").write_text(json.dumps({"limit": args.limit, "rows": rows}, indent=2))


def transfer(args: argparse.Namespace) -> None:
    """The SciFact-tuned embedder on a second public set it never saw: the dev set's questions with gold documents
    (both splits: nothing here was trained on them) over the dev corpus (an essay, mixed office documents, 1,030
    SciFact abstracts) — does the tuning generalise or overfit?"""
    from dataclasses import replace

    from qa_corpus import COLLECTION, ensure_corpus
    from quarry.evaluation.qa import load_qa_set
    from quarry.evaluation.stats import paired_test
    from quarry.pipeline.reembed import shadow_name, sync_shadow
    from quarry.stores.models import ModelEntry
    from quarry.tuning.embedder_job import ndcg_scores
    from quarry.tuning.registry import embedder_target
    from quarry.tuning.sources import qa_eval_queries

    emb = json.loads((WORK / "embeddings.json").read_text())
    tuning = build(Settings(store=StoreSettings(path=WORK / "quarry.db")))
    artifact = models_folder(tuning) / emb["model_id"]
    dev = ensure_corpus(Settings(store={"path": BENCH / "_work/qa/quarry.db"}))
    registry, target = model_registry(dev), embedder_target(COLLECTION)
    registry.ensure_base(target, model_id=dev.embedder.model_id, kind="embedder")
    entry = next((e for e in registry.models.entries(target) if e.model_id == emb["model_id"]), None)
    if entry is None:
        entry = registry.models.add(ModelEntry(target, "embedder", emb["model_id"], artifact=str(artifact),
                                               base=dev.embedder.model_id, lineage={"from": "bench/tuning.py"}))  # fmt: skip
        entry = registry.models.update(replace(entry, index=shadow_name(COLLECTION, entry.version)))
    began = time.monotonic()
    sync_shadow(dev.store, COLLECTION, entry.index, tuned_loader(dev)(emb["model_id"], artifact))
    _log(f"dev shadow index in {time.monotonic() - began:.0f} s")
    items = load_qa_set(DEV).items
    evaluation = qa_eval_queries(items, dev.store, COLLECTION, "dev-all")
    search, rows = served_search(dev), {}
    for mode in ("dense", "hybrid"):
        base = ndcg_scores(search, COLLECTION, evaluation, mode)
        tuned = ndcg_scores(search, entry.index, evaluation, mode)
        for group, ids in _transfer_groups(sorted(base)).items():
            test = paired_test([base[i] for i in ids], [tuned[i] for i in ids])
            d = test.difference
            rows[f"{mode}{group}"] = {"production": statistics.fmean(base[i] for i in ids),
                                      "candidate": statistics.fmean(tuned[i] for i in ids),
                                      "ci": f"{d.mean:+.4f} [{d.low:+.4f}, {d.high:+.4f}]", "p": test.p_value,
                                      "n": test.n}  # fmt: skip
    rows["model_id"] = emb["model_id"]
    (WORK / "transfer.json").write_text(json.dumps(rows, indent=2))
    _log(json.dumps(rows, indent=2))


def _transfer_groups(ids: list[str]) -> dict[str, list[str]]:
    """All questions, then those over documents outside SciFact (the essay and the office documents: text the
    tuning never read) apart from those over SciFact abstracts (whose corpus the synthetic questions sampled)."""
    scifact = [i for i in ids if i.startswith(("sf-", "sfx-"))]
    return {"": ids, ", essay + office": [i for i in ids if i not in scifact], ", SciFact abstracts": scifact}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["embeddings", "transfer", "llm", "tools", "report"])
    parser.add_argument("--limit", type=int, default=40, help="tools: BFCL questions per category")
    parser.add_argument("--synthetic", type=int, default=0)
    parser.add_argument("--synthetic-model", default="smollm2", help="embeddings: the packaged model asking them")
    parser.add_argument("--titles", type=int, default=0, help="embeddings: corpus titles as pseudo-queries (≤ N)")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--miner", choices=["bm25", "dense"], default="bm25", help="embeddings: hard negatives' miner")
    parser.add_argument("--skip", type=int, default=0, help="embeddings: pass over the miner's first N documents")
    parser.add_argument("--batch", type=int, default=32, help="embeddings: pairs per step")
    parser.add_argument("--mini-batch", type=int, default=0, help="embeddings: texts embedded at once (GradCache)")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--no-answers", dest="answers", action="store_false", help="skip the served-pipeline score")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    if args.part == "embeddings":
        embeddings(args)
    elif args.part == "transfer":
        transfer(args)
    elif args.part == "llm":
        llm(args)
    elif args.part == "tools":
        tools(args)
    report()


if __name__ == "__main__":
    main()
