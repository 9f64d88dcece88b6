"""Write one section of bench/RESULTS.md, replacing the previous version of that section."""

from __future__ import annotations

import argparse
import platform
import re
import time
from pathlib import Path

import psutil

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = "# Benchmark results\n\nEach section names the command that produced it. Machine facts are in each section.\n"


def machine() -> str:
    freq = psutil.cpu_freq()
    mhz = f", {freq.max:.0f} MHz" if freq and freq.max else ""
    return (
        f"{platform.processor() or platform.machine()}, {psutil.cpu_count()} cores{mhz}, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}"
    )


def scifact_parser(doc: str | None, split: str) -> argparse.ArgumentParser:
    """The options every SciFact bench shares: the split, where the store lives, and print-only."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default=split)
    parser.add_argument("--store", type=Path, default=Path("bench/_work/scifact"))
    parser.add_argument("--no-write", action="store_true", help="print the results without updating RESULTS.md")
    return parser


_NOTE = re.compile(r"<!-- note -->\n.*?<!-- /note -->\n", re.S)


def _section_pattern(title: str) -> re.Pattern[str]:
    return re.compile(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", re.S | re.M)


def read_section(title: str) -> str:
    """The body of the section ``title`` as RESULTS has it now ("" when there is none)."""
    found = _section_pattern(title).search(RESULTS.read_text()) if RESULTS.exists() else None
    return found.group(1) if found else ""


def write_section(title: str, body: str) -> None:
    """Write (or replace) the section ``title``. A reader's note in the old section, between ``<!-- note -->``
    and ``<!-- /note -->`` lines, is kept: it goes after the new body's first paragraph (the command line)."""
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    pattern = _section_pattern(title)
    old = pattern.search(text)
    note = _NOTE.search(old.group()) if old else None
    first, _, rest = body.strip().partition("\n\n")
    kept = f"\n\n{note.group().strip()}" if note else ""
    section = f"## {title}\n\n{first}{kept}" + (f"\n\n{rest}" if rest else "") + "\n\n"
    text = pattern.sub(lambda _: section, text) if old else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text.rstrip() + "\n")
