"""The RESULTS sections of ``bench/tuning.py`` (embedder on SciFact, its second set, LoRA), from the saved runs
in bench/_work/tuning; runs already in RESULTS whose saved files this checkout lacks are kept."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from results import machine, read_section, write_section

EMBEDDER = "Fine-tuning: embedder on SciFact"
WORK = Path(__file__).resolve().parent / "_work/tuning"


def report() -> None:
    emb = json.loads((WORK / "embeddings.json").read_text()) if (WORK / "embeddings.json").is_file() else None
    lm = json.loads((WORK / "llm.json").read_text()) if (WORK / "llm.json").is_file() else None
    moved = json.loads((WORK / "transfer.json").read_text()) if (WORK / "transfer.json").is_file() else None
    if emb:
        write_section(EMBEDDER, "\n".join(_embedder_lines(emb, moved)))
    if lm:
        write_section("Fine-tuning: LoRA on the dev set", "\n".join(_llm_lines(lm)))


def _embedder_lines(emb: dict[str, Any], moved: dict[str, Any] | None) -> list[str]:
    lines = [f"Machine: {_machine(emb)}.", ""]
    if emb:
        lines += [
            f"`{_embed_command(emb)}` — all-MiniLM-L6-v2 fine-tuned on SciFact's "
            f"train split ({emb['pairs']}; judged and synthetic pairs with one hard negative each, mined by "
            f"{_miner(emb)}), "
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
        earlier: dict[tuple[str, str], str] = _reported_rows()
        for run in _earlier_runs(emb):
            earlier.update({(mode, _embed_command(run)): f"| {s['production']:.4f} | {s['candidate']:.4f} | "
                            f"{run['gates'][mode]['ci']} | {run['gates'][mode]['p']:.4f} |"
                            for mode, s in run["scores"].items()})  # fmt: skip
        lines += [f"| {mode}, earlier: `{command}` {cells}" for (mode, command), cells in earlier.items()
                  if command != _embed_command(emb)]  # fmt: skip
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
    else:
        kept = _reported_transfer()
        lines += [kept if emb["model_id"] in kept else kept.replace("— the latest SciFact", "— an earlier SciFact")]
    return lines


def _miner(emb: dict[str, Any]) -> str:
    if emb.get("miner", "bm25") == "bm25":
        return "BM25"
    return "the packaged model's dense path" + (
        f", past its first {emb['skip']} other documents" if emb.get("skip") else ""
    )


def _reported_transfer() -> str:
    """The second-set block already in RESULTS (kept as is when this checkout has no transfer run saved)."""
    block = re.search(r"^`python bench/tuning\.py transfer`.*", read_section(EMBEDDER), re.S | re.M)
    return block.group().strip() + "\n" if block else ""


ROW = re.compile(r"^\| (dense|hybrid)(?: nDCG@10 |, earlier: `([^`]+)` )(\|.*\|)$", re.M)


def _reported_rows() -> dict[tuple[str, str], str]:
    """The test runs already in RESULTS as (path, command) → their cells, the latest one's among them: a checkout
    without the earlier runs' saved files (bench/_work is not kept) still sets them beside the new run."""
    section = read_section(EMBEDDER)
    latest = re.search(r"^`(python bench/tuning\.py embeddings[^`]*)`", section, re.M)
    if not latest:
        return {}
    rows = sorted(ROW.finditer(section), key=lambda m: m[2] is None)  # the earlier runs first, as shown
    return {(m[1], m[2] or latest[1]): m[3] for m in rows}


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
