"""Size of a fresh default install (no dev tools) and time of the README's set-up command.

    python bench/install.py

Clones the committed repository into a temporary folder, times `make setup` there (venv + editable
install with dev tools), then builds a second venv with the plain `pip install .` and measures its
size and whether torch came along. Uses pip's cache as a user's machine would (`--no-cache` to
measure a cold download).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import machine, write_section

REPO = Path(__file__).resolve().parents[1]


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-cache", action="store_true", help="measure with an empty pip cache")
    args = parser.parse_args()
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        if args.no_cache:
            env["PIP_NO_CACHE_DIR"] = "1"
        clone = Path(tmp) / "quarry"
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        setup_s = run(["make", "setup"], clone, env)
        plain = Path(tmp) / "plain"
        subprocess.run([sys.executable, "-m", "venv", str(plain)], check=True)
        install_s = run([str(plain / "bin/pip"), "install", "--quiet", str(clone)], clone, env)
        site = next((plain / "lib").glob("python3*/site-packages"))
        total = size_mb(plain)
        has_torch = (site / "torch").exists()
        biggest = sorted(((size_mb(p), p.name) for p in site.iterdir() if p.is_dir()), reverse=True)[:8]
    rows = "\n".join(f"| {name} | {mb:.0f} MB |" for mb, name in biggest)
    cache = "cold pip cache" if args.no_cache else "warm pip cache"
    body = f"""Command: `python bench/install.py{" --no-cache" if args.no_cache else ""}` ({cache}). Machine: {machine()}.

| measure | value | target |
|---|---|---|
| `make setup` on a fresh clone (venv + dev tools) | {setup_s:.0f} s | |
| `pip install .` into an empty venv | {install_s:.0f} s | |
| size of that default install (whole venv) | {total:.0f} MB | ≤ 600 MB |
| torch installed | {"yes" if has_torch else "no"} | no |

Largest packages in the default install:

| package | size |
|---|---|
{rows}
"""
    print(body)
    write_section(f"Install size and set-up time ({cache})", body)


if __name__ == "__main__":
    main()
