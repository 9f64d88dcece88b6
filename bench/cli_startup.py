"""How fast the command line answers before doing any work: `quarry --version`, `quarry --help`, and a command
that opens the system but loads no model (`quarry prompts list`, in an empty temporary home).

    python bench/cli_startup.py [--runs 20] [--no-write]

Each is run as a new process (the installed `quarry` script beside this Python), wall time per run; the
goal is <= 0.3 s. Commands load models, stores and SDKs only inside the command that needs them.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from results import machine, write_section  # noqa: E402

SCRIPT = Path(sys.executable).with_name("quarry")


def timed(args: list[str], runs: int) -> list[float]:
    times = []
    home = (
        ["--home", tempfile.mkdtemp(prefix="quarry-startup-")]
        if "--help" not in args and "--version" not in args
        else []
    )
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([str(SCRIPT), *home, *args], check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    timed(["--version"], 2)  # warm the file cache
    rows = []
    for command in (["--version"], ["--help"], ["search", "--help"], ["prompts", "list"]):
        times = sorted(timed(command, args.runs))
        rows.append(
            f"| `quarry {' '.join(command)}` | {statistics.median(times):.3f} s | {times[int(0.9 * len(times))]:.3f} s"
            f" | {times[-1]:.3f} s |"
        )
    body = (
        f"Command: `python bench/cli_startup.py --runs {args.runs}`. {machine()}\n\n"
        "| command | p50 | p90 | max |\n|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        "Before the commands were made lazy, `quarry --help` took 1.8–4.9 s (every command module imported the "
        "assembly, which imports the model runtimes, the OpenAI SDK and the stores). A subcommand's help also loads "
        "typer's pydantic adapters (~0.15 s), which the top-level help does not need. `quarry prompts list` took 3.7 s (one timing) "
        "before the LLM providers' SDKs (the OpenAI SDK alone ~1 s), the PostgreSQL adapters (~0.6 s) and the agents' "
        "SQL tool were imported only when used (the row above is after; the rest is settings, numpy and the SQLite store). "
        "On 2026-12-05 it had crept back to 4.8 s (one timing): numba, installed with ranx, made `import bm25s` cost "
        "~1.6 s, and the SQL source imported SQLAlchemy (~0.75 s) — both now load only when a BM25 index is built or "
        "a database is read. About 90 places in the test suite start a CLI process, so this is also minutes of CI."
    )
    print(body)
    if not args.no_write:
        write_section("CLI start-up", body)


if __name__ == "__main__":
    main()
