"""``quarry experiments create|list|show|stop``: A/B tests of prompt versions on live traffic."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from quarry.cli.common import JsonOpt, console, system
from quarry.errors import ConfigError

if TYPE_CHECKING:
    from quarry.assembly import Quarry
    from quarry.stores.ops import Variant

__all__ = ["experiments_app"]

experiments_app = typer.Typer(
    rich_markup_mode=None, help="A/B experiments between prompt versions, with a stop rule.", no_args_is_help=True
)


@experiments_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="a name for the experiment")],
    variant: Annotated[
        list[str], typer.Option(help="NAME=PROMPT@VERSION:WEIGHT, repeatable; the first is the control")
    ],
    prompt: Annotated[str, typer.Option(help="the prompt name whose traffic is split")] = "answer",
    guard_metric: Annotated[
        str, typer.Option(help="negative_feedback, error or abstention: worse by --margin rolls back")
    ] = "negative_feedback",
    margin: Annotated[float, typer.Option(min=0.0, max=1.0, help="how much worse the guard metric may be")] = 0.05,
    min_requests: Annotated[int, typer.Option(min=1, help="traffic per variant before the stop rule judges")] = 100,
    alpha: Annotated[float, typer.Option(min=0.0001, max=0.5, help="significance level")] = 0.05,
    collection: Annotated[list[str] | None, typer.Option("--collection", "-c", help="only these collections")] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option("--set", help="VARIANT.KEY=VALUE: a [generation] setting one arm changes, e.g. concise.k=3"),
    ] = None,
) -> None:
    """Start splitting a prompt's traffic between versions (sticky per user or session); arms may also change
    [generation] settings (k, max_sources, max_tokens, answer_mode, …) with --set."""
    from dataclasses import replace

    from quarry.generation.registry import with_overrides
    from quarry.settings import GenerationSettings
    from quarry.stores.ops import Experiment

    if guard_metric not in ("negative_feedback", "error", "abstention"):
        raise ConfigError(f"unknown guard metric {guard_metric!r}", key="guard_metric",
                          hint="use negative_feedback, error or abstention")  # fmt: skip
    quarry = system(ctx)
    overrides = _settings(setting or [])
    variants = tuple(_variant(text) for text in variant)
    unknown = sorted(set(overrides) - {v.name for v in variants})
    if unknown:
        raise ConfigError(f"--set names no variant {', '.join(unknown)}", key="set", hint="write VARIANT.KEY=VALUE")
    variants = tuple(replace(v, settings=overrides.get(v.name, {})) for v in variants)
    for v in variants:
        with_overrides(GenerationSettings(), v.settings)  # refuses unknown keys and bad values now
    if len(variants) < 2 or len({v.name for v in variants}) != len(variants):
        raise ConfigError("an experiment needs two or more variants with distinct names", key="variant",
                          hint="e.g. --variant control=answer@4:50 --variant concise=answer@5:50")  # fmt: skip
    for v in variants:
        if v.prompt.split("@")[0] != prompt:
            raise ConfigError(f"variant {v.name} serves {v.prompt}, not a version of {prompt}", key="variant")
        quarry.prompts.template(v.prompt)  # exists
    made = quarry.experiment_store.create(
        Experiment(
            name, prompt, variants, guard_metric, margin, min_requests, alpha, collections=tuple(collection or ())
        )
    )
    split = ", ".join(f"{v.name}={v.prompt}{dict(v.settings) or ''} ({v.weight:g})" for v in made.variants)
    console.print(f"[green]running[/] {made.name} on {prompt}: {split}", highlight=False)


def _settings(pairs: list[str]) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for text in pairs:
        target, _, raw = text.partition("=")
        name, _, key = target.partition(".")
        if not name or not key or not raw:
            raise ConfigError(f"bad --set {text!r}", key="set", hint="write VARIANT.KEY=VALUE, e.g. concise.k=3")
        try:
            value: object = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        found.setdefault(name, {})[key] = value
    return found


def _variant(text: str) -> Variant:
    from quarry.stores.ops import Variant

    name, _, rest = text.partition("=")
    ref, _, weight = rest.rpartition(":") if ":" in rest else (rest, "", "1")
    try:
        share = float(weight)
    except ValueError:
        share = -1.0
    if not name or "@" not in ref or share <= 0:
        raise ConfigError(f"bad --variant {text!r}", key="variant", hint="write NAME=PROMPT@VERSION:WEIGHT")
    return Variant(name.strip(), ref.strip(), share)


@experiments_app.command("list")
def list_experiments(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every experiment, newest first, with its status."""
    from rich.table import Table

    found = system(ctx).experiment_store.list()
    if as_json:
        print(json.dumps([dataclasses.asdict(e) for e in found], indent=2))
        return
    table = Table("experiment", "prompt", "variants", "status", "reason", title="Experiments")
    for e in found:
        split = ", ".join(f"{v.name}={v.prompt}" for v in e.variants)
        table.add_row(e.name, e.prompt, split, e.status, e.reason)
    console.print(table)


@experiments_app.command("show")
def show(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="the experiment")], as_json: JsonOpt = False
) -> None:
    """Per-variant traffic, latency, tokens, cost and rates; each rate against the control with its p-value and
    the minimum detectable effect; applies the stop rule."""
    from rich.table import Table

    from quarry.assembly.operations import experiment_report

    quarry = system(ctx)
    report = experiment_report(name, quarry.experiment_store, quarry.trace_store, quarry.feedback_store)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
        return
    e = report.experiment
    console.print(f"[bold]{e.name}[/] on {e.prompt}: {e.status}{f' ({e.reason})' if e.reason else ''}", highlight=False)
    table = Table("variant", "prompt", "requests", "p50 s", "p95 s", "tokens", "cost $", "supported", "abstained",
                  "errors", "thumbs down", title="Variants")  # fmt: skip
    for v in e.variants:
        s = report.stats[v.name]
        table.add_row(v.name, v.prompt, str(s.requests), f"{s.latency(0.5):.2f}", f"{s.latency(0.95):.2f}",
                      str(s.tokens), f"{s.cost_usd:.4f}", f"{s.rate('supported'):.3f}", f"{s.rate('abstention'):.3f}",
                      f"{s.rate('error'):.3f}", f"{s.rate('negative_feedback'):.3f} of {s.rated}")  # fmt: skip
    console.print(table)
    tests = Table("variant", "metric", "control", "variant", "difference", "p", "detectable (80%)", title="Tests")
    for c in report.comparisons:
        tests.add_row(c.variant, c.metric, f"{c.control_rate:.3f}", f"{c.variant_rate:.3f}", f"{c.difference:+.3f}",
                      f"{c.p_value:.4f}", f"±{c.mde:.3f}")  # fmt: skip
    console.print(tests)
    _offline_runs(quarry, e.name)
    if report.stopped_now:
        console.print(f"[red]rolled back now[/]: {e.reason}")


def _offline_runs(quarry: Quarry, name: str) -> None:
    """The newest `experiments evaluate` run of each variant, if any."""
    from rich.table import Table

    from quarry.cli.eval_answers import runs_folder
    from quarry.evaluation.runs import RunInfo, list_runs

    newest: dict[str, RunInfo] = {}
    for info in list_runs(runs_folder(quarry)):  # newest first
        if info.name.startswith(f"{name}:"):
            newest.setdefault(info.name.split(":", 1)[1], info)
    if not newest:
        return
    table = Table("variant", "run", "dataset", "questions", "correct", title="Offline evaluation (quarry eval answers)")
    for variant, info in newest.items():
        correct = "—" if info.correct is None else f"{info.correct:.3f}"
        table.add_row(variant, info.run_id, info.dataset, str(info.questions), correct)
    console.print(table)


@experiments_app.command("evaluate")
def evaluate(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the experiment")],
    dataset: Annotated[Path, typer.Option(help="QA .jsonl (e.g. from `quarry feedback export`)")],
    collection: Annotated[str, typer.Option("--collection", "-c", help="the collection to answer from")] = "default",
    limit: Annotated[int | None, typer.Option(help="only the first N questions")] = None,
) -> None:
    """Run `quarry eval answers` once per variant (its prompt pinned); `experiments show` lists the runs."""
    from quarry.cli.eval_answers import answers

    experiment = system(ctx).experiment_store.get(name)
    if experiment is None:
        raise ConfigError(f"no experiment {name!r}", key="experiment", hint="see quarry experiments list")
    for variant in experiment.variants:
        console.print(f"[bold]{variant.name}[/] ({variant.prompt})", highlight=False)
        answers(ctx, dataset=dataset, collection=collection, split=None, k=None, limit=limit,
                name=f"{name}:{variant.name}", judge=False, repeats=1, calibrate_judge=False, baseline=None,
                fail_under=None, out=None, cache=True, prompt=variant.prompt)  # fmt: skip


@experiments_app.command("stop")
def stop(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the experiment")],
    reason: Annotated[str, typer.Option(help="why it ends")] = "stopped by an operator",
) -> None:
    """End an experiment: all traffic goes back to the prompt's label (or newest shipped version)."""
    ended = system(ctx).experiment_store.end(name, "stopped", reason)
    console.print(f"[green]{ended.status}[/] {ended.name}: {ended.reason}")
