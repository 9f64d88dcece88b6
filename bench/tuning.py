"""Fine-tuning on 2 cores: the embedder on SciFact, and a LoRA adapter of the local chat model on the dev set.

    python bench/tuning.py embeddings [--synthetic N [--synthetic-model M]] [--titles N] [--epochs E]   # SciFact: train → test split
    python bench/tuning.py transfer                                  # the SciFact-tuned model on the dev set
    python bench/tuning.py llm [--steps N]                           # dev set: tune split → test split

Embeddings: SciFact's corpus is ingested into a store in bench/_work/tuning (kept between runs); training pairs
are the train split's 809 judged queries (plus ``--synthetic`` questions the local model writes over corpus
documents, kept only when hybrid search finds their document again in the top 5), each with a BM25 hard
negative (plus ``--titles`` corpus documents' titles as pseudo-queries, in-batch negatives only); the tuned model's shadow index is built and the test split is scored on the dense path and the fused
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
from results import machine, write_section  # noqa: E402

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


def report() -> None:
    emb = json.loads((WORK / "embeddings.json").read_text()) if (WORK / "embeddings.json").is_file() else None
    lm = json.loads((WORK / "llm.json").read_text()) if (WORK / "llm.json").is_file() else None
    moved = json.loads((WORK / "transfer.json").read_text()) if (WORK / "transfer.json").is_file() else None
    if emb:
        write_section("Fine-tuning: embedder on SciFact", "\n".join(_embedder_lines(emb, moved)))
    if lm:
        write_section("Fine-tuning: LoRA on the dev set", "\n".join(_llm_lines(lm)))


def _embedder_lines(emb: dict[str, Any], moved: dict[str, Any] | None) -> list[str]:
    lines = [f"Machine: {_machine(emb)}.", ""]
    if emb:
        lines += [
            f"`{_embed_command(emb)}` — all-MiniLM-L6-v2 fine-tuned on SciFact's "
            f"train split ({emb['pairs']}; judged and synthetic pairs with one "
            f"{emb.get('negatives', 'bm25').replace('bm25', 'BM25')}-mined hard negative each), "
            f"{emb['steps']} steps of {emb.get('batch', 32)}"
            + (f" (GradCache, {emb['mini_batch']} texts at a time)" if emb.get("mini_batch") else "")
            + "; scored on the "
            "300 test queries (never seen in training) over the whole corpus, chunk-level index.", "",
            "| path | packaged | tuned | difference [95% CI] | p (paired sign-flip) |", "|---|---:|---:|---:|---:|",
        ]  # fmt: skip
        for mode, s in emb["scores"].items():
            gate = emb["gates"].get(mode, {})
            lines.append(f"| {mode} nDCG@10 | {s['production']:.4f} | {s['candidate']:.4f} | {gate.get('ci', '')} | "
                         f"{gate.get('p', float('nan')):.4f} |")  # fmt: skip
        for run in _earlier_runs(emb):
            lines += [f"| {mode}, earlier: `{_embed_command(run)}` | {s['production']:.4f} | "
                      f"{s['candidate']:.4f} | {run['gates'][mode]['ci']} | {run['gates'][mode]['p']:.4f} |"
                      for mode, s in run["scores"].items()]  # fmt: skip
        lines += ["", f"Cost on 2 cores: training {emb['train_s'] / 60:.1f} min, ONNX export + int8 "
                  f"{emb['export_s']:.0f} s, shadow index of {emb['chunks']} chunks {emb['index_s'] / 60:.1f} min; "
                  f"query embedding p50 {emb['latency_ms']['packaged']} ms packaged vs "
                  f"{emb['latency_ms']['tuned']} ms tuned (int8, 1 query).", ""]  # fmt: skip
    if moved:
        lines += [
            f"`python bench/tuning.py transfer` — {_which(moved, emb)} SciFact-tuned model "
            f"(`{moved.get('model_id', emb['model_id'])}`) on a second set: the dev set's "
            f"{moved['dense']['n']} questions with gold documents over its corpus (an essay, office documents, "
            "1,030 SciFact abstracts), nDCG@10 of the gold documents. None of these questions was trained on; the "
            "essay and office documents are text the tuning never read, while the synthetic questions were written "
            "over sampled chunks of the whole SciFact corpus, so some of these abstracts were seen unlabelled:", "",
            "| path, questions | n | packaged | SciFact-tuned | difference [95% CI] | p |",
            "|---|---:|---:|---:|---:|---:|",
            *(f"| {m} | {r['n']} | {r['production']:.4f} | {r['candidate']:.4f} | {r['ci']} | {r['p']:.4f} |"
              for m, r in moved.items() if isinstance(r, dict)),
            "",
        ]  # fmt: skip
    return lines


def _which(moved: dict[str, Any], emb: dict[str, Any]) -> str:
    return "the latest" if moved.get("model_id", emb["model_id"]) == emb["model_id"] else "an earlier"


def _earlier_runs(latest: dict[str, Any]) -> list[dict[str, Any]]:
    """The test-split runs kept in bench/_work/tuning/embedding-runs before the latest one, oldest first."""
    runs = [json.loads(p.read_text()) for p in sorted((WORK / "embedding-runs").glob("*.json"))]
    return sorted((r for r in runs if r["model_id"] != latest["model_id"]), key=lambda r: (r["date"], r.get("at", 0)))


def _machine(run: dict[str, Any]) -> str:
    """This machine with the run's own date (a report rewritten later keeps it)."""
    return machine().rsplit(", ", 1)[0] + f", {run.get('date', '2026-12-04')}"


def _embed_command(emb: dict[str, Any]) -> str:
    synthetic = emb.get("synthetic", 300)
    titles = f" --titles {emb['titles']}" if emb.get("titles") else ""
    return (
        f"python bench/tuning.py embeddings --epochs {emb['epochs']:g}"
        + (f" --synthetic {synthetic}" if synthetic else "")
        + (
            f" --synthetic-model {emb['synthetic_model']}"
            if synthetic and emb.get("synthetic_model", "smollm2") != "smollm2"
            else ""
        )
        + titles
        + (f" --miner {emb['miner']}" if emb.get("miner", "bm25") != "bm25" else "")
        + (f" --skip {emb['skip']}" if emb.get("skip") else "")
        + (f" --batch {emb['batch']}" if emb.get("batch", 32) != 32 else "")
        + (f" --mini-batch {emb['mini_batch']}" if emb.get("mini_batch") else "")
    )


def _llm_lines(lm: dict[str, Any]) -> list[str]:
    command = "python bench/tuning.py llm" + ("" if lm.get("answers", False) else " --no-answers")
    lines = [f"Machine: {_machine(lm)}.", ""]
    if lm:
        lines += [
            f"`{command}` — LoRA (r=8, q/v, lr {lm.get('lr', 2e-4)}, {lm['steps']} steps of one "
            f"example) of SmolLM2-135M on the dev set's tune split ({lm['examples']} examples in the answer prompt's "
            f"format). *format*: the test split's {lm['held_out']} examples given their gold passage and a "
            "distractor — the reply holds a reference and cites the right source in ≤ 2 sentences (or abstains)"
            + ("; *answers*: `correct` of the served pipeline (`quarry eval answers`) over the dev collection."
               if "dev-test:answers" in lm["scores"] else " (run with `--no-answers`: the served pipeline not scored)."),
            "",
            "| test split | SmolLM2 (packaged) | SmolLM2 + LoRA | difference [95% CI] | p |",
            "|---|---:|---:|---:|---:|",
        ]  # fmt: skip
        for name, s in lm["scores"].items():
            gate = lm["gates"][name]
            lines.append(f"| {name} | {s['production']:.3f} | {s['candidate']:.3f} | {gate['ci']} | {gate['p']:.4f} |")
        lines += [
            "",
            f"Cost: loading the GGUF into transformers {lm['load_s']:.0f} s, training {lm['train_s'] / 60:.1f} min "
            f"({lm['train_s'] / max(1, lm['steps']):.2f} s/step).",
        ]  # fmt: skip
    if "dev-test:answers" in lm["scores"]:
        lines += [
            "",
            "Served answers pass the claim check (`[generation] verify`) with the extractive fallback: a model answer "
            "that its cited span does not back is replaced by the best supporting sentence, so `correct` moves only "
            "where the tuned model's own answer passes the check (the adapter does change the model's replies).",
        ]
    calls = json.loads((WORK / "tools.json").read_text()) if (WORK / "tools.json").is_file() else None
    if calls:
        lines += [
            "", f"`python bench/tuning.py tools --limit {calls['limit']}` — the same adapter on BFCL tool calls "
            "(seeded sample per category, exact match by bench/bfcl.py's AST rules), with and without it:", "",
            "| category | n | SmolLM2 | SmolLM2 + LoRA | difference [95% CI] | p | p50 s base / tuned |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *(f"| {c} | {r['n']} | {r['base']:.3f} | {r['tuned']:.3f} | {r['ci']} | {r['p']:.4f} | "
              f"{r['p50_s'][0]:.2f} / {r['p50_s'][1]:.2f} |" for c, r in calls["rows"].items()),
        ]  # fmt: skip
    return lines


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
