"""SQLite adapters of the agent protocols: runs and approvals, and long-term memory (``<store>.agents.db``).

Memory vectors are float32 blobs searched exactly per user (a user's facts are few); the protocol's
guarantees — one decision per approval, one claimant per decided run — come from conditional UPDATEs inside
``BEGIN IMMEDIATE`` transactions, so several processes may share the file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from quarry.stores.agent_rows import approval_of, memory_of, run_body, run_of
from quarry.stores.agents import AgentRun, Approval, ApprovalStatus, MemoryItem
from quarry.stores.sqlite.ops import OpsDatabase

__all__ = ["SQLiteMemoryStore", "SQLiteRunStore"]

_RUNS = """
CREATE TABLE IF NOT EXISTS agent_runs (
    id TEXT PRIMARY KEY, task TEXT NOT NULL, user_id TEXT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS agent_runs_user ON agent_runs(user_id, created_at);
CREATE TABLE IF NOT EXISTS agent_approvals (
    id TEXT PRIMARY KEY, run_id TEXT NOT NULL, call_id TEXT NOT NULL, tool TEXT NOT NULL, arguments TEXT NOT NULL,
    risk TEXT NOT NULL, user_id TEXT NOT NULL, principals TEXT NOT NULL, context TEXT NOT NULL,
    status TEXT NOT NULL, decided_by TEXT NOT NULL DEFAULT '', decided_at REAL, note TEXT NOT NULL DEFAULT '',
    edited INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, expires_at REAL
);
CREATE INDEX IF NOT EXISTS agent_approvals_status ON agent_approvals(status, created_at);
"""

_MEMORY = """
CREATE TABLE IF NOT EXISTS agent_memory (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, text TEXT NOT NULL, model TEXT NOT NULL, vector BLOB NOT NULL,
    created_at REAL NOT NULL, run_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS agent_memory_user ON agent_memory(user_id, created_at);
"""


class SQLiteRunStore(OpsDatabase):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _RUNS)

    def create(self, run: AgentRun) -> AgentRun:
        now = time.time()
        run = replace(run, created_at=now, updated_at=now)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO agent_runs (id, task, user_id, status, body, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run.id, run.task, run.user, run.status, run_body(run), now, now),
            )
        return run

    def save(self, run: AgentRun) -> AgentRun:
        run = replace(run, updated_at=time.time())
        with self._transaction() as db:
            db.execute(
                "UPDATE agent_runs SET status = ?, body = ?, updated_at = ? WHERE id = ?",
                (run.status, run_body(run), run.updated_at, run.id),
            )
        return run

    def get(self, run_id: str) -> AgentRun | None:
        rows = self._rows("SELECT * FROM agent_runs WHERE id = ?", (run_id,))
        return run_of(rows[0]) if rows else None

    def runs(self, *, user: str | None = None, status: str | None = None, limit: int = 100) -> list[AgentRun]:
        rows = self._rows(
            "SELECT * FROM agent_runs WHERE (? IS NULL OR user_id = ?) AND (? IS NULL OR status = ?) "
            "ORDER BY created_at DESC, id LIMIT ?",
            (user, user, status, status, limit),
        )
        return [run_of(r) for r in rows]

    def request(self, approval: Approval, run: AgentRun) -> Approval:
        now = time.time()
        approval = replace(approval, status="pending", created_at=now)
        run = replace(run, status="waiting", updated_at=now)
        with self._transaction() as db:
            db.execute(
                "UPDATE agent_runs SET status = ?, body = ?, updated_at = ? WHERE id = ?",
                (run.status, run_body(run), now, run.id),
            )
            db.execute(
                "INSERT INTO agent_approvals (id, run_id, call_id, tool, arguments, risk, user_id, principals, "
                "context, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (approval.id, approval.run_id, approval.call_id, approval.tool, approval.arguments, approval.risk,
                 approval.user, _json_list(approval.principals), approval.context, approval.status, now,
                 approval.expires_at),
            )  # fmt: skip
        return approval

    def approval(self, approval_id: str) -> Approval | None:
        rows = self._rows("SELECT * FROM agent_approvals WHERE id = ?", (approval_id,))
        return approval_of(rows[0]) if rows else None

    def approvals(self, *, status: str | None = None, run_id: str | None = None, limit: int = 100) -> list[Approval]:
        rows = self._rows(
            "SELECT * FROM agent_approvals WHERE (? IS NULL OR status = ?) AND (? IS NULL OR run_id = ?) "
            "ORDER BY created_at, id LIMIT ?",
            (status, status, run_id, run_id, limit),
        )
        return [approval_of(r) for r in rows]

    def decide(
        self, approval_id: str, status: ApprovalStatus, *, by: str, note: str = "", arguments: str | None = None
    ) -> Approval | None:
        now = time.time()
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE agent_approvals SET status = ?, decided_by = ?, decided_at = ?, note = ?, "
                "arguments = COALESCE(?, arguments), edited = ? WHERE id = ? AND status = 'pending'",
                (status, by, now, note, arguments, int(arguments is not None), approval_id),
            ).rowcount
            if not changed:
                return None
            row = db.execute("SELECT * FROM agent_approvals WHERE id = ?", (approval_id,)).fetchone()
            db.execute(
                "UPDATE agent_runs SET status = 'ready', updated_at = ? WHERE id = ? AND status = 'waiting'",
                (now, row["run_id"]),
            )
        return approval_of(row)

    def claim(self, run_id: str) -> AgentRun | None:
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE agent_runs SET status = 'running', updated_at = ? WHERE id = ? AND status = 'ready'",
                (time.time(), run_id),
            ).rowcount
            row = db.execute("SELECT * FROM agent_runs WHERE id = ?", (run_id,)).fetchone() if changed else None
        return run_of(row) if row is not None else None

    def escalate(self, approval_id: str, note: str) -> bool:
        with self._transaction() as db:
            return bool(db.execute(
                "UPDATE agent_approvals SET expires_at = NULL, note = ? "
                "WHERE id = ? AND status = 'pending' AND expires_at IS NOT NULL",
                (note, approval_id),
            ).rowcount)  # fmt: skip


class SQLiteMemoryStore(OpsDatabase):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _MEMORY)

    def add(self, item: MemoryItem, vector: Sequence[float]) -> MemoryItem:
        item = replace(item, created_at=time.time())
        blob = np.asarray(vector, dtype=np.float32).tobytes()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO agent_memory (id, user_id, text, model, vector, created_at, run_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item.id, item.user, item.text, item.model, blob, item.created_at, item.run_id),
            )
        return item

    def search(self, user: str, vector: Sequence[float], *, model: str, k: int = 3) -> list[tuple[MemoryItem, float]]:
        rows = self._rows("SELECT * FROM agent_memory WHERE user_id = ? AND model = ?", (user, model))
        if not rows:
            return []
        query = np.asarray(vector, dtype=np.float32)
        matrix = np.stack([np.frombuffer(r["vector"], dtype=np.float32) for r in rows])
        norms = np.linalg.norm(matrix, axis=1) * max(float(np.linalg.norm(query)), 1e-12)
        scores = matrix @ query / np.maximum(norms, 1e-12)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(memory_of(rows[i]), float(scores[i])) for i in order]

    def items(self, user: str, *, limit: int = 1000) -> list[MemoryItem]:
        rows = self._rows(
            "SELECT * FROM agent_memory WHERE user_id = ? ORDER BY created_at DESC, id LIMIT ?", (user, limit)
        )
        return [memory_of(r) for r in rows]

    def forget(self, user: str, item_id: str | None = None) -> int:
        with self._transaction() as db:
            return db.execute(
                "DELETE FROM agent_memory WHERE user_id = ? AND (? IS NULL OR id = ?)", (user, item_id, item_id)
            ).rowcount


def _json_list(values: Sequence[str]) -> str:
    return json.dumps(list(values))
