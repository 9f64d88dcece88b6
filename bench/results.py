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


def write_section(title: str, body: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    section = f"## {title}\n\n{body.strip()}\n\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text.rstrip() + "\n")
