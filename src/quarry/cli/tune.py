"""``quarry tune embeddings|llm|advise|preferences``: fine-tuning, judged by the evaluation harness."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from quarry.cli.common import CollectionOpt, JsonOpt, console, err_console, system

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["tune_app"]

tune_app = typer.Typer(
    rich_markup_mode=None, no_args_is_help=True,
    help="Fine-tune an embedder or the local chat model on your data; every result is a registry candidate.",
)  # fmt: skip


class Miner(StrEnum):
    bm25 = "bm25"
    dense = "dense"


def _bar() -> Progress:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=err_console.get())  # fmt: skip


@tune_app.command("embeddings")
def embeddings(
    ctx: typer.Context,
    collection: CollectionOpt,
    queries: Annotated[Path | None, typer.Option(help="judged queries: a BEIR folder or a QA .jsonl")] = None,
    split: Annotated[str, typer.Option(help="the split of --queries to train on")] = "train",
    eval_data: Annotated[Path | None, typer.Option("--eval", help="held-out BEIR folder or QA .jsonl")] = None,
    eval_split: Annotated[str, typer.Option(help="the split of --eval")] = "test",
    feedback: Annotated[bool, typer.Option(help="add liked/corrected answers' cited passages")] = True,
    synthetic: Annotated[int, typer.Option(help="synthetic questions to ask the chat model for")] = 0,
    synthetic_model: Annotated[
        str, typer.Option(help="the configured provider's model that writes them, e.g. qwen2.5-0.5b ('' = [llm]'s)")
    ] = "",
    titles: Annotated[int, typer.Option(min=0, help="documents whose title becomes a pseudo-query (at most N)")] = 0,
    hard_negatives: Annotated[bool, typer.Option(help="mine a hard negative per pair")] = True,
    miner: Annotated[
        Miner, typer.Option(help="what mines them: dense (the collection's embedder), or bm25")
    ] = Miner.dense,
    skip: Annotated[int, typer.Option(min=0, help="pass over the miner's first N other documents")] = 2,
    epochs: Annotated[float, typer.Option(min=0.01)] = 1.0,
    batch_size: Annotated[int, typer.Option(min=2)] = 32,
    mini_batch: Annotated[
        int | None, typer.Option(min=1, help="embed a batch N texts at a time (cached gradient)")
    ] = None,
    learning_rate: Annotated[float, typer.Option("--lr", min=0)] = 2e-5,
    max_steps: Annotated[int | None, typer.Option(min=1, help="stop after this many steps")] = None,
    max_minutes: Annotated[float | None, typer.Option(min=0.1, help="stop after this much training")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Train the packaged MiniLM on this collection's questions, build its shadow index, compare with production.

    The result is a registry candidate; `quarry models promote <id>` swaps it in if it is significantly better."""
    from quarry.assembly.tuning import gather_pairs, model_registry, models_folder, served_search, tuned_loader
    from quarry.tuning.embedder_job import tune_embeddings
    from quarry.tuning.embedder_training import EmbedderTraining
    from quarry.tuning.titles import title_pairs

    quarry = system(ctx)
    info = quarry.store.collection(collection)
    made = _synthetic(quarry, collection, synthetic, synthetic_model) if synthetic else []
    titled = title_pairs(quarry.store, collection, count=titles, seed=1).pairs if titles else []
    plan = gather_pairs(quarry, collection, queries=queries, split=split, eval_data=eval_data, eval_split=eval_split,
                        feedback=feedback, synthetic=made, hard_negatives=hard_negatives, titles=titled,
                        miner=miner.value, skip=skip)  # fmt: skip
    if not plan.train:
        raise typer.BadParameter("no training pairs: give --queries, --synthetic N, --titles N or collect feedback")
    err_console.print(f"{len(plan.train)} training pairs {plan.sources}; {len(plan.evaluation.queries)} held-out "
                      f"questions ({plan.evaluation.name})")  # fmt: skip
    settings = EmbedderTraining(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                                mini_batch=mini_batch, max_steps=max_steps,
                                max_seconds=max_minutes * 60 if max_minutes else None)  # fmt: skip
    with _bar() as bar:
        train_task = bar.add_task("train", total=settings.steps_for(len(plan.train)), info="")
        index_task = bar.add_task("shadow index", total=None, info="")
        result = tune_embeddings(
            model_registry(quarry), collection, plan.train, plan.evaluation,
            base_model_id=info.embedder or quarry.embedder.model_id, out_root=models_folder(quarry),
            search=served_search(quarry), load=tuned_loader(quarry), settings=settings,
            sources=plan.sources, negatives=plan.negatives,
            on_step=lambda p: bar.update(train_task, completed=p.step, info=f"loss {p.loss:.3f}"),
            on_index=lambda done, total: bar.update(index_task, completed=done, total=total),
        )  # fmt: skip
    _report(result, as_json)


def _synthetic(quarry: Any, collection: str, count: int, model: str) -> list[Any]:
    from quarry.assembly.tuning import models_folder, served_search
    from quarry.tuning.synthetic import ReplyLog, synthetic_pairs

    search, mode = served_search(quarry), quarry.settings.retrieval.mode
    writer = quarry.chat_model_named(model) if model else quarry.chat_model
    log = ReplyLog(models_folder(quarry) / "synthetic" / f"{collection}.jsonl", writer.model_id)  # a rerun resumes
    with _bar() as bar:
        task = bar.add_task("synthetic questions", total=count, info="")
        report = synthetic_pairs(
            quarry.store,
            collection,
            writer,
            lambda q, k: search(q, collection, k, mode),
            count=count,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            log=log,
        )
    err_console.print(f"synthetic: kept {len(report.pairs)} of {report.asked} (no question: {report.malformed}, "
                      f"not found again in the top 5: {report.lost})")  # fmt: skip
    return report.pairs


def _report(result: Any, as_json: bool) -> None:
    data = {
        "entry": result.entry.id, "model_id": result.entry.model_id, "production": result.production.id,
        "scores": result.scores, "steps": result.steps, "train_seconds": round(result.train_seconds, 1),
        "export_seconds": round(result.export_seconds, 1), "index_seconds": round(result.index_seconds, 1),
        "gates": {mode: {"passed": g.passed, "summary": g.describe()} for mode, g in result.gates.items()},
    }  # fmt: skip
    if as_json:
        print(json.dumps(data, indent=2))
        return
    console.print(f"candidate [bold]{result.entry.id}[/] ({result.entry.model_id})")
    for mode, gate in result.gates.items():
        mark = "[green]better[/]" if gate.passed else "[yellow]not significantly better[/]"
        console.print(f"  {mode}: {gate.describe()} → {mark}", highlight=False)
    console.print(f"train {data['train_seconds']} s ({result.steps} steps) · export {data['export_seconds']} s · "
                  f"shadow index {data['index_seconds']} s")  # fmt: skip
    console.print(f"promote with: quarry models promote {result.entry.id}")


@tune_app.command("llm")
def llm(
    ctx: typer.Context,
    qa: Annotated[Path, typer.Option(help="a QA .jsonl with gold passages (e.g. bench/qa/dev.jsonl)")],
    split: Annotated[str, typer.Option(help="the split to train on")] = "tune",
    eval_split: Annotated[str, typer.Option(help="the held-out split to score on")] = "test",
    collection: Annotated[
        str | None, typer.Option("--collection", "-c", help="also score the served answers over this collection")
    ] = None,
    feedback: Annotated[bool, typer.Option(help="add liked/corrected answers from feedback")] = True,
    epochs: Annotated[float, typer.Option(min=0.01)] = 1.0,
    rank: Annotated[int, typer.Option(min=1)] = 8,
    learning_rate: Annotated[float, typer.Option("--lr", min=0)] = 2e-4,
    max_steps: Annotated[int | None, typer.Option(min=1, help="stop after this many steps")] = None,
    max_minutes: Annotated[float | None, typer.Option(min=0.1, help="stop after this much training")] = None,
    eval_limit: Annotated[int | None, typer.Option(min=1, help="score only the first N held-out examples")] = None,
    as_json: JsonOpt = False,
) -> None:
    """LoRA-tune the local chat model for the cited answer format; register the adapter as a candidate.

    Stopped runs resume from their checkpoint when started again with the same data and settings."""
    from quarry.assembly.tuning import answers_eval, chat_loader, llm_examples, model_registry, models_folder
    from quarry.llm.local import locate_model
    from quarry.tuning.llm_job import tune_llm
    from quarry.tuning.lora_training import LoraTraining

    quarry = system(ctx)
    local = quarry.settings.llm.local
    if quarry.settings.llm.provider != "local":
        raise typer.BadParameter('LoRA tuning needs [llm] provider = "local"')
    train, held_out, abstain = llm_examples(quarry, qa, split, eval_split, feedback=feedback)
    held_out = held_out[:eval_limit] if eval_limit else held_out
    settings = LoraTraining(rank=rank, alpha=2.0 * rank, learning_rate=learning_rate, epochs=epochs,
                            max_steps=max_steps, max_seconds=max_minutes * 60 if max_minutes else None)  # fmt: skip
    err_console.print(f"{len(train)} training examples, {len(held_out)} held-out ({qa.name} {eval_split})")
    with _bar() as bar:
        train_task = bar.add_task("train", total=settings.steps_for(len(train)), info="")
        eval_task = bar.add_task("score held-out", total=None, info="")
        result = tune_llm(
            model_registry(quarry), train, held_out, base_model=locate_model(local.model),
            base_model_id=f"local:{local.model}", out_root=models_folder(quarry), settings=settings,
            load=chat_loader(quarry), abstain=abstain, eval_name=f"{qa.stem}-{eval_split}",
            answers=answers_eval(quarry, qa, eval_split, collection) if collection else None, by="cli",
            on_step=lambda p: bar.update(train_task, completed=p.step, info=f"loss {p.loss:.3f}"),
            on_eval=lambda done, total: bar.update(eval_task, completed=done, total=total),
        )  # fmt: skip
    data = {"entry": result.entry.id, "model_id": result.entry.model_id, "production": result.production.id,
            "scores": result.scores, "steps": result.adapter.steps, "train_seconds": round(result.adapter.seconds, 1),
            "adapter": str(result.entry.adapter_file)}  # fmt: skip
    if as_json:
        print(json.dumps(data, indent=2))
        return
    console.print(f"candidate [bold]{result.entry.id}[/] ({result.entry.model_id})")
    for name, s in result.scores.items():
        console.print(f"  {name}: {s['candidate']:.3f} vs production {s['production']:.3f}")
    console.print(f"train {data['train_seconds']} s ({result.adapter.steps} steps); "
                  f"promote with: quarry models promote {result.entry.id}")  # fmt: skip


@tune_app.command("advise")
def advise(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="an answer-eval run: its id (quarry eval runs) or JSON path")],
    as_json: JsonOpt = False,
) -> None:
    """Which lever an answer evaluation's failures point to: retrieval, packing, abstention or generation."""
    import dataclasses

    from quarry.cli.eval_answers import runs_folder
    from quarry.evaluation.runs import load_run
    from quarry.tuning.advise import advise as advise_run

    quarry = system(ctx)
    advice = advise_run(load_run(run, runs_folder(quarry)))
    if as_json:
        print(json.dumps(dataclasses.asdict(advice), indent=2))
        return
    console.print(f"run {advice.run}: {advice.answerable} answerable, {advice.unanswerable} unanswerable; "
                  f"correct {advice.correct:.2f}")  # fmt: skip
    console.print("  " + " · ".join(f"{k} {v:.2f}" for k, v in advice.figures.items()), highlight=False)
    if not advice.findings:
        console.print("no failures: nothing to tune")
    from rich.markup import escape

    for i, finding in enumerate(advice.findings, 1):
        console.print(f"{i}. [bold]{finding.lever}[/] — {finding.count} failures ({finding.share:.0%}): "
                      f"{escape(finding.advice)}; e.g. {', '.join(finding.examples)}", highlight=False)  # fmt: skip


@tune_app.command("preferences")
def preferences(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="write prompt/chosen/rejected JSONL here (for trl's DPOTrainer)")],
) -> None:
    """Export feedback as preference pairs: a disliked answer and a corrected or liked one to the same question."""
    from quarry.tuning.preferences import preference_pairs, write_preferences

    quarry = system(ctx)
    pairs = preference_pairs(quarry.feedback_store.recent(100_000), quarry.trace_store)
    console.print(f"wrote {write_preferences(pairs, out)} preference pair(s) to {out}")
