"""The ``quarry`` command line."""

from quarry.cli.app import app, main

__all__ = ["app", "main"]
