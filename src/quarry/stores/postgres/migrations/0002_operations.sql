-- Operations state: prompt versions and label moves, experiments, feedback.
CREATE TABLE prompt_versions (
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    body       TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (name, version)
);

CREATE TABLE prompt_label_moves (
    id       BIGSERIAL PRIMARY KEY,
    name     TEXT NOT NULL,
    label    TEXT NOT NULL,
    version  INTEGER NOT NULL,
    previous INTEGER,
    at       DOUBLE PRECISION NOT NULL,
    by       TEXT NOT NULL DEFAULT '',
    note     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX prompt_label_moves_label ON prompt_label_moves (name, label, id);

CREATE TABLE experiments (
    name       TEXT PRIMARY KEY,
    prompt     TEXT NOT NULL,
    body       TEXT NOT NULL,
    status     TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL,
    ended_at   DOUBLE PRECISION
);
-- at most one running experiment per prompt, even with several API processes creating them at once
CREATE UNIQUE INDEX experiments_one_running ON experiments (prompt) WHERE status = 'running';

CREATE TABLE feedback (
    id         TEXT PRIMARY KEY,
    trace_id   TEXT NOT NULL,
    rating     TEXT,
    score      DOUBLE PRECISION,
    comment    TEXT NOT NULL,
    correction TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    principals TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX feedback_trace ON feedback (trace_id);
CREATE INDEX feedback_created ON feedback (created_at);
