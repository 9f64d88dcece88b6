"""The ``quarry`` command: global options, every command registered here, and error handling.

Command modules import only typer, rich and :mod:`quarry.cli.common` at load time, so ``quarry --help``
and ``quarry --version`` answer without loading models, stores or SDKs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import TyperException

from quarry.cli import (
    agents,
    ask,
    cache,
    config,
    db,
    documents,
    drift,
    eval_answers,
    evaluate,
    experiments,
    feedback,
    guards,
    ingest,
    keys,
    mcp,
    models,
    print_version,
    prompts,
    search,
    serve,
    traces,
    tune,
)
from quarry.cli.common import Where, err_console
from quarry.errors import QuarryError

__all__ = ["app", "main"]

app = typer.Typer(
    rich_markup_mode=None,
    name="quarry",
    help="Quarry: turn documents into a searchable, cited knowledge base — traced and measured.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        print_version()
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    config_file: Annotated[
        Path | None, typer.Option("--config", help="settings file (default: quarry.toml in the home folder)")
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            envvar="QUARRY_HOME",
            help="home folder: its quarry.toml is read and the data (.quarry/) lives there; default: here",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    ctx.obj = Where(config_file, home)


app.command()(config.init)
app.add_typer(config.config_app, name="config")
app.command()(ingest.ingest)
app.command()(documents.collections)
app.command()(documents.docs)
app.command()(documents.show)
app.command()(documents.export)
app.command()(documents.delete)
app.command()(search.search)
app.command()(ask.ask)
app.add_typer(evaluate.eval_app, name="eval")
app.command()(traces.traces)
app.add_typer(keys.keys_app, name="keys")
app.add_typer(guards.guards_app, name="guards")
app.add_typer(cache.cache_app, name="cache")
app.add_typer(prompts.prompts_app, name="prompts")
app.add_typer(experiments.experiments_app, name="experiments")
app.add_typer(drift.drift_app, name="drift")
app.add_typer(feedback.feedback_app, name="feedback")
app.add_typer(db.db_app, name="db")
app.add_typer(agents.agent_app, name="agent")
app.add_typer(agents.approvals_app, name="approvals")
app.add_typer(agents.memory_app, name="memory")
app.add_typer(mcp.mcp_app, name="mcp")
app.add_typer(tune.tune_app, name="tune")
app.add_typer(models.models_app, name="models")
app.command()(serve.serve)
_ = eval_answers  # registers `eval answers` and `eval runs` on the eval group


def main() -> None:
    """Entry point: runs the app and turns Quarry errors into a message and exit code 2."""
    try:
        code = app(standalone_mode=False)
    except QuarryError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False, markup=True)
        if exc.hint:
            err_console.print(f"[yellow]hint:[/] {exc.hint}", highlight=False)
        sys.exit(2)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except TyperException as exc:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        sys.exit(int(getattr(exc, "exit_code", 2)))
    sys.exit(code if isinstance(code, int) else 0)
