"""Turn what a user typed (a path, a URL, a database URL) into a source."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from quarry.errors import ConfigError, SourceError
from quarry.ingest.sources.base import Source
from quarry.ingest.sources.files import FileSource, FolderSource
from quarry.ingest.sources.sql import SqlSource
from quarry.ingest.sources.web import UrlSource

__all__ = ["SqlOptions", "open_source"]


@dataclass(frozen=True, slots=True)
class SqlOptions:
    query: str | None = None
    id_column: str = "id"
    text_column: str = "text"
    title_column: str | None = None


def open_source(
    target: str,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_bytes: int,
    timeout_s: float = 30.0,
    sql: SqlOptions = SqlOptions(),
) -> Source:
    """``http(s)://…`` → URL; ``scheme://…`` → SQL (needs ``sql.query``); otherwise a local path."""
    if target.startswith(("http://", "https://")):
        return UrlSource(target, max_bytes=max_bytes, timeout_s=timeout_s)
    if "://" in target:
        if not sql.query:
            raise ConfigError(
                f"{target.split('://')[0]} source needs a query",
                key="query",
                hint='pass --query "SELECT id, body FROM notes" with --id-column/--text-column',
            )
        return SqlSource(
            target, sql.query, id_column=sql.id_column, text_column=sql.text_column, title_column=sql.title_column
        )
    path = Path(target).expanduser()
    if path.is_dir():
        return FolderSource(path, include=include, exclude=exclude, max_bytes=max_bytes)
    if path.is_file():
        return FileSource(path, max_bytes=max_bytes)
    raise SourceError(f"{target} does not exist", source=target, hint="give a folder, a file, an http(s) URL or a DSN")
