"""Loaders for retrieval test collections.

Two formats are read:

* **BEIR** — a folder holding ``corpus.jsonl`` (``{"_id", "title", "text"}`` per line),
  ``queries.jsonl`` (``{"_id", "text"}`` per line) and ``qrels/<split>.tsv``
  (``query-id<TAB>corpus-id<TAB>score`` with an optional header line). Each JSONL file may be
  gzipped (``corpus.jsonl.gz``). As in BEIR, only the queries judged in the split are kept.
* **JSONL QA** — one ``{"id", "question", "answer"?, "relevant"}`` object per line, where
  ``relevant`` lists the ids (or uris) of the documents that answer the question, or maps them to
  graded relevance (``{"doc": 2}``). Items with no relevant document are not retrieval queries and
  are left out of ``queries``.

Every problem with the files raises :class:`DatasetError` naming the file and, when it applies,
the line.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from quarry.errors import SourceError

__all__ = ["CorpusDoc", "DatasetError", "Qrels", "RetrievalDataset", "load_beir", "load_qa", "numbered_records"]

Qrels = dict[str, dict[str, int]]
"""Relevance judgments: query id → document id → graded relevance (> 0 means relevant)."""


class DatasetError(SourceError):
    """A dataset file is missing or malformed; ``line`` is 1-based (0 when not about one line)."""

    def __init__(self, message: str, *, path: Path, line: int = 0, hint: str = "") -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}", source=str(path), hint=hint)
        self.path = path
        self.line = line


@dataclass(frozen=True, slots=True)
class CorpusDoc:
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class RetrievalDataset:
    """A test collection: documents, queries with judgments, and the judgments themselves.

    ``queries`` holds only queries that have judgments in ``qrels``. ``corpus`` is empty for a
    JSONL QA set (its documents are whatever was ingested); ``answers`` is empty for BEIR data.
    """

    name: str
    corpus: dict[str, CorpusDoc]
    queries: dict[str, str]
    qrels: Qrels
    answers: dict[str, str] = field(default_factory=dict)

    @property
    def relevant_count(self) -> int:
        return sum(1 for judged in self.qrels.values() for grade in judged.values() if grade > 0)


def load_beir(folder: str | Path, split: str = "test", *, name: str = "") -> RetrievalDataset:
    """Load a BEIR-format dataset from ``folder``, keeping the queries judged in ``split``."""
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError("dataset folder does not exist", path=root, hint="pass a BEIR dataset folder")
    qrels = _read_qrels(_qrels_path(root, split))
    queries_path = _jsonl_path(root, "queries")
    all_queries = {key: str(record.get("text", "")) for key, record in _records(queries_path, "_id")}
    missing = sorted(set(qrels) - set(all_queries))
    if missing:
        raise DatasetError(
            f"{len(missing)} judged queries have no text, e.g. {missing[0]!r}",
            path=queries_path,
            hint=f"qrels/{split}.tsv and the queries file do not belong together",
        )
    corpus = {
        key: CorpusDoc(title=str(record.get("title") or ""), text=str(record.get("text") or ""))
        for key, record in _records(_jsonl_path(root, "corpus"), "_id")
    }
    queries = {qid: all_queries[qid] for qid in sorted(qrels)}
    return RetrievalDataset(name=name or root.name, corpus=corpus, queries=queries, qrels=qrels)


def load_qa(path: str | Path, *, name: str = "") -> RetrievalDataset:
    """Load a JSONL QA file (``{"id", "question", "answer"?, "relevant"}`` per line)."""
    file = Path(path)
    queries: dict[str, str] = {}
    answers: dict[str, str] = {}
    qrels: Qrels = {}
    for line_no, key, record in numbered_records(file, "id"):
        question = record.get("question")
        if not isinstance(question, str) or not question.strip():
            raise DatasetError('"question" must be a non-empty string', path=file, line=line_no)
        judged = _relevant(record.get("relevant"), file, line_no)
        answer = record.get("answer")
        if answer is not None and not isinstance(answer, str):
            raise DatasetError('"answer" must be a string when present', path=file, line=line_no)
        if answer is not None:
            answers[key] = answer
        if any(grade > 0 for grade in judged.values()):
            queries[key] = question
            qrels[key] = judged
    name = name or file.name.removesuffix(".gz").removesuffix(".jsonl")
    return RetrievalDataset(name=name, corpus={}, queries=queries, qrels=qrels, answers=answers)


def _relevant(value: Any, file: Path, line_no: int) -> dict[str, int]:
    if isinstance(value, list) and all(isinstance(item, str) and item for item in value):
        return dict.fromkeys(value, 1)
    if isinstance(value, dict) and all(
        isinstance(grade, int) and not isinstance(grade, bool) for grade in value.values()
    ):
        return {str(doc): int(grade) for doc, grade in value.items()}
    raise DatasetError(
        '"relevant" must be a list of document ids or a mapping of document id to integer grade',
        path=file,
        line=line_no,
    )


def _qrels_path(root: Path, split: str) -> Path:
    path = root / "qrels" / f"{split}.tsv"
    if not path.is_file():
        splits = sorted(p.stem for p in (root / "qrels").glob("*.tsv"))
        hint = f"available splits: {', '.join(splits)}" if splits else "the folder has no qrels/*.tsv"
        raise DatasetError(f"no judgments for split {split!r}", path=path, hint=hint)
    return path


def _jsonl_path(root: Path, stem: str) -> Path:
    for candidate in (root / f"{stem}.jsonl", root / f"{stem}.jsonl.gz"):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"missing {stem}.jsonl or {stem}.jsonl.gz", path=root)


def _open_text(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered, right-stripped lines of a text file, gunzipped when its name ends in ``.gz``."""
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                yield number, line.rstrip("\r\n")
    except FileNotFoundError:
        raise DatasetError("file does not exist", path=path) from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read the file: {exc}", path=path) from exc


def numbered_records(path: Path, id_key: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """``(line, id, object)`` for each non-blank line of a JSONL file; ids must be unique."""
    seen: set[str] = set()
    for number, line in _lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"invalid JSON: {exc.msg}", path=path, line=number) from None
        if not isinstance(record, dict):
            raise DatasetError("expected a JSON object", path=path, line=number)
        key = record.get(id_key)
        if isinstance(key, int) and not isinstance(key, bool):
            key = str(key)
        if not isinstance(key, str) or not key:
            raise DatasetError(f"missing or empty {id_key!r}", path=path, line=number)
        if key in seen:
            raise DatasetError(f"duplicate {id_key} {key!r}", path=path, line=number)
        seen.add(key)
        yield number, key, record


def _records(path: Path, id_key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for _, key, record in numbered_records(path, id_key):
        yield key, record


def _read_qrels(path: Path) -> Qrels:
    qrels: Qrels = {}
    for number, line in _lines(path):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise DatasetError(
                f"expected 3 tab-separated fields (query-id, corpus-id, score), got {len(fields)}",
                path=path,
                line=number,
            )
        qid, doc_id, score = (part.strip() for part in fields)
        try:
            grade = int(score)
        except ValueError:
            if number == 1:  # the header line
                continue
            raise DatasetError(f"score {score!r} is not an integer", path=path, line=number) from None
        if not qid or not doc_id:
            raise DatasetError("empty query-id or corpus-id", path=path, line=number)
        qrels.setdefault(qid, {})[doc_id] = grade
    if not qrels:
        raise DatasetError("no judgments in the file", path=path)
    return qrels
