"""``quarry eval answers``: measure the served answer pipeline on a QA file; ``quarry eval runs``: stored runs.

Exit codes: 0 when every ``--fail-under`` gate holds, 1 when one fails (CI can gate merges on it), 2 for
usage errors.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from quarry.cli.common import CollectionOpt, console, err_console, system
from quarry.cli.evaluate import eval_app
from quarry.errors import ConfigError

if TYPE_CHECKING:
    from rich.progress import Progress

    from quarry.assembly import Quarry
    from quarry.evaluation.answer_runner import AnswerRun
    from quarry.evaluation.qa import QASet


def runs_folder(quarry: Quarry) -> Path:
    from quarry.evaluation.catalog import runs_folder as folder_of

    return folder_of(quarry.settings)


def _judged(quarry: Quarry, qa: QASet, run: AnswerRun, repeats: int, check: bool) -> AnswerRun:
    from quarry.evaluation.answer_runner import ItemResult, build_run
    from quarry.evaluation.judge import Judge, calibrate
    from quarry.llm import build_chat_model
    from quarry.settings import LLMSettings

    settings = quarry.settings.evaluation.judge
    judge = Judge(build_chat_model(LLMSettings(**settings.model_dump())), repeats=repeats)
    info = dict(judge.description)
    if check:
        cases = [
            (r.outcome.text, "\n\n".join(p.text for p in r.outcome.context))
            for r in run.results
            if r.metrics.get("correct") and r.item.answerable and r.outcome.context
        ]
        with err_console.status(f"calibrating the judge on {len(cases)} faithful answers and their perturbations"):
            calibration = calibrate(judge, cases[:30])
        info["calibration"] = calibration.as_dict()
        if not calibration.usable:
            err_console.print(
                f"[yellow]judge unusable:[/] AUC {calibration.auc:.2f} < 0.7 on perturbed answers — "
                "its scores are reported but must not be trusted"
            )
    results: list[ItemResult] = []
    with _progress() as bar:
        task = bar.add_task("judging", total=len(run.results))
        for r in run.results:
            results.append(ItemResult(r.item, r.outcome, r.metrics, r.cached, judge.grade(r.item, r.outcome)))
            bar.advance(task)
    info["calls"] = judge.calls
    return build_run(qa, results, name=run.name, config=run.config, seconds=run.seconds, judge=info)


def _progress() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
        console=err_console.get(),
        transient=True,
    )


def _write(out: Path, run: AnswerRun, text: str, page: str) -> None:
    from quarry.evaluation.runs import run_to_dict

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".json":
        out.write_text(json.dumps(run_to_dict(run), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    elif out.suffix in (".html", ".htm"):
        out.write_text(page, encoding="utf-8")
    else:
        out.write_text(text, encoding="utf-8")


@eval_app.command("answers")
def answers(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Option(help="QA .jsonl: question, answers, gold_docs, gold_passages, answerable")],
    collection: CollectionOpt = "default",
    split: Annotated[str | None, typer.Option(help="only the questions of this split (e.g. test)")] = None,
    k: Annotated[int | None, typer.Option("-k", help="passages retrieved (default: generation.k)")] = None,
    limit: Annotated[int | None, typer.Option(help="only the first N questions")] = None,
    name: Annotated[str | None, typer.Option(help="a name for this run (default: the model and prompt)")] = None,
    judge: Annotated[bool, typer.Option(help="also grade with the [evaluation.judge] model")] = False,
    repeats: Annotated[int, typer.Option(help="judgements per metric (their spread is reported)")] = 1,
    calibrate_judge: Annotated[bool, typer.Option("--calibrate/--no-calibrate", help="check the judge first")] = True,
    baseline: Annotated[str | None, typer.Option(help="a stored run id (or run file) to compare against")] = None,
    fail_under: Annotated[list[str] | None, typer.Option(help="metric=value; exit 1 when the mean is below")] = None,
    out: Annotated[Path | None, typer.Option(help="also write the report: .html, .md or .json")] = None,
    cache: Annotated[bool, typer.Option(help="reuse answers of an unchanged configuration")] = True,
    prompt: Annotated[
        str | None, typer.Option(help="evaluate this prompt version (name@version), e.g. an experiment's variant")
    ] = None,
) -> None:
    """Answer every question with the served pipeline and report answer quality with 95% CIs."""
    from rich.markdown import Markdown

    from quarry.assembly.evaluation import answer_target
    from quarry.evaluation.answer_report import HEADLINE, html_report, markdown_report
    from quarry.evaluation.answer_runner import (
        AnswerCache,
        ItemResult,
        compare_runs,
        failed_gates,
        parse_gate,
        run_answers,
    )
    from quarry.evaluation.qa import QASet, load_qa_set
    from quarry.evaluation.runs import load_run, save_run

    gates = [parse_gate(g) for g in fail_under or []]
    quarry = system(ctx)
    if prompt is not None:
        if "@" not in prompt:
            raise ConfigError("--prompt takes one version, name@version", key="prompt", hint="see quarry prompts list")
        quarry.prompts.template(prompt)  # refuses an unknown version, listing what exists
        quarry.settings.generation.prompt = prompt
    folder = runs_folder(quarry)
    before = load_run(baseline, folder) if baseline else None
    qa = load_qa_set(dataset, split=split)
    if limit is not None:
        qa = QASet(qa.name, qa.items[:limit])
    quarry.store.collection(collection)
    target = answer_target(quarry.answerer, quarry.store, quarry.settings, collection, k)
    store = AnswerCache(quarry.settings.store.beside(".eval-answers.db"))
    use_cache = cache and quarry.settings.evaluation.cache
    generation = quarry.settings.generation
    mode = (
        "extract (no model)" if generation.answer_mode == "extract" else f"{target.config['model']} {generation.prompt}"
    )
    label = name or mode
    began, correct = time.perf_counter(), 0
    with _progress() as bar:
        task = bar.add_task(f"answering {len(qa.items)} questions", total=len(qa.items), status="")

        def progress(done: int, total: int, result: ItemResult) -> None:
            nonlocal correct
            correct += int(bool(result.metrics.get("correct")))
            bar.update(task, completed=done, status=f"correct {correct}/{done}")

        run = run_answers(
            qa,
            target,
            name=label,
            config=target.config,
            config_key=target.config_key,
            cache=store if use_cache else None,
            progress=progress,
        )
    store.close()
    if judge:
        run = _judged(quarry, qa, run, repeats, calibrate_judge)
    comparisons = compare_runs(before, run, [m for m in HEADLINE if m in run.summary]) if before else []
    text = markdown_report(run, comparisons)
    console.print(Markdown(text))
    path = save_run(run, folder)
    console.print(f"run {path.stem} saved in {folder} ({time.perf_counter() - began:.0f} s, ${run.cost_usd:.4f})")
    if out is not None:
        _write(out, run, text, html_report(run, comparisons, before))
        console.print(f"report: {out}")
    failures = failed_gates(run, gates)
    for failure in failures:
        err_console.print(f"[bold red]gate failed:[/] {failure}")
    if failures:
        raise typer.Exit(1)


@eval_app.command("runs")
def runs(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False
) -> None:
    """Stored answer-evaluation runs, newest first (ids for --baseline)."""
    from rich.table import Table

    from quarry.evaluation.runs import list_runs

    quarry = system(ctx)
    if as_json:
        rows = [
            {"run_id": i.run_id, "name": i.name, "dataset": i.dataset, "questions": i.questions, "correct": i.correct}
            for i in list_runs(runs_folder(quarry))
        ]
        print(json.dumps(rows, indent=2))
        return
    table = Table("run id", "name", "dataset", "questions", "correct", title=f"runs in {runs_folder(quarry)}")
    for info in list_runs(runs_folder(quarry)):
        table.add_row(
            info.run_id,
            info.name,
            info.dataset,
            str(info.questions),
            "—" if info.correct is None else f"{info.correct:.3f}",
        )
    console.print(table)
