"""``[store] url`` picks the engine: a SQLite URL names the file (traces, keys and jobs beside it); a database
server that cannot be reached is a clear error when a store is first needed, not a crash; a PostgreSQL URL
puts every kind of state in that database."""

from __future__ import annotations

from pathlib import Path

import pytest

from quarry.assembly import build
from quarry.errors import ConfigError, StoreError
from quarry.settings import load_settings
from quarry.stores.postgres import (
    PostgresExperimentStore,
    PostgresFeedbackStore,
    PostgresJobStore,
    PostgresKeyStore,
    PostgresPromptStore,
    PostgresStore,
    PostgresTraceStore,
)
from quarry.stores.sqlite import SQLiteJobStore, SQLiteKeyStore, SQLiteStore, SQLiteTraceStore


def test_a_sqlite_url_names_the_store_file_and_its_side_files(isolated_env: Path) -> None:
    config = isolated_env / "conf" / "quarry.toml"
    config.parent.mkdir()
    config.write_text('[store]\nurl = "sqlite:///data/kb.db"\n')
    settings = load_settings(config)
    assert settings.store.engine == "sqlite"
    assert settings.store.path == (config.parent / "data" / "kb.db").resolve()
    quarry = build(settings)
    assert isinstance(quarry.store, SQLiteStore) and quarry.store.path == settings.store.path
    assert isinstance(quarry.trace_store, SQLiteTraceStore) and quarry.trace_store.path.name == "kb.traces.db"
    assert isinstance(quarry.key_store, SQLiteKeyStore) and isinstance(quarry.job_store, SQLiteJobStore)
    _, token = quarry.key_store.create("read")
    assert quarry.key_store.verify(token) is not None
    quarry.close()
    assert (config.parent / "data" / "kb.keys.db").is_file() and (config.parent / "data" / "kb.jobs.db").is_file()


def test_an_absolute_sqlite_url_and_the_plain_path_still_work(isolated_env: Path) -> None:
    target = isolated_env / "abs" / "q.db"
    config = isolated_env / "quarry.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{target}"\n')
    assert load_settings(config).store.path == target
    config.write_text('[store]\npath = "plain.db"\n')
    plain = load_settings(config)
    assert plain.store.engine == "sqlite" and plain.store.path == isolated_env / "plain.db"


def test_a_bad_or_unsupported_url_is_a_clear_error(isolated_env: Path) -> None:
    config = isolated_env / "quarry.toml"
    config.write_text('[store]\nurl = "mysql://db/quarry"\n')
    with pytest.raises(ConfigError, match=r"invalid setting store.url: .*postgresql://"):
        load_settings(config)
    config.write_text('[store]\nurl = "sqlite://quarry.db"\n')
    with pytest.raises(ConfigError, match=r"sqlite:///relative/path\.db"):
        load_settings(config)
    config.write_text('[store]\nurl = "postgresql://quarry@localhost:1/quarry"\n')
    settings = load_settings(config)
    assert settings.store.engine == "postgresql"
    quarry = build(settings)
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL") as caught:
        _ = quarry.store
    assert "[store] url" in caught.value.hint
    quarry.close()


def test_a_postgresql_url_puts_every_kind_of_state_in_that_database(isolated_env: Path, postgres_url: str) -> None:
    config = isolated_env / "quarry.toml"
    config.write_text(f'[store]\nurl = "{postgres_url}"\n')
    quarry = build(load_settings(config))
    try:
        assert isinstance(quarry.store, PostgresStore)
        assert isinstance(quarry.trace_store, PostgresTraceStore) and isinstance(quarry.job_store, PostgresJobStore)
        assert isinstance(quarry.key_store, PostgresKeyStore) and isinstance(quarry.prompt_store, PostgresPromptStore)
        assert isinstance(quarry.experiment_store, PostgresExperimentStore)
        assert isinstance(quarry.feedback_store, PostgresFeedbackStore)
        _, token = quarry.key_store.create("read")
        assert quarry.key_store.verify(token) is not None
        assert quarry.settings.store.where == postgres_url
    finally:
        quarry.close()
    assert not list(isolated_env.glob("**/*.keys.db")) and not list(isolated_env.glob("**/*.jobs.db"))
