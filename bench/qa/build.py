"""Build and check the answer dev set: ``bench/qa/dev.jsonl`` (questions) and the corpus it is asked over.

    python bench/qa/build.py            # validate every item against the parsed documents, write dev.jsonl
    python bench/qa/build.py --corpus   # also write the SciFact part of the corpus to bench/_work/qa/

How it was made: the questions in ``items_*.py`` were written by hand while reading the documents (Paul Graham's
essay, 19 real files from markitdown's and unstructured's test suites, and SciFact abstracts drawn at random).
Reference answers and gold passages are copied verbatim from the text Quarry's parsers extract. Unanswerable
questions ask about the same subjects as the corpus, most of them near misses (another year, another product,
another country), so a system must notice that a qualifier does not match rather than answer with a neighbour.

This script checks every answerable item: its gold document parses, its gold passage occurs in the parsed text
(whitespace-insensitive) and one of its reference answers occurs in the passage (case-insensitive). It then
assigns the split: ``tune`` (settings may be chosen on it) or ``test`` (reported, never tuned on). The split is
by document: each file's questions are all on one side; the essay is split where half of its questions lie
before (those tune) and half after (those test); SciFact abstracts alternate. The later questions of
``items_extra.py`` are all tune and are checked to ask only about what the tune split owns: a tune document, a
passage before the essay's first test passage, or a SciFact abstract among the corpus's distractors.

The corpus: every file below, the essay, and a SciFact subset — the gold abstracts plus 1,000 others drawn with
seed 0 — written to ``bench/_work/qa/scifact-qa.jsonl`` (the data stays in ../shared; only this list is code).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import items_docs  # noqa: E402
import items_extra  # noqa: E402
import items_pg  # noqa: E402
import items_scifact  # noqa: E402

from quarry.ingest.parsers import default_registry  # noqa: E402
from quarry.types import RawDocument  # noqa: E402

DATASETS = HERE.parents[2] / "shared" / "datasets"
OUT = HERE / "dev.jsonl"
WORK = HERE.parent / "_work" / "qa"
SCIFACT_SUBSET = WORK / "scifact-qa.jsonl"
SCIFACT_DISTRACTORS = 1000

TUNE_DOCUMENTS = {
    items_docs.RECEIPT,
    items_docs.SPARSE,
    items_docs.AUTOGEN_PDF,
    items_docs.BLOG,
    items_docs.NESTLE,
    items_docs.NORWICH,
    items_docs.CHEVRON,
    items_docs.FAMILY,
    items_docs.DA,
    items_docs.MASTERFORMAT,
}


def normalise(text: str) -> str:
    """Lower case, runs of whitespace as one space, and Markdown table cell bars as spaces (tables parse as rows)."""
    return re.sub(r"[\s|]+", " ", text).strip().lower()


def parsed_text(relative: str) -> str:
    path = DATASETS / relative
    documents = default_registry().parse(RawDocument(str(path), path.read_bytes(), path.name))
    return "\n\n".join(d.text for d in documents)


def scifact_abstracts() -> dict[str, dict[str, str]]:
    with gzip.open(DATASETS / items_scifact.CORPUS, "rt", encoding="utf-8") as handle:
        return {record["_id"]: record for record in map(json.loads, handle)}


def check(item_id: str, text: str, answers: list[str], passage: str) -> None:
    if normalise(passage) not in normalise(text):
        raise SystemExit(f"{item_id}: gold passage not in the parsed document: {passage!r}")
    if not any(answer.lower() in passage.lower() for answer in answers):
        raise SystemExit(f"{item_id}: no reference answer occurs in the gold passage")


def item(
    item_id: str, question: str, answers: list[str], doc: str, passage: str | None, split: str
) -> dict[str, object]:
    record: dict[str, object] = {"id": item_id, "question": question}
    if passage is None:
        record.update(answerable=False, answers=[], gold_docs=[doc], gold_passages=[])
    else:
        record.update(answerable=True, answers=answers, gold_docs=[doc], gold_passages=[passage])
    record["split"] = split
    return record


def essay_items() -> list[dict[str, object]]:
    text = parsed_text(items_pg.DOC)
    answerable = items_pg.ANSWERABLE + items_pg.ANSWERABLE_LATE
    for item_id, _, answers, passage in answerable:
        check(item_id, text, answers, passage)
    positions = sorted(normalise(text).index(normalise(passage)) for *_, passage in answerable)
    middle = positions[len(positions) // 2]  # the essay's first part holds half of the questions
    records = []
    for item_id, question, answers, passage in answerable:
        split = "tune" if normalise(text).index(normalise(passage)) < middle else "test"
        records.append(item(item_id, question, answers, items_pg.DOC, passage, split))
    for n, (item_id, question) in enumerate(items_pg.UNANSWERABLE):
        records.append(item(item_id, question, [], items_pg.DOC, None, "tune" if n % 2 == 0 else "test"))
    return records


def document_items() -> list[dict[str, object]]:
    texts: dict[str, str] = {}
    records = []
    for item_id, doc, question, answers, passage in items_docs.ANSWERABLE:
        text = texts.setdefault(doc, parsed_text(doc))
        check(item_id, text, answers, passage)
        split = "tune" if doc in TUNE_DOCUMENTS else "test"
        records.append(item(item_id, question, answers, doc, passage, split))
    for item_id, doc, question in items_docs.UNANSWERABLE:
        split = "tune" if doc in TUNE_DOCUMENTS else "test"
        records.append(item(item_id, question, [], doc, None, split))
    return records


def scifact_items(abstracts: dict[str, dict[str, str]]) -> list[dict[str, object]]:
    records = []
    for n, (item_id, doc_id, question, answers, passage) in enumerate(items_scifact.ANSWERABLE):
        abstract = abstracts[doc_id]
        check(item_id, abstract["title"] + "\n" + abstract["text"], answers, passage)
        records.append(item(item_id, question, answers, doc_id, passage, "tune" if n % 2 == 0 else "test"))
    for n, (item_id, doc_id, question) in enumerate(items_scifact.UNANSWERABLE):
        records.append(item(item_id, question, [], doc_id, None, "tune" if n % 2 == 0 else "test"))
    return records


def extra_items(abstracts: dict[str, dict[str, str]]) -> list[dict[str, object]]:
    """The later tune questions (``items_extra``), checked to ask only what the tune split owns in the corpus."""
    essay = normalise(parsed_text(items_pg.DOC))
    first_test = min(essay.index(normalise(str(r["gold_passages"][0]))) for r in essay_items() if r["split"] == "test"
                     and r["answerable"])  # fmt: skip
    distractors = set(chosen_scifact(abstracts)) - scifact_gold()
    records, texts = [], {}
    for item_id, doc, question, answers, passage in items_extra.DOCUMENTS:
        if doc not in TUNE_DOCUMENTS:
            raise SystemExit(f"{item_id}: {doc} is not a tune document")
        check(item_id, texts.setdefault(doc, parsed_text(doc)), answers, passage)
        records.append(item(item_id, question, answers, doc, passage, "tune"))
    records += [item(i, q, [], doc, None, "tune") for i, doc, q in items_extra.DOCUMENTS_UNANSWERABLE]
    for item_id, question, answers, passage in items_extra.ESSAY_ITEMS:
        check(item_id, essay, answers, passage)
        if essay.index(normalise(passage)) >= first_test:
            raise SystemExit(f"{item_id}: the passage lies in the essay's test part")
        records.append(item(item_id, question, answers, items_pg.DOC, passage, "tune"))
    records += [item(i, q, [], items_pg.DOC, None, "tune") for i, q in items_extra.ESSAY_UNANSWERABLE]
    for item_id, doc_id, question, answers, passage in items_extra.SCIFACT:
        if doc_id not in distractors:
            raise SystemExit(f"{item_id}: abstract {doc_id} is not one of the corpus's distractors")
        abstract = abstracts[doc_id]
        check(item_id, abstract["title"] + "\n" + abstract["text"], answers, passage)
        records.append(item(item_id, question, answers, doc_id, passage, "tune"))
    records += [item(i, q, [], doc_id, None, "tune") for i, doc_id, q in items_extra.SCIFACT_UNANSWERABLE]
    return records


def corpus_files() -> list[Path]:
    """The files the questions are asked over (their text is in ../shared, never copied here)."""
    documents = sorted({doc for _, doc, *_ in items_docs.ANSWERABLE} | {doc for _, doc, _ in items_docs.UNANSWERABLE})
    return [DATASETS / items_pg.DOC, *(DATASETS / doc for doc in documents)]


def scifact_gold() -> set[str]:
    return {doc for _, doc, *_ in items_scifact.ANSWERABLE} | {doc for _, doc, _ in items_scifact.UNANSWERABLE}


def chosen_scifact(abstracts: dict[str, dict[str, str]]) -> list[str]:
    """The SciFact part of the corpus: the gold abstracts and 1,000 others drawn with seed 0."""
    gold = scifact_gold()
    return sorted(gold) + random.Random(0).sample(sorted(set(abstracts) - gold), SCIFACT_DISTRACTORS)


def write_scifact_subset(abstracts: dict[str, dict[str, str]]) -> Path:
    chosen = chosen_scifact(abstracts)
    WORK.mkdir(parents=True, exist_ok=True)
    with SCIFACT_SUBSET.open("w", encoding="utf-8") as out:
        for doc_id in sorted(chosen, key=int):
            out.write(json.dumps(abstracts[doc_id], ensure_ascii=False) + "\n")
    return SCIFACT_SUBSET


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", action="store_true", help="also write the SciFact subset of the corpus")
    args = parser.parse_args()
    abstracts = scifact_abstracts()
    records = essay_items() + document_items() + scifact_items(abstracts) + extra_items(abstracts)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    counts: dict[tuple[str, bool], int] = {}
    for r in records:
        key = (str(r["split"]), bool(r["answerable"]))
        counts[key] = counts.get(key, 0) + 1
    print(
        f"wrote {OUT} ({len(records)} questions): "
        + ", ".join(f"{s} {'answerable' if a else 'unanswerable'} {n}" for (s, a), n in sorted(counts.items()))
    )
    if args.corpus:
        print(f"corpus: {len(corpus_files())} files and {write_scifact_subset(abstracts)}")


if __name__ == "__main__":
    main()
