"""Question-answering sets for answer evaluation: one JSON object per line.

    {"id": "pg-02", "question": "Which language did the author use on the 1401?",
     "answers": ["Fortran"], "gold_docs": ["paul_graham_essay.txt"],
     "gold_passages": ["The language we used was an early version of Fortran."], "split": "test"}
    {"id": "pg-u1", "question": "How much did Yahoo pay for Viaweb?", "answerable": false}

Fields: ``id`` and ``question`` are required. ``answers`` lists reference answers, any one of which counts
(``"answer": "…"`` is read as a one-element list). ``answerable`` defaults to true; a question the documents do
not answer says ``"answerable": false`` (a question with no answers and no such mark is an error, not a silent
unanswerable). ``gold_docs`` (or the retrieval format's ``relevant``) names the documents
that answer it; a gold id matches a stored document uri that equals it or ends with ``/id`` or ``#id``, so
a file name, a path relative to a dataset root or a corpus id (``…/corpus.jsonl#4983``) all work.
``gold_passages`` are exact sentences of those documents (whitespace and case are ignored when they are
looked for). ``split`` is free text (``tune``/``test``): ``--split`` keeps one. Anything else is kept in
``metadata``. Every problem raises :class:`~quarry.evaluation.datasets.DatasetError` naming file and line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quarry.evaluation.datasets import DatasetError, numbered_records

__all__ = ["QAItem", "QASet", "load_qa_set", "matches_gold"]

_KNOWN = {"id", "question", "answers", "answer", "answerable", "gold_docs", "relevant", "gold_passages", "split"}


@dataclass(frozen=True, slots=True)
class QAItem:
    id: str
    question: str
    answers: tuple[str, ...] = ()
    answerable: bool = True
    gold_docs: tuple[str, ...] = ()
    gold_passages: tuple[str, ...] = ()
    split: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QASet:
    name: str
    items: tuple[QAItem, ...]

    @property
    def answerable(self) -> int:
        return sum(item.answerable for item in self.items)

    def fingerprint(self) -> str:
        """A digest of the questions and references (runs compared with each other must share it)."""
        from quarry.types import content_hash

        return content_hash("\n".join(f"{i.id}\t{i.question}\t{'|'.join(i.answers)}" for i in self.items))[:16]


def matches_gold(uri: str, gold: str) -> bool:
    """Whether stored document ``uri`` is the gold document ``gold`` (equal, or ending with ``/gold`` / ``#gold``)."""
    return uri == gold or uri.endswith("/" + gold) or uri.endswith("#" + gold)


def _strings(value: Any, key: str, path: Path, line: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if isinstance(value, Mapping):  # the retrieval format's graded "relevant" mapping
        value = [doc for doc, grade in value.items() if isinstance(grade, int) and grade > 0]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DatasetError(f'"{key}" must be a list of non-empty strings', path=path, line=line)
    return tuple(value)


def _item(key: str, record: dict[str, Any], path: Path, line: int) -> QAItem:
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError('"question" must be a non-empty string', path=path, line=line)
    answers = _strings(record.get("answers", record.get("answer")), "answers", path, line)
    answerable = record.get("answerable", True)
    if not isinstance(answerable, bool):
        raise DatasetError('"answerable" must be true or false', path=path, line=line)
    if answerable and not answers:
        raise DatasetError(
            "an answerable question needs reference answers",
            path=path,
            line=line,
            hint='add "answers": [...] or mark it "answerable": false',
        )
    split = record.get("split", "")
    if not isinstance(split, str):
        raise DatasetError('"split" must be a string', path=path, line=line)
    return QAItem(
        id=key,
        question=question.strip(),
        answers=answers if answerable else (),
        answerable=answerable,
        gold_docs=_strings(record.get("gold_docs", record.get("relevant")), "gold_docs", path, line),
        gold_passages=_strings(record.get("gold_passages"), "gold_passages", path, line),
        split=split,
        metadata={k: v for k, v in record.items() if k not in _KNOWN},
    )


def load_qa_set(path: str | Path, *, split: str | None = None, name: str = "") -> QASet:
    """Read a QA JSONL file (see the module docstring); ``split`` keeps only that split's questions."""
    file = Path(path)
    items = [_item(key, record, file, line) for line, key, record in numbered_records(file, "id")]
    if split is not None:
        splits = sorted({item.split for item in items})
        items = [item for item in items if item.split == split]
        if not items:
            raise DatasetError(f"no question has split {split!r}", path=file, hint=f"splits in the file: {splits}")
    if not items:
        raise DatasetError("the file holds no questions", path=file)
    label = name or file.name.removesuffix(".gz").removesuffix(".jsonl")
    return QASet(name=f"{label}:{split}" if split else label, items=tuple(items))
