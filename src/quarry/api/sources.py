"""Sources the API ingests from: uploaded files (never written to disk) and guarded URLs.

Upload names are reduced to a safe base name (no folders, no ``..``, no control characters), and
become ``upload://<collection>/<name>`` uris. URL ingestion is off unless ``api.url_ingestion``; then the
policy of :mod:`quarry.ingest.sources.guarded` applies with ``api.url_allow_hosts`` / ``api.url_allow_private``
(allow-listed hosts, public addresses only, the checked address connected to, every redirect hop checked).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

import httpx

from quarry.api.errors import ApiError
from quarry.ingest.sources import SourceItem, Unreadable, guarded
from quarry.pipeline.access import PRINCIPALS
from quarry.settings import ApiSettings
from quarry.types import RawDocument, freeze

__all__ = ["GuardedUrlSource", "UploadSource", "check_url", "safe_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_name(filename: str | None) -> str:
    """The base name of an uploaded file's name, with anything but ``[A-Za-z0-9._ -]`` replaced."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip(" .")
    return cleaned[:120] or "upload"


class UploadSource:
    def __init__(self, collection: str, files: Sequence[tuple[str, bytes]], principals: Sequence[str] = ()) -> None:
        self.prefix = f"upload://{collection}/"
        self.files, self.principals = list(files), list(principals)

    def describe(self) -> str:
        return f"upload of {len(self.files)} file(s)"

    def count(self) -> int:
        return len(self.files)

    def __iter__(self) -> Iterator[SourceItem]:
        for name, data in self.files:
            metadata: dict[str, object] = {"path": name}
            if self.principals:
                metadata[PRINCIPALS] = self.principals
            yield RawDocument(uri=self.prefix + name, data=data, name=name, metadata=freeze(metadata))


def check_url(url: str, settings: ApiSettings) -> tuple[str, int, guarded.IP]:
    """``(host, port, address to connect to)``, or 403/400 when the operator's policy refuses this URL."""
    if not settings.url_ingestion:
        raise ApiError(403, "url_ingestion_disabled", "URL ingestion is off; the operator can set api.url_ingestion")
    try:
        return guarded.check(url, _policy(settings))
    except guarded.UrlBlocked as exc:
        raise ApiError(400 if exc.code == "invalid_url" else 403, exc.code, exc.message) from None


def _policy(settings: ApiSettings) -> guarded.UrlPolicy:
    return guarded.UrlPolicy(settings.url_allow_hosts, settings.url_allow_private, "api.url_allow_hosts")


class GuardedUrlSource:
    """One URL, fetched through :func:`check_url` at every hop."""

    def __init__(self, url: str, settings: ApiSettings, *, max_bytes: int, timeout_s: float,
                 deadline_s: float = 120.0) -> None:  # fmt: skip
        check_url(url, settings)
        self.url, self.prefix, self.settings = url, url, settings
        self.max_bytes, self.timeout_s, self.deadline_s = max_bytes, timeout_s, deadline_s

    def describe(self) -> str:
        return f"url {self.url}"

    def count(self) -> int:
        return 1

    def __iter__(self) -> Iterator[SourceItem]:
        if not self.settings.url_ingestion:
            yield Unreadable(self.url, "URL ingestion is off", "blocked")
            return
        try:
            fetched = guarded.fetch(self.url, _policy(self.settings), max_bytes=self.max_bytes,
                                    timeout_s=self.timeout_s, deadline_s=self.deadline_s,
                                    user_agent="quarry-ingest/0.1")  # fmt: skip
        except guarded.UrlBlocked as exc:
            yield Unreadable(self.url, exc.message, "blocked")
            return
        except httpx.HTTPError as exc:
            yield Unreadable(self.url, f"request failed: {type(exc).__name__}", "http-error")
            return
        yield self._document(fetched)

    def _document(self, fetched: guarded.Fetched) -> SourceItem:
        if fetched.status >= 400:
            return Unreadable(self.url, f"HTTP {fetched.status}", "http-error")
        if fetched.data is None:
            return Unreadable(self.url, f"response is over the {self.max_bytes} byte limit", "too-large")
        if fetched.timed_out:
            return Unreadable(self.url, f"took more than {self.deadline_s:g} s in all (ingest.url_deadline_s)",
                              "timeout")  # fmt: skip
        media_type = fetched.media_type
        name = urlsplit(fetched.url).path.rsplit("/", 1)[-1] or "index"
        if "." not in name.strip("."):
            name += {"text/html": ".html", "text/plain": ".txt", "application/pdf": ".pdf"}.get(media_type, "")
        return RawDocument(
            self.url, fetched.data, name, media_type, freeze({"url": fetched.url, "content_type": media_type})
        )
