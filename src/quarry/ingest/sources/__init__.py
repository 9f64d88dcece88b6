"""Sources: folders and files, http(s) URLs, SQL queries."""

from quarry.ingest.sources.base import Source, SourceItem, Unreadable
from quarry.ingest.sources.files import FileSource, FolderSource
from quarry.ingest.sources.resolve import SqlOptions, open_source
from quarry.ingest.sources.sql import SqlSource
from quarry.ingest.sources.web import UrlSource

__all__ = [
    "FileSource",
    "FolderSource",
    "Source",
    "SourceItem",
    "SqlOptions",
    "SqlSource",
    "Unreadable",
    "UrlSource",
    "open_source",
]
