"""``http(s)`` URLs: one GET per URL, the response body becomes one raw document."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.message import Message
from urllib.parse import urlsplit

import httpx

from quarry.errors import SourceError
from quarry.ingest.sources.base import SourceItem, Unreadable
from quarry.types import RawDocument, freeze

__all__ = ["UrlSource"]

USER_AGENT = "quarry-ingest/0.1 (+https://github.com/quarry)"


class UrlSource:
    def __init__(self, url: str, *, max_bytes: int, timeout_s: float = 30.0, deadline_s: float = 120.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise SourceError(f"{url!r} is not an http(s) URL", source=url, hint="use http://… or https://…")
        self.url = url
        self.prefix = url
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.deadline_s = deadline_s  # the whole fetch: a server dripping bytes cannot hold ingestion for ever

    def describe(self) -> str:
        return f"url {self.url}"

    def count(self) -> int:
        return 1

    def __iter__(self) -> Iterator[SourceItem]:
        yield self.fetch()

    def fetch(self) -> SourceItem:
        headers = {"User-Agent": USER_AGENT}
        try:
            with (
                httpx.Client(timeout=self.timeout_s, follow_redirects=True, headers=headers) as client,
                client.stream("GET", self.url) as response,
            ):
                if response.status_code >= 400:
                    return Unreadable(self.url, f"HTTP {response.status_code} {response.reason_phrase}", "http-error")
                data = self._read_limited(response, time.monotonic() + self.deadline_s)
                if data is None:
                    limit = f"{self.max_bytes / 1e6:.1f} MB"
                    return Unreadable(self.url, f"response is over the {limit} limit", "too-large")
                if isinstance(data, Unreadable):
                    return data
                media_type = _media_type(response.headers.get("content-type", ""))
                final_url = str(response.url)
        except httpx.HTTPError as exc:
            return Unreadable(self.url, f"request failed: {type(exc).__name__}: {exc}", "http-error")
        return RawDocument(
            uri=self.url,
            data=data,
            name=_file_name(final_url, media_type),
            media_type=media_type,
            metadata=freeze({"url": final_url, "content_type": media_type}),
        )

    def _read_limited(self, response: httpx.Response, deadline: float) -> bytes | Unreadable | None:
        chunks: list[bytes] = []
        size = 0
        for part in response.iter_bytes():
            size += len(part)
            if size > self.max_bytes:
                return None
            if time.monotonic() > deadline:
                return Unreadable(self.url, f"took more than {self.deadline_s:g} s in all", "timeout")
            chunks.append(part)
        return b"".join(chunks)


_EXTENSIONS = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/pdf": ".pdf",
    "application/json": ".json",
    "text/csv": ".csv",
}


def _media_type(content_type: str) -> str:
    message = Message()
    message["content-type"] = content_type or "application/octet-stream"
    return message.get_content_type()


def _file_name(url: str, media_type: str) -> str:
    """A file name whose extension parsers can dispatch on: the URL's own, else the media type's."""
    path = urlsplit(url).path
    name = path.rsplit("/", 1)[-1] or "index"
    if "." in name.strip("."):
        return name
    return name + _EXTENSIONS.get(media_type, "")
