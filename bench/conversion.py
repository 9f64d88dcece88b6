"""Document conversion vs markitdown's reference outputs.

For every ``expected_outputs/<stem>.md`` in markitdown's test files, convert ``<stem>.<ext>`` with
Quarry's registry (PDF tables off, the default, and on) and report:

* ``ratio`` — difflib ``SequenceMatcher`` ratio of the whitespace-normalised texts (1.0 = identical);
* ``recall`` — share of the reference's word tokens (multiset, lower-cased) found in Quarry's text;
* ``ms`` — wall time of one conversion (after a warm-up conversion).

Run: ``python bench/conversion.py`` (``--no-write`` to only print). Writes the
``## Document conversion`` section of ``bench/RESULTS.md``, leaving other sections alone.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import time
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path

from quarry.errors import ParseError
from quarry.ingest.parsers import ParserRegistry
from quarry.types import RawDocument

DATASETS = Path(os.environ.get("QUARRY_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
TEST_FILES = DATASETS / "documents/markitdown/packages/markitdown/tests/test_files"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADING = "## Document conversion"
COMMAND = "cd /work/main && . .venv/bin/activate && python bench/conversion.py"
_WORD = re.compile(r"\w+")
# All of markitdown's expected outputs are PDF conversions (``test.md`` is ``test.pdf``; the other
# ``test.*`` files are different documents), so a PDF source wins when several share a stem.
_SOURCE_PREFERENCE = [".pdf", ".docx", ".pptx", ".xlsx", ".html", ".epub"]


def normalise(text: str) -> str:
    return " ".join(text.split())


def recall(reference: str, candidate: str) -> float:
    wanted = Counter(_WORD.findall(reference.lower()))
    found = Counter(_WORD.findall(candidate.lower()))
    total = sum(wanted.values())
    return sum(min(count, found[word]) for word, count in wanted.items()) / total if total else 1.0


def convert(registry: ParserRegistry, source: Path) -> tuple[str, float, str]:
    raw = RawDocument(uri=str(source), data=source.read_bytes(), name=source.name)
    with contextlib.suppress(ParseError):
        registry.parse(raw)  # warm-up (imports, caches)
    started = time.perf_counter()
    try:
        text = "\n\n".join(doc.text for doc in registry.parse(raw))
        note = ""
    except ParseError as exc:
        text, note = "", type(exc).__name__
    return text, (time.perf_counter() - started) * 1000, note


def score_row(name: str, reference: str, text: str, ms: float, note: str) -> tuple[str, list[float]]:
    if not reference.strip() and not text.strip():
        return f"| {name} | – | – | {ms:.1f} | both empty (scanned, no text layer); Quarry: {note} |", []
    ratio = SequenceMatcher(None, normalise(reference), normalise(text), autojunk=False).ratio()
    rec = recall(reference, text)
    return f"| {name} | {ratio:.3f} | {rec:.3f} | {ms:.1f} | {note} |", [ratio, rec, ms]


def run() -> str:
    references = sorted((TEST_FILES / "expected_outputs").glob("*.md"))
    sections = []
    variants = (("PDF tables off", ParserRegistry()), ("PDF tables on (default)", ParserRegistry(pdf_tables=True)))
    for label, registry in variants:
        rows = ["| file | ratio | recall | ms | note |", "| --- | ---: | ---: | ---: | --- |"]
        scored: list[list[float]] = []
        for reference_path in references:
            sources = sorted(
                (p for p in TEST_FILES.glob(reference_path.stem + ".*") if p.suffix in _SOURCE_PREFERENCE),
                key=lambda p: _SOURCE_PREFERENCE.index(p.suffix),
            )
            if not sources:
                continue
            text, ms, note = convert(registry, sources[0])
            row, values = score_row(sources[0].name, reference_path.read_text(encoding="utf-8"), text, ms, note)
            rows.append(row)
            if values:
                scored.append(values)
        if scored:
            means = [sum(column) / len(scored) for column in zip(*scored, strict=True)]
            rows.append(f"| **mean** ({len(scored)} scored) | {means[0]:.3f} | {means[1]:.3f} | {means[2]:.1f} | |")
        sections.append(f"### {label}\n\n" + "\n".join(rows))
    intro = (
        f"{HEADING}\n\nQuarry's parsers vs markitdown's reference conversions "
        "(`packages/markitdown/tests/test_files/expected_outputs`). ratio = difflib SequenceMatcher on "
        "whitespace-normalised text; recall = share of the reference's word tokens present in Quarry's "
        "output; ms = one conversion after a warm-up.\n\nCommand: `" + COMMAND + "`\n"
    )
    return intro + "\n" + "\n\n".join(sections) + "\n"


def write_section(section: str, path: Path = RESULTS) -> None:
    """Replace (or append) our section: from ``HEADING`` up to the next ``## `` heading."""
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: section + "\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + section
    path.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only; do not touch RESULTS.md")
    args = parser.parse_args()
    section = run()
    print(section)
    if not args.no_write:
        write_section(section)


if __name__ == "__main__":
    main()
