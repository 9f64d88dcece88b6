"""The ``quarry`` command line."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["app", "main", "print_version"]


def main() -> None:
    """The console entry point; ``--version`` answers before the command tree is even loaded."""
    if sys.argv[1:] == ["--version"]:
        print_version()
        return
    from quarry.cli.app import main as run

    run()


def print_version() -> None:
    from quarry import __version__

    print(f"quarry {__version__}")


def __getattr__(name: str) -> Any:
    if name == "app":
        from quarry.cli.app import app

        return app
    raise AttributeError(name)
