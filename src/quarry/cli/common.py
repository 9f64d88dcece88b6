"""What every command shares: the consoles, common options, and the wired system.

Imports stay light here and in the command modules (typer and rich only at module level; the model
runtimes, stores and SDKs load inside the command that needs them), so ``quarry --help`` is fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from quarry.assembly import Quarry
    from quarry.settings import Settings

__all__ = ["CollectionOpt", "JsonOpt", "Where", "console", "err_console", "settings_of", "system", "where_of"]


class _Console:
    """A rich Console made on first use (importing rich costs ~40 ms that --help does not need)."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def get(self) -> Console:
        """The rich Console itself (for Progress and Live, which need the real object)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


console: Any = _Console(stderr=False)
err_console: Any = _Console(stderr=True)

CollectionOpt = Annotated[str, typer.Option("--collection", "-c", help="collection (namespace) to use")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]


@dataclass(frozen=True)
class Where:
    """The global options: the settings file and the home folder (QUARRY_HOME) given on the command line."""

    config: Path | None = None
    home: Path | None = None


def where_of(ctx: typer.Context) -> Where:
    value = ctx.find_root().obj
    return value if isinstance(value, Where) else Where()


def settings_of(ctx: typer.Context) -> Settings:
    from quarry.settings import load_settings

    where = where_of(ctx)
    return load_settings(where.config, home=where.home)


def system(ctx: typer.Context) -> Quarry:
    """The wired system for this invocation, closed when the command ends."""
    from quarry.assembly import build

    quarry = build(settings_of(ctx))
    ctx.call_on_close(quarry.close)
    return quarry
