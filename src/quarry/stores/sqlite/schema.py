"""DDL, connection settings and migrations (tracked in ``PRAGMA user_version``).

Layout: ``collections`` → ``documents`` (unique per collection and uri) → ``chunks`` (with the
float32 vector as a BLOB). ``chunks_fts`` is an FTS5 index over chunk text, heading path and
document title with *external content* (the ``chunk_fts_source`` view); triggers on ``chunks`` and
``documents`` keep it in step inside whatever transaction changes the chunks, so no code path can
forget it (deleting a document deletes its chunks, and their FTS rows, first).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from quarry.errors import StoreError
from quarry.sqlite_wal import use_wal

__all__ = ["SCHEMA_VERSION", "connect", "migrate"]

_V1 = """
CREATE TABLE collections (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: keys the vector cache
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    embedder    TEXT,
    dimension   INTEGER,
    generation  INTEGER NOT NULL DEFAULT 0,          -- bumped by every write to the collection
    created_at  REAL NOT NULL
);

CREATE TABLE sources (
    collection TEXT NOT NULL REFERENCES collections(name) ON DELETE CASCADE,
    uri        TEXT NOT NULL,
    raw_hash   TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'ok',
    error      TEXT NOT NULL DEFAULT '',
    documents  INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (collection, uri)
) WITHOUT ROWID;

CREATE TABLE documents (
    rowid        INTEGER PRIMARY KEY,
    id           TEXT NOT NULL,
    collection   TEXT NOT NULL REFERENCES collections(name) ON DELETE CASCADE,
    uri          TEXT NOT NULL,
    source_uri   TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    text_hash    TEXT NOT NULL,
    metadata     TEXT NOT NULL DEFAULT '{}',
    duplicate_of TEXT,
    updated_at   REAL NOT NULL,
    pages        TEXT NOT NULL DEFAULT '[]',
    text         TEXT NOT NULL,  -- large columns last: filters read metadata without overflow pages
    UNIQUE (collection, uri)
);
CREATE INDEX documents_source ON documents(collection, source_uri);
CREATE INDEX documents_text_hash ON documents(collection, text_hash);

CREATE TABLE chunks (
    rowid         INTEGER PRIMARY KEY,
    document      INTEGER NOT NULL REFERENCES documents(rowid) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,
    text          TEXT NOT NULL,
    start         INTEGER NOT NULL,
    "end"         INTEGER NOT NULL,
    heading_path  TEXT NOT NULL DEFAULT '[]',
    page          INTEGER,
    token_count   INTEGER NOT NULL DEFAULT 0,
    content_hash  TEXT NOT NULL,
    vector        BLOB
);
CREATE INDEX chunks_document ON chunks(document, idx);

CREATE VIEW chunk_fts_source AS
    SELECT c.rowid AS rowid, c.text AS text, c.heading_path AS headings, d.title AS title
    FROM chunks c JOIN documents d ON d.rowid = c.document;

CREATE VIRTUAL TABLE chunks_fts USING fts5(
    text, headings, title,
    content = 'chunk_fts_source', content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text, headings, title)
    VALUES (new.rowid, new.text, new.heading_path, (SELECT title FROM documents WHERE rowid = new.document));
END;

CREATE TRIGGER chunks_fts_delete BEFORE DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text, headings, title)
    VALUES ('delete', old.rowid, old.text, old.heading_path,
            (SELECT title FROM documents WHERE rowid = old.document));
END;

-- Chunks go before their document, so the FTS 'delete' above still reads the document's title.
CREATE TRIGGER documents_delete_chunks BEFORE DELETE ON documents BEGIN
    DELETE FROM chunks WHERE document = old.rowid;
END;

CREATE TRIGGER documents_fts_title AFTER UPDATE OF title ON documents
WHEN old.title IS NOT new.title BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text, headings, title)
        SELECT 'delete', rowid, text, heading_path, old.title FROM chunks WHERE document = new.rowid;
    INSERT INTO chunks_fts(rowid, text, headings, title)
        SELECT rowid, text, heading_path, new.title FROM chunks WHERE document = new.rowid;
END;

CREATE TABLE traces (
    trace_id   TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    started_at REAL NOT NULL,
    duration   REAL NOT NULL,
    status     TEXT NOT NULL,
    spans      TEXT NOT NULL DEFAULT '[]',
    attributes TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX traces_started ON traces(started_at);
CREATE INDEX traces_kind_started ON traces(kind, started_at);
"""

# What guards found in a chunk at ingest (comma-separated names, e.g. "injection"); not part of its content.
_V2 = """
ALTER TABLE chunks ADD COLUMN flags TEXT NOT NULL DEFAULT '';
"""

# Append new migrations; never edit a released one. Index i migrates user_version i → i + 1.
_MIGRATIONS: tuple[str, ...] = (_V1, _V2)
SCHEMA_VERSION = len(_MIGRATIONS)


def connect(path: Path, *, busy_timeout_ms: int = 10_000) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, foreign keys on."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        use_wal(conn, timeout_s=busy_timeout_ms / 1000)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION`, each step in its own transaction."""
    version = _user_version(conn)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the database schema is version {version}, this Quarry understands up to {SCHEMA_VERSION}",
            operation="open",
            hint="upgrade Quarry, or point it at another database file",
        )
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _user_version(conn)  # another process may have migrated meanwhile
            if version < SCHEMA_VERSION:
                for statement in _statements(_MIGRATIONS[version]):
                    conn.execute(statement)
                version += 1
                conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _user_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def _statements(script: str) -> list[str]:
    """Split a script into complete statements (``executescript`` would COMMIT on its own)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--") and not pending:
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements
