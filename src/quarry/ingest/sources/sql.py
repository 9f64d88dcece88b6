"""SQL databases through SQLAlchemy: each row of a query becomes one raw document."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from quarry.errors import SourceError
from quarry.ingest.sources.base import SourceItem, Unreadable
from quarry.types import JsonValue, RawDocument, freeze

__all__ = ["SqlSource"]


class SqlSource:
    """Rows of ``query`` on ``dsn`` become documents.

    ``id_column`` gives each row a stable uri (``<dsn without password>#<id>``); ``text_column``
    is the body; ``title_column`` (optional) the title; ``metadata_columns`` are copied into the
    document's metadata (all other columns when ``None``).
    """

    def __init__(
        self,
        dsn: str,
        query: str,
        *,
        id_column: str = "id",
        text_column: str = "text",
        title_column: str | None = None,
        metadata_columns: Sequence[str] | None = None,
    ) -> None:
        import sqlalchemy as sa  # here, not at module level: ~0.75 s that every CLI command would pay

        try:
            self.engine = sa.create_engine(dsn)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise SourceError(f"cannot use database URL: {exc}", source=dsn, hint="e.g. sqlite:///path/to.db") from exc
        self.query = query
        self.id_column, self.text_column, self.title_column = id_column, text_column, title_column
        self.metadata_columns = metadata_columns
        self.prefix = self.engine.url.render_as_string(hide_password=True) + "#"

    def describe(self) -> str:
        return f"sql {self.prefix.rstrip('#')}"

    def __iter__(self) -> Iterator[SourceItem]:
        import sqlalchemy as sa

        try:
            with self.engine.connect() as connection:
                result = connection.execute(sa.text(self.query))
                columns = list(result.keys())
                self._check_columns(columns)
                for row in result.mappings():
                    yield self._to_raw(row)
        except sa.exc.SQLAlchemyError as exc:
            raise SourceError(
                f"query failed: {str(exc.orig if hasattr(exc, 'orig') else exc).strip()}",
                source=self.describe(),
                hint="check the DSN and the --query SQL",
            ) from exc
        finally:
            self.engine.dispose()

    def _check_columns(self, columns: list[str]) -> None:
        wanted = [self.id_column, self.text_column, *([self.title_column] if self.title_column else [])]
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise SourceError(
                f"query result has no column {', '.join(map(repr, missing))} (columns: {', '.join(columns)})",
                source=self.describe(),
                hint="choose columns with --id-column / --text-column / --title-column",
            )

    def _to_raw(self, row: Mapping[Any, Any]) -> SourceItem:
        uri = f"{self.prefix}{row[self.id_column]}"
        text = row[self.text_column]
        if text is None:
            return Unreadable(uri, f"column {self.text_column!r} is NULL", "empty")
        skip = {self.id_column, self.text_column}
        names = self.metadata_columns if self.metadata_columns is not None else [c for c in row if c not in skip]
        metadata: dict[str, JsonValue] = {name: _scalar(row[name]) for name in names if row[name] is not None}
        metadata["id"] = _scalar(row[self.id_column])
        title = str(row[self.title_column]) if self.title_column and row[self.title_column] is not None else ""
        if title:
            metadata["title"] = title
        return RawDocument(
            uri=uri,
            data=str(text).encode("utf-8"),
            name=f"{row[self.id_column]}.txt",
            media_type="text/plain",
            metadata=freeze(metadata),
        )


def _scalar(value: object) -> JsonValue:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
