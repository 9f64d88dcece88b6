from __future__ import annotations

import http.server
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from quarry.errors import ConfigError, SourceError
from quarry.ingest.sources import (
    FileSource,
    FolderSource,
    SqlOptions,
    SqlSource,
    Unreadable,
    UrlSource,
    open_source,
)
from quarry.types import RawDocument


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _names(source: FolderSource) -> list[str]:
    return [Path(item.uri).relative_to(source.root).as_posix() for item in source]


def test_folder_is_recursive_sorted_and_honours_gitignore_files(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "b.md": "b",
            "a.txt": "a",
            "docs/guide.md": "g",
            "docs/build/out.html": "x",
            "docs/.gitignore": "build/\n/local.md\n",
            "docs/local.md": "ignored by the anchored pattern in docs/.gitignore",
            "local.md": "kept: the anchored pattern is relative to docs/",
            "notes.log": "n",
            ".quarryignore": "*.log\n",
            ".git/config": "never",
        },
    )
    source = FolderSource(tmp_path, max_bytes=10_000)
    assert _names(source) == ["a.txt", "b.md", "local.md", "docs/guide.md"]
    assert source.count() == 4


def test_folder_include_and_exclude_globs(tmp_path: Path) -> None:
    _tree(tmp_path, {"a.md": "a", "b.txt": "b", "sub/c.md": "c", "sub/draft-d.md": "d"})
    source = FolderSource(tmp_path, include=["*.md"], exclude=["draft-*"], max_bytes=10_000)
    assert _names(source) == ["a.md", "sub/c.md"]


def test_folder_items_carry_bytes_name_and_relative_path(tmp_path: Path) -> None:
    _tree(tmp_path, {"sub/c.md": "hello"})
    (item,) = list(FolderSource(tmp_path, max_bytes=10_000))
    assert isinstance(item, RawDocument)
    assert item.data == b"hello"
    assert item.name == "c.md"
    assert item.uri == str(tmp_path / "sub/c.md")
    assert item.metadata["path"] == "sub/c.md"


def test_oversized_files_are_reported_not_read(tmp_path: Path) -> None:
    _tree(tmp_path, {"big.txt": "x" * 2000, "small.txt": "ok"})
    items = list(FolderSource(tmp_path, max_bytes=1000))
    big = items[0]
    assert isinstance(big, Unreadable)
    assert big.kind == "too-large"
    assert "over the" in big.reason
    assert isinstance(items[1], RawDocument)


def test_missing_paths_raise_source_errors_with_hints(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist") as info:
        open_source(str(tmp_path / "nope"), max_bytes=10)
    assert info.value.hint
    with pytest.raises(SourceError, match="not a folder"):
        FolderSource(tmp_path / "nope", max_bytes=10)
    with pytest.raises(SourceError, match="not a file"):
        FileSource(tmp_path, max_bytes=10)


def test_open_source_dispatches_on_what_the_user_typed(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    assert isinstance(open_source(str(tmp_path), max_bytes=10), FolderSource)
    assert isinstance(open_source(str(tmp_path / "f.txt"), max_bytes=10), FileSource)
    assert isinstance(open_source("http://127.0.0.1:1/x", max_bytes=10), UrlSource)
    with pytest.raises(ConfigError, match="needs a query"):
        open_source("sqlite:///x.db", max_bytes=10)


class _Handler(http.server.BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, tuple[str, bytes]]] = {
        "/guide": ("text/html; charset=utf-8", b"<html><body><h1>Guide</h1><p>Hello</p></body></html>"),
        "/report.pdf": ("application/pdf", b"%PDF-1.4 fake"),
        "/big": ("text/plain", b"y" * 5000),
    }

    def do_GET(self) -> None:
        if self.path == "/drip":  # a byte at a time, each well inside the read timeout
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for _ in range(40):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.1)
            return
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/guide")
            self.end_headers()
            return
        page = self.pages.get(self.path)
        if page is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", page[0])
        self.send_header("Content-Length", str(len(page[1])))
        self.end_headers()
        self.wfile.write(page[1])

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def web() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_url_source_fetches_html_with_media_type_and_extension(web: str) -> None:
    (item,) = list(UrlSource(f"{web}/guide", max_bytes=10_000))
    assert isinstance(item, RawDocument)
    assert item.media_type == "text/html"
    assert item.name == "guide.html"
    assert b"<h1>Guide</h1>" in item.data
    assert item.uri == f"{web}/guide"


def test_url_source_follows_redirects_and_keeps_the_requested_uri(web: str) -> None:
    (item,) = list(UrlSource(f"{web}/moved", max_bytes=10_000))
    assert isinstance(item, RawDocument)
    assert item.uri == f"{web}/moved"
    assert item.metadata["url"] == f"{web}/guide"


def test_url_source_reports_http_errors_size_limits_and_refused_connections(web: str) -> None:
    (missing,) = list(UrlSource(f"{web}/nothing", max_bytes=10_000))
    assert isinstance(missing, Unreadable) and "404" in missing.reason
    (big,) = list(UrlSource(f"{web}/big", max_bytes=1000))
    assert isinstance(big, Unreadable) and big.kind == "too-large"
    port = int(web.rsplit(":", 1)[1])
    (refused,) = list(UrlSource(f"http://127.0.0.1:{port + 1 if port < 65535 else 1}/x", max_bytes=10, timeout_s=2))
    assert isinstance(refused, Unreadable) and refused.kind == "http-error"


def test_url_source_rejects_other_schemes() -> None:
    with pytest.raises(SourceError, match="not an http"):
        UrlSource("ftp://example.org/x", max_bytes=10)


@pytest.fixture
def notes_db(tmp_path: Path) -> str:
    path = tmp_path / "notes.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (note_id INTEGER PRIMARY KEY, title TEXT, body TEXT, author TEXT)")
        db.executemany(
            "INSERT INTO notes VALUES (?, ?, ?, ?)",
            [(1, "Kickoff", "We agreed on the roadmap.", "ana"), (2, "Retro", None, "bo"), (3, None, "Ship it.", "cy")],
        )
    db.close()
    return f"sqlite:///{path}"


def test_sql_rows_become_documents_with_stable_uris_and_metadata(notes_db: str) -> None:
    source = SqlSource(
        notes_db, "SELECT * FROM notes ORDER BY note_id", id_column="note_id", text_column="body", title_column="title"
    )
    items = list(source)
    first, second, third = items
    assert isinstance(first, RawDocument)
    assert first.uri == f"{notes_db}#1"
    assert first.data == b"We agreed on the roadmap."
    assert first.metadata["title"] == "Kickoff"
    assert first.metadata["author"] == "ana"
    assert isinstance(second, Unreadable) and "NULL" in second.reason
    assert isinstance(third, RawDocument) and "title" not in third.metadata
    assert all(item.uri.startswith(source.prefix) for item in items)


def test_sql_errors_say_which_column_or_query_is_wrong(notes_db: str) -> None:
    with pytest.raises(SourceError, match="no column 'text'") as info:
        list(SqlSource(notes_db, "SELECT * FROM notes", id_column="note_id"))
    assert "--text-column" in info.value.hint
    with pytest.raises(SourceError, match="query failed"):
        list(SqlSource(notes_db, "SELECT * FROM nowhere"))
    source = open_source(notes_db, max_bytes=10, sql=SqlOptions("SELECT note_id AS id, body AS text FROM notes"))
    assert sum(isinstance(i, RawDocument) for i in source) == 2


@pytest.mark.timeout(30)
def test_a_folder_reads_only_regular_files_inside_it(tmp_path: Path) -> None:
    import os

    from quarry.ingest.sources import FolderSource
    from quarry.ingest.sources.base import Unreadable

    root, outside = tmp_path / "docs", tmp_path / "secret.txt"
    root.mkdir()
    (root / "ok.md").write_text("# Fine\n\nA regular file.\n")
    outside.write_text("not for this folder")
    os.mkfifo(root / "pipe.txt")  # reading a FIFO would block for ever
    (root / "zeros.txt").symlink_to("/dev/zero")  # reading /dev/zero would fill memory
    (root / "escape.txt").symlink_to(outside)
    (root / "inside.txt").symlink_to(root / "ok.md")
    items = {Path(item.uri).name: item for item in FolderSource(root, max_bytes=10**6)}
    assert not isinstance(items["ok.md"], Unreadable) and not isinstance(items["inside.txt"], Unreadable)
    pipe, zeros, escape = items["pipe.txt"], items["zeros.txt"], items["escape.txt"]
    assert isinstance(pipe, Unreadable) and pipe.kind == "not-a-file" and "FIFO" in pipe.reason
    assert isinstance(zeros, Unreadable) and zeros.kind == "outside"  # never opened
    assert isinstance(escape, Unreadable) and escape.kind == "outside" and "may not leave" in escape.reason


def test_a_url_that_drips_bytes_is_cut_off_at_the_total_deadline(web: str) -> None:
    from quarry.ingest.sources.base import Unreadable

    item = UrlSource(f"{web}/drip", max_bytes=10**6, timeout_s=5.0, deadline_s=0.5).fetch()
    assert isinstance(item, Unreadable) and item.kind == "timeout" and "0.5 s in all" in item.reason
