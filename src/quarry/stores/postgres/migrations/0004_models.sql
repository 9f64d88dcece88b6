-- The model registry: entries (embedders, chat models, adapters) and the moves between production entries.
CREATE TABLE model_entries (
    target     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    status     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (target, version)
);
-- at most one production entry per target, even when two processes promote at once
CREATE UNIQUE INDEX model_entries_production ON model_entries(target) WHERE status = 'production';

CREATE TABLE model_moves (
    id       BIGSERIAL PRIMARY KEY,
    target   TEXT NOT NULL,
    entry    TEXT NOT NULL,
    previous TEXT,
    at       DOUBLE PRECISION NOT NULL,
    by       TEXT NOT NULL DEFAULT '',
    note     TEXT NOT NULL DEFAULT '',
    forced   BOOLEAN NOT NULL DEFAULT FALSE,
    rollback BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX model_moves_target ON model_moves(target, id);

-- A tuned embedder's shadow collection takes the live collection's name in one transaction
-- (SearchIndex swap): renames follow into documents and sources.
ALTER TABLE sources DROP CONSTRAINT sources_collection_fkey,
    ADD CONSTRAINT sources_collection_fkey FOREIGN KEY (collection) REFERENCES collections(name)
        ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE documents DROP CONSTRAINT documents_collection_fkey,
    ADD CONSTRAINT documents_collection_fkey FOREIGN KEY (collection) REFERENCES collections(name)
        ON DELETE CASCADE ON UPDATE CASCADE;
