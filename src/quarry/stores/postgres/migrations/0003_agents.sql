-- Agent state: runs, the approvals that pause them, and each user's long-term memory.
CREATE TABLE agent_runs (
    id         TEXT PRIMARY KEY,
    task       TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    status     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX agent_runs_user ON agent_runs (user_id, created_at);

CREATE TABLE agent_approvals (
    id         TEXT PRIMARY KEY,
    run_id     TEXT NOT NULL REFERENCES agent_runs (id) ON DELETE CASCADE,
    call_id    TEXT NOT NULL,
    tool       TEXT NOT NULL,
    arguments  TEXT NOT NULL,
    risk       TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    principals TEXT NOT NULL,
    context    TEXT NOT NULL,
    status     TEXT NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at DOUBLE PRECISION,
    note       TEXT NOT NULL DEFAULT '',
    edited     BOOLEAN NOT NULL DEFAULT false,
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION
);
CREATE INDEX agent_approvals_status ON agent_approvals (status, created_at);

-- vectors of any dimension (one embedder's per row, recorded in model); searched exactly per user
CREATE TABLE agent_memory (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    text       TEXT NOT NULL,
    model      TEXT NOT NULL,
    embedding  vector NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    run_id     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX agent_memory_user ON agent_memory (user_id, created_at);
