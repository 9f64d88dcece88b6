"""SQLite adapters of the operations protocols (prompts, experiments, feedback), in ``<store>.ops.db``.

Each adapter owns its tables; all are thread-safe (one connection behind a lock, WAL, autocommit statements
or one explicit transaction per write), and several processes may share the file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from quarry.errors import StoreError
from quarry.sqlite_wal import use_wal
from quarry.stores.ops import Experiment, ExperimentStatus, Feedback, LabelMove, StoredPrompt
from quarry.stores.ops_rows import experiment_body, experiment_of, feedback_of, prompt_body, prompt_of

__all__ = ["OpsDatabase", "SQLiteExperimentStore", "SQLiteFeedbackStore", "SQLitePromptStore"]


class OpsDatabase:
    """One SQLite file behind a lock: WAL, autocommit reads, one explicit transaction per write."""

    def __init__(self, path: Path, schema: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            use_wal(self._db)
            self._db.executescript(schema)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()


_PROMPTS = """
CREATE TABLE IF NOT EXISTS prompt_versions (
    name TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, created_at REAL NOT NULL,
    created_by TEXT NOT NULL DEFAULT '', PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS prompt_label_moves (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, label TEXT NOT NULL, version INTEGER NOT NULL,
    previous INTEGER, at REAL NOT NULL, by TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS prompt_label_moves_label ON prompt_label_moves(name, label, id);
"""


class SQLitePromptStore(OpsDatabase):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _PROMPTS)

    def add(self, prompt: StoredPrompt, *, floor: int = 0) -> StoredPrompt:
        with self._transaction() as db:
            top = db.execute("SELECT MAX(version) FROM prompt_versions WHERE name = ?", (prompt.name,)).fetchone()[0]
            version = max(int(top or 0), floor) + 1
            now = time.time()
            db.execute(
                "INSERT INTO prompt_versions (name, version, body, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
                (prompt.name, version, prompt_body(prompt), now, prompt.created_by),
            )
        return replace(prompt, version=version, created_at=now)

    def get(self, name: str, version: int) -> StoredPrompt | None:
        rows = self._rows("SELECT * FROM prompt_versions WHERE name = ? AND version = ?", (name, version))
        return prompt_of(rows[0]) if rows else None

    def versions(self, name: str | None = None) -> list[StoredPrompt]:
        if name is None:
            return [prompt_of(r) for r in self._rows("SELECT * FROM prompt_versions ORDER BY name, version")]
        rows = self._rows("SELECT * FROM prompt_versions WHERE name = ? ORDER BY version", (name,))
        return [prompt_of(r) for r in rows]

    def move_label(self, name: str, label: str, version: int, *, by: str = "", note: str = "") -> LabelMove:
        with self._transaction() as db:
            now = self._current(db, name, label)
            move = LabelMove(name, label, version, now, time.time(), by, note)
            db.execute(
                "INSERT INTO prompt_label_moves (name, label, version, previous, at, by, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, label, version, now, move.at, by, note),
            )
        return move

    @staticmethod
    def _current(db: sqlite3.Connection, name: str, label: str) -> int | None:
        row = db.execute(
            "SELECT version FROM prompt_label_moves WHERE name = ? AND label = ? ORDER BY id DESC LIMIT 1",
            (name, label),
        ).fetchone()
        return None if row is None else int(row[0])

    def labels(self, name: str) -> dict[str, int]:
        rows = self._rows(
            "SELECT label, version FROM prompt_label_moves m WHERE name = ? AND id = "
            "(SELECT MAX(id) FROM prompt_label_moves WHERE name = m.name AND label = m.label) ORDER BY label",
            (name,),
        )
        return {r["label"]: int(r["version"]) for r in rows}

    def history(self, name: str, label: str) -> list[LabelMove]:
        rows = self._rows(
            "SELECT * FROM prompt_label_moves WHERE name = ? AND label = ? ORDER BY id DESC", (name, label)
        )
        return [
            LabelMove(r["name"], r["label"], r["version"], r["previous"], r["at"], r["by"], r["note"]) for r in rows
        ]


_EXPERIMENTS = """
CREATE TABLE IF NOT EXISTS experiments (
    name TEXT PRIMARY KEY, prompt TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, ended_at REAL
);
"""


class SQLiteExperimentStore(OpsDatabase):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _EXPERIMENTS)

    def create(self, experiment: Experiment) -> Experiment:
        now = time.time()
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM experiments WHERE name = ?", (experiment.name,)).fetchone():
                raise StoreError(f"an experiment named {experiment.name!r} exists", operation="create_experiment",
                                 hint="choose another name; `quarry experiments list` shows them")  # fmt: skip
            busy = db.execute(
                "SELECT name FROM experiments WHERE prompt = ? AND status = 'running'", (experiment.prompt,)
            ).fetchone()
            if busy:
                raise StoreError(
                    f"experiment {busy[0]!r} already runs on prompt {experiment.prompt!r}",
                    operation="create_experiment",
                    hint=f"stop it first: quarry experiments stop {busy[0]}",
                )
            db.execute(
                "INSERT INTO experiments (name, prompt, body, status, created_at) VALUES (?, ?, ?, 'running', ?)",
                (experiment.name, experiment.prompt, experiment_body(experiment), now),
            )
        found = self.get(experiment.name)
        assert found is not None
        return found

    def get(self, name: str) -> Experiment | None:
        rows = self._rows("SELECT * FROM experiments WHERE name = ?", (name,))
        return experiment_of(rows[0]) if rows else None

    def list(self) -> list[Experiment]:
        return [experiment_of(r) for r in self._rows("SELECT * FROM experiments ORDER BY created_at DESC")]

    def running(self, prompt: str) -> Experiment | None:
        rows = self._rows("SELECT * FROM experiments WHERE prompt = ? AND status = 'running'", (prompt,))
        return experiment_of(rows[0]) if rows else None

    def end(self, name: str, status: ExperimentStatus, reason: str) -> Experiment:
        with self._transaction() as db:  # an experiment that already ended keeps its status and reason
            db.execute(
                "UPDATE experiments SET status = ?, reason = ?, ended_at = ? WHERE name = ? AND status = 'running'",
                (status, reason, time.time(), name),
            )
        found = self.get(name)
        if found is None:
            raise StoreError(f"no experiment {name!r}", operation="end_experiment", hint="see quarry experiments list")
        return found


_FEEDBACK = """
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY, trace_id TEXT NOT NULL, rating TEXT, score REAL, comment TEXT NOT NULL,
    correction TEXT NOT NULL, key_id TEXT NOT NULL, principals TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_trace ON feedback(trace_id);
CREATE INDEX IF NOT EXISTS feedback_created ON feedback(created_at);
"""


class SQLiteFeedbackStore(OpsDatabase):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _FEEDBACK)

    def add(self, feedback: Feedback) -> Feedback:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (feedback.id, feedback.trace_id, feedback.rating, feedback.score, feedback.comment,
                 feedback.correction, feedback.key_id, json.dumps(list(feedback.principals)), feedback.created_at),
            )  # fmt: skip
        return feedback

    def for_traces(self, trace_ids: Sequence[str]) -> dict[str, list[Feedback]]:
        found: dict[str, list[Feedback]] = {}
        ids = list(dict.fromkeys(trace_ids))
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ", ".join("?" * len(part))
            for row in self._rows(f"SELECT * FROM feedback WHERE trace_id IN ({marks}) ORDER BY created_at", part):
                found.setdefault(row["trace_id"], []).append(feedback_of(row))
        return found

    def recent(self, limit: int = 100) -> list[Feedback]:
        return [feedback_of(r) for r in self._rows("SELECT * FROM feedback ORDER BY created_at DESC LIMIT ?", (limit,))]
