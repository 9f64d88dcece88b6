"""``quarry prompts list|show|diff|create|promote|rollback``: the prompt registry."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Annotated

import typer

from quarry.cli.common import JsonOpt, console, system
from quarry.errors import ConfigError

__all__ = ["prompts_app"]

prompts_app = typer.Typer(
    rich_markup_mode=None, help="Versioned prompts: create, compare, promote and roll back.", no_args_is_help=True
)
LabelOpt = Annotated[str, typer.Option("--label", help="the label to move (default: generation.prompt_label)")]


@prompts_app.command("list")
def list_prompts(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every prompt: its versions, where each label points, and a running experiment."""
    from rich.table import Table

    registry = system(ctx).prompts
    summaries = [registry.summary(name) for name in registry.names()]
    if as_json:
        print(json.dumps([dataclasses.asdict(s) for s in summaries], indent=2))
        return
    table = Table("prompt", "versions", "labels", "serves now", "experiment", title="Prompts")
    for s in summaries:
        labels = ", ".join(f"{k}→{v}" for k, v in s.labels.items()) or "-"
        table.add_row(s.name, ", ".join(map(str, s.versions)), labels, s.serves, s.experiment or "-")
    console.print(table)


@prompts_app.command("show")
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="name@version, or a name (the version it serves now)")],
    as_json: JsonOpt = False,
) -> None:
    """One version's text and settings."""
    template = system(ctx).prompts.template(ref)
    data = {"ref": template.ref, "description": template.description, "system": template.system,
            "user": template.user, "abstain_marker": template.abstain_marker,
            "source_titles": template.source_titles, "stop": list(template.stop)}  # fmt: skip
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    console.print(f"[bold]{template.ref}[/] {template.description}", highlight=False)
    for key in ("system", "user"):
        console.rule(key)
        console.print(data[key], markup=False, highlight=False)
    console.rule()
    console.print(f"abstain marker: {template.abstain_marker!r} · titles: {template.source_titles} · "
                  f"stop: {list(template.stop)}", markup=False, highlight=False)  # fmt: skip


@prompts_app.command("diff")
def diff(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="name@version (or a name: what it serves now)")],
    new: Annotated[str, typer.Argument(help="name@version (or a name)")],
) -> None:
    """What changed between two versions (a unified diff of every field)."""
    text = system(ctx).prompts.diff(old, new)
    print(text if text else f"{old} and {new} are the same")


@prompts_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the prompt name (answer, or a new one)")],
    file: Annotated[Path | None, typer.Option(help="a TOML file like the shipped ones (system, user, …)")] = None,
    base: Annotated[str | None, typer.Option("--from", help="start from this version's fields (name@version)")] = None,
    system_text: Annotated[str | None, typer.Option("--system", help="the system message")] = None,
    user: Annotated[str | None, typer.Option(help="the user message, with {question} and {sources}")] = None,
    var: Annotated[list[str] | None, typer.Option(help="a typed variable NAME=TYPE (repeatable)")] = None,
    description: Annotated[str, typer.Option(help="what changed in this version")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create a new immutable version (it serves nothing until promoted or put in an experiment)."""
    quarry = system(ctx)
    fields: dict[str, object] = {}
    if base is not None:
        t = quarry.prompts.template(base)
        fields = {"system": t.system, "user": t.user, "abstain_marker": t.abstain_marker,
                  "source_titles": t.source_titles, "stop": t.stop}  # fmt: skip
    if file is not None:
        fields |= _read_file(file)
    fields |= {k: v for k, v in (("system", system_text), ("user", user)) if v is not None}
    if "system" not in fields or "user" not in fields:
        raise ConfigError("a prompt needs system and user text", key="prompt", hint="give --file, --from or both texts")
    variables = dict(_variable(v) for v in var) if var else None
    made = quarry.prompts.create(
        name, system=str(fields["system"]), user=str(fields["user"]), variables=variables,
        description=description or str(fields.get("description", "")),
        abstain_marker=str(fields.get("abstain_marker", "I don't know")),
        source_titles=bool(fields.get("source_titles", True)),
        stop=tuple(str(s) for s in _sequence(fields.get("stop"))),
        by="cli",
    )  # fmt: skip
    if as_json:
        print(json.dumps({"ref": made.ref, "name": made.name, "version": made.version}))
        return
    console.print(f"[green]created[/] {made.ref}; serve it with: quarry prompts promote {name} {made.version}")


def _sequence(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def _read_file(path: Path) -> dict[str, object]:
    try:
        return dict(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read prompt file {path}: {exc}", key="file") from None


def _variable(text: str) -> tuple[str, str]:
    name, _, kind = text.partition("=")
    if not name or not kind:
        raise ConfigError(f"bad --var {text!r}", key="var", hint="write NAME=TYPE, e.g. --var question=str")
    return name.strip(), kind.strip()


@prompts_app.command("promote")
def promote(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the prompt name")],
    version: Annotated[int, typer.Argument(help="the version to serve")],
    label: LabelOpt = "",
) -> None:
    """Point a label (production by default) at a version: the next request uses it, no restart."""
    move = system(ctx).prompts.promote(name, version, label=label, by="cli")
    before = f" (was {move.previous})" if move.previous is not None else ""
    console.print(f"[green]{name}:{move.label}[/] → {name}@{move.version}{before}")


@prompts_app.command("rollback")
def rollback(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="the prompt name")], label: LabelOpt = ""
) -> None:
    """Move a label back to the version it served before its last promotion."""
    move = system(ctx).prompts.rollback(name, label=label, by="cli")
    now = f"{name}@{move.version}" if move.version else "no version (the newest shipped one serves)"
    console.print(f"[green]{name}:{move.label}[/] rolled back → {now} (was {move.previous})")
