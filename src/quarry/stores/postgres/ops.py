"""PostgreSQL adapters of the operations protocols (prompts, experiments, feedback): the same tables and JSON
bodies as the SQLite adapters (:mod:`quarry.stores.ops_rows`), shared by every replica. Version numbers are
assigned under a per-name advisory lock, and a partial unique index keeps one running experiment per prompt
even when two processes start one at the same moment."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import replace

import psycopg

from quarry.errors import StoreError
from quarry.stores.ops import Experiment, ExperimentStatus, Feedback, LabelMove, StoredPrompt
from quarry.stores.ops_rows import experiment_body, experiment_of, feedback_of, prompt_body, prompt_of
from quarry.stores.postgres.database import Row
from quarry.stores.postgres.state import Adapter

__all__ = ["PostgresExperimentStore", "PostgresFeedbackStore", "PostgresPromptStore"]


class PostgresPromptStore(Adapter):
    def add(self, prompt: StoredPrompt, *, floor: int = 0) -> StoredPrompt:
        now = time.time()
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('prompt:' || %s))", (prompt.name,))
            top = conn.execute("SELECT max(version) AS top FROM prompt_versions WHERE name = %s", (prompt.name,))
            version = max(int(_one(top.fetchone())["top"] or 0), floor) + 1
            conn.execute(
                "INSERT INTO prompt_versions (name, version, body, created_at, created_by) VALUES (%s, %s, %s, %s, %s)",
                (prompt.name, version, prompt_body(prompt), now, prompt.created_by),
            )
        return replace(prompt, version=version, created_at=now)

    def get(self, name: str, version: int) -> StoredPrompt | None:
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM prompt_versions WHERE name = %s AND version = %s", (name, version)
            ).fetchone()
        return None if row is None else prompt_of(row)

    def versions(self, name: str | None = None) -> list[StoredPrompt]:
        with self.db.transaction() as conn:
            if name is None:
                rows = conn.execute('SELECT * FROM prompt_versions ORDER BY name COLLATE "C", version').fetchall()
            else:
                rows = conn.execute(
                    "SELECT * FROM prompt_versions WHERE name = %s ORDER BY version", (name,)
                ).fetchall()
        return [prompt_of(r) for r in rows]

    def move_label(self, name: str, label: str, version: int, *, by: str = "", note: str = "") -> LabelMove:
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('label:' || %s || ':' || %s))", (name, label))
            row = conn.execute(
                "SELECT version FROM prompt_label_moves WHERE name = %s AND label = %s ORDER BY id DESC LIMIT 1",
                (name, label),
            ).fetchone()
            move = LabelMove(name, label, version, None if row is None else int(row["version"]), time.time(), by, note)
            conn.execute(
                "INSERT INTO prompt_label_moves (name, label, version, previous, at, by, note) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (name, label, version, move.previous, move.at, by, note),
            )
        return move

    def labels(self, name: str) -> dict[str, int]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT DISTINCT ON (label) label, version FROM prompt_label_moves WHERE name = %s "
                "ORDER BY label, id DESC",
                (name,),
            ).fetchall()
        return {r["label"]: int(r["version"]) for r in sorted(rows, key=lambda r: str(r["label"]))}

    def history(self, name: str, label: str) -> list[LabelMove]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM prompt_label_moves WHERE name = %s AND label = %s ORDER BY id DESC", (name, label)
            ).fetchall()
        return [
            LabelMove(r["name"], r["label"], r["version"], r["previous"], r["at"], r["by"], r["note"]) for r in rows
        ]


class PostgresExperimentStore(Adapter):
    def create(self, experiment: Experiment) -> Experiment:
        try:
            with self.db.transaction() as conn:
                if conn.execute("SELECT 1 FROM experiments WHERE name = %s", (experiment.name,)).fetchone():
                    raise StoreError(f"an experiment named {experiment.name!r} exists", operation="create_experiment",
                                     hint="choose another name; `quarry experiments list` shows them")  # fmt: skip
                conn.execute(
                    "INSERT INTO experiments (name, prompt, body, status, created_at) "
                    "VALUES (%s, %s, %s, 'running', %s)",
                    (experiment.name, experiment.prompt, experiment_body(experiment), time.time()),
                )
        except psycopg.errors.UniqueViolation as exc:
            busy = self.running(experiment.prompt)
            if busy is None:  # the name was taken meanwhile
                raise StoreError(f"an experiment named {experiment.name!r} exists", operation="create_experiment",
                                 hint="choose another name") from exc  # fmt: skip
            raise StoreError(
                f"experiment {busy.name!r} already runs on prompt {experiment.prompt!r}",
                operation="create_experiment",
                hint=f"stop it first: quarry experiments stop {busy.name}",
            ) from exc
        found = self.get(experiment.name)
        assert found is not None
        return found

    def get(self, name: str) -> Experiment | None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM experiments WHERE name = %s", (name,)).fetchone()
        return None if row is None else experiment_of(row)

    def list(self) -> list[Experiment]:
        with self.db.transaction() as conn:
            return [experiment_of(r) for r in conn.execute("SELECT * FROM experiments ORDER BY created_at DESC")]

    def running(self, prompt: str) -> Experiment | None:
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM experiments WHERE prompt = %s AND status = 'running'", (prompt,)
            ).fetchone()
        return None if row is None else experiment_of(row)

    def end(self, name: str, status: ExperimentStatus, reason: str) -> Experiment:
        with self.db.transaction() as conn:  # an experiment that already ended keeps its status and reason
            conn.execute(
                "UPDATE experiments SET status = %s, reason = %s, ended_at = %s WHERE name = %s AND status = 'running'",
                (status, reason, time.time(), name),
            )
        found = self.get(name)
        if found is None:
            raise StoreError(f"no experiment {name!r}", operation="end_experiment", hint="see quarry experiments list")
        return found


class PostgresFeedbackStore(Adapter):
    def add(self, feedback: Feedback) -> Feedback:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO feedback (id, trace_id, rating, score, comment, correction, key_id, principals, "
                "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (feedback.id, feedback.trace_id, feedback.rating, feedback.score, feedback.comment,
                 feedback.correction, feedback.key_id, json.dumps(list(feedback.principals)), feedback.created_at),
            )  # fmt: skip
        return feedback

    def for_traces(self, trace_ids: Sequence[str]) -> dict[str, list[Feedback]]:
        found: dict[str, list[Feedback]] = {}
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM feedback WHERE trace_id = ANY(%s) ORDER BY created_at", (list(dict.fromkeys(trace_ids)),)
            ).fetchall()
        for row in rows:
            found.setdefault(row["trace_id"], []).append(feedback_of(row))
        return found

    def recent(self, limit: int = 100) -> list[Feedback]:
        with self.db.transaction() as conn:
            rows = conn.execute("SELECT * FROM feedback ORDER BY created_at DESC LIMIT %s", (limit,)).fetchall()
        return [feedback_of(r) for r in rows]


def _one(row: Row | None) -> Row:
    assert row is not None  # an aggregate always returns a row
    return row
