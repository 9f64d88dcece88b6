"""PostgreSQL adapters of the agent protocols: the same rows as the SQLite adapters
(:mod:`quarry.stores.agent_rows`), shared by every replica. One decision per approval and one claimant per
decided run come from conditional UPDATEs (``… WHERE status = 'pending'`` / ``'ready'``) whose row count says
who won; memory vectors are pgvector values compared with ``<=>`` (cosine distance) per user."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from quarry.stores.agent_rows import approval_of, memory_of, run_body, run_of
from quarry.stores.agents import AgentRun, Approval, ApprovalStatus, MemoryItem
from quarry.stores.postgres.state import Adapter

__all__ = ["PostgresMemoryStore", "PostgresRunStore"]


class PostgresRunStore(Adapter):
    def create(self, run: AgentRun) -> AgentRun:
        now = time.time()
        run = replace(run, created_at=now, updated_at=now)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO agent_runs (id, task, user_id, status, body, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (run.id, run.task, run.user, run.status, run_body(run), now, now),
            )
        return run

    def save(self, run: AgentRun) -> AgentRun:
        run = replace(run, updated_at=time.time())
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE agent_runs SET status = %s, body = %s, updated_at = %s WHERE id = %s",
                (run.status, run_body(run), run.updated_at, run.id),
            )
        return run

    def get(self, run_id: str) -> AgentRun | None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM agent_runs WHERE id = %s", (run_id,)).fetchone()
        return None if row is None else run_of(row)

    def runs(self, *, user: str | None = None, status: str | None = None, limit: int = 100) -> list[AgentRun]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM agent_runs WHERE (%(user)s::text IS NULL OR user_id = %(user)s) "
                "AND (%(status)s::text IS NULL OR status = %(status)s) ORDER BY created_at DESC, id LIMIT %(limit)s",
                {"user": user, "status": status, "limit": limit},
            ).fetchall()
        return [run_of(r) for r in rows]

    def request(self, approval: Approval, run: AgentRun) -> Approval:
        now = time.time()
        approval = replace(approval, status="pending", created_at=now)
        run = replace(run, status="waiting", updated_at=now)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE agent_runs SET status = %s, body = %s, updated_at = %s WHERE id = %s",
                (run.status, run_body(run), now, run.id),
            )
            conn.execute(
                "INSERT INTO agent_approvals (id, run_id, call_id, tool, arguments, risk, user_id, principals, "
                "context, status, created_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (approval.id, approval.run_id, approval.call_id, approval.tool, approval.arguments, approval.risk,
                 approval.user, json.dumps(list(approval.principals)), approval.context, approval.status, now,
                 approval.expires_at),
            )  # fmt: skip
        return approval

    def approval(self, approval_id: str) -> Approval | None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM agent_approvals WHERE id = %s", (approval_id,)).fetchone()
        return None if row is None else approval_of(row)

    def approvals(self, *, status: str | None = None, run_id: str | None = None, limit: int = 100) -> list[Approval]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM agent_approvals WHERE (%(status)s::text IS NULL OR status = %(status)s) "
                "AND (%(run)s::text IS NULL OR run_id = %(run)s) ORDER BY created_at, id LIMIT %(limit)s",
                {"status": status, "run": run_id, "limit": limit},
            ).fetchall()
        return [approval_of(r) for r in rows]

    def decide(
        self, approval_id: str, status: ApprovalStatus, *, by: str, note: str = "", arguments: str | None = None
    ) -> Approval | None:
        now = time.time()
        with self.db.transaction() as conn:
            row = conn.execute(
                "UPDATE agent_approvals SET status = %s, decided_by = %s, decided_at = %s, note = %s, "
                "arguments = COALESCE(%s, arguments), edited = %s WHERE id = %s AND status = 'pending' RETURNING *",
                (status, by, now, note, arguments, arguments is not None, approval_id),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE agent_runs SET status = 'ready', updated_at = %s WHERE id = %s AND status = 'waiting'",
                (now, row["run_id"]),
            )
        return approval_of(row)

    def claim(self, run_id: str) -> AgentRun | None:
        with self.db.transaction() as conn:
            row = conn.execute(
                "UPDATE agent_runs SET status = 'running', updated_at = %s WHERE id = %s AND status = 'ready' "
                "RETURNING *",
                (time.time(), run_id),
            ).fetchone()
        return None if row is None else run_of(row)

    def escalate(self, approval_id: str, note: str) -> bool:
        with self.db.transaction() as conn:
            return bool(conn.execute(
                "UPDATE agent_approvals SET expires_at = NULL, note = %s "
                "WHERE id = %s AND status = 'pending' AND expires_at IS NOT NULL",
                (note, approval_id),
            ).rowcount)  # fmt: skip


class PostgresMemoryStore(Adapter):
    def add(self, item: MemoryItem, vector: Sequence[float]) -> MemoryItem:
        item = replace(item, created_at=time.time())
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO agent_memory (id, user_id, text, model, embedding, created_at, run_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (item.id, item.user, item.text, item.model, np.asarray(vector, dtype=np.float32), item.created_at,
                 item.run_id),
            )  # fmt: skip
        return item

    def search(self, user: str, vector: Sequence[float], *, model: str, k: int = 3) -> list[tuple[MemoryItem, float]]:
        query = np.asarray(vector, dtype=np.float32)
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT *, 1 - (embedding <=> %s) AS score FROM agent_memory WHERE user_id = %s AND model = %s "
                "AND vector_dims(embedding) = %s ORDER BY embedding <=> %s, id LIMIT %s",
                (query, user, model, len(query), query, k),
            ).fetchall()
        return [(memory_of(r), float(r["score"])) for r in rows]

    def items(self, user: str, *, limit: int = 1000) -> list[MemoryItem]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM agent_memory WHERE user_id = %s ORDER BY created_at DESC, id LIMIT %s", (user, limit)
            ).fetchall()
        return [memory_of(r) for r in rows]

    def forget(self, user: str, item_id: str | None = None) -> int:
        with self.db.transaction() as conn:
            return conn.execute(
                "DELETE FROM agent_memory WHERE user_id = %s AND (%s::text IS NULL OR id = %s)",
                (user, item_id, item_id),
            ).rowcount
