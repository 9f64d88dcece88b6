"""A command that needs neither a search index, a database source nor a remote provider does not import the
libraries behind them: each costs a second or more of start-up (bench/cli_startup.py, "CLI start-up")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("bm25s", "numba", "sqlalchemy", "openai", "anthropic", "psycopg")


def _imported(*args: str, cwd: Path) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "quarry", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


def test_listing_prompts_loads_no_index_database_or_provider_library(isolated_env: Path) -> None:
    modules = _imported("prompts", "list", cwd=isolated_env)
    assert "quarry.assembly" in modules  # the command did build the system
    assert not {m for m in modules if m.split(".")[0] in HEAVY}
