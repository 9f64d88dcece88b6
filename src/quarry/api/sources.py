"""Sources the API ingests from: uploaded files (never written to disk) and guarded URLs.

Upload names are reduced to a safe base name (no folders, no ``..``, no control characters), and
become ``upload://<collection>/<name>`` uris. URL ingestion is off unless ``api.url_ingestion``; a URL's
host must be allow-listed, and every address it resolves to must be public unless the operator listed
it in ``api.url_allow_private``. The fetch connects to the address that was checked (no second DNS
lookup to rebind), and each redirect hop is checked the same way.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Iterator, Sequence
from email.message import Message
from urllib.parse import urljoin, urlsplit

import httpx

from quarry.api.errors import ApiError
from quarry.ingest.sources import SourceItem, Unreadable
from quarry.pipeline.access import PRINCIPALS
from quarry.settings import ApiSettings
from quarry.types import RawDocument, freeze

__all__ = ["GuardedUrlSource", "UploadSource", "check_url", "safe_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
MAX_REDIRECTS = 5
IP = ipaddress.IPv4Address | ipaddress.IPv6Address


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


def check_url(url: str, settings: ApiSettings) -> tuple[str, int, IP]:
    """``(host, port, address to connect to)``, or 403 when the operator did not allow this URL."""
    if not settings.url_ingestion:
        raise ApiError(403, "url_ingestion_disabled", "URL ingestion is off; the operator can set api.url_ingestion")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ApiError(400, "invalid_url", "give an http:// or https:// URL with a host")
    if not _host_listed(host, settings.url_allow_hosts):
        raise ApiError(403, "url_not_allowed", "that host is not on the operator's allow-list (api.url_allow_hosts)")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port)
    for address in addresses:
        if not (address.is_global or _private_allowed(host, address, settings.url_allow_private)):
            raise ApiError(
                403,
                "url_not_allowed",
                "that URL resolves to a loopback or private address the operator has not allowed",
            )
    return host, port, addresses[0]


def _host_listed(host: str, allowed: Sequence[str]) -> bool:
    for entry in (e.lower().strip() for e in allowed):
        if entry == "*" or entry == host or (entry.startswith("*.") and host.endswith(entry[1:])):
            return True
    return False


def _private_allowed(host: str, address: IP, allowed: Sequence[str]) -> bool:
    for entry in allowed:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            if entry.lower() == host:
                return True
    return False


def _resolve(host: str, port: int) -> list[IP]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ApiError(400, "invalid_url", "the URL's host does not resolve") from exc
    found: list[IP] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        found.append(address)
    if not found:
        raise ApiError(400, "invalid_url", "the URL's host does not resolve")
    return found


class GuardedUrlSource:
    """One URL, fetched through :func:`check_url` at every hop."""

    def __init__(self, url: str, settings: ApiSettings, *, max_bytes: int, timeout_s: float,
                 deadline_s: float = 120.0) -> None:  # fmt: skip
        check_url(url, settings)
        self.url, self.prefix, self.settings = url, url, settings
        self.max_bytes, self.timeout_s, self.deadline_s = max_bytes, timeout_s, deadline_s
        self._deadline = 0.0

    def describe(self) -> str:
        return f"url {self.url}"

    def count(self) -> int:
        return 1

    def __iter__(self) -> Iterator[SourceItem]:
        try:
            yield self._fetch()
        except ApiError as exc:
            yield Unreadable(self.url, exc.message, "blocked")
        except httpx.HTTPError as exc:
            yield Unreadable(self.url, f"request failed: {type(exc).__name__}", "http-error")

    def _fetch(self) -> SourceItem:
        url = self.url
        self._deadline = time.monotonic() + self.deadline_s
        with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client:
            for _ in range(MAX_REDIRECTS + 1):
                host, _, address = check_url(url, self.settings)
                with client.stream(
                    "GET", _pinned(url, address), headers=_headers(url), extensions={"sni_hostname": host}
                ) as response:
                    location = response.headers.get("location")
                    if response.is_redirect and location:
                        url = urljoin(url, location)
                        continue
                    if response.status_code >= 400:
                        return Unreadable(self.url, f"HTTP {response.status_code}", "http-error")
                    return self._document(url, response)
        return Unreadable(self.url, f"more than {MAX_REDIRECTS} redirects", "http-error")

    def _document(self, final_url: str, response: httpx.Response) -> SourceItem:
        chunks, size = [], 0
        for part in response.iter_bytes():
            size += len(part)
            if size > self.max_bytes:
                return Unreadable(self.url, f"response is over the {self.max_bytes} byte limit", "too-large")
            if time.monotonic() > self._deadline:  # a server dripping bytes may not hold a worker for ever
                return Unreadable(self.url, f"took more than {self.deadline_s:g} s in all (ingest.url_deadline_s)",
                                  "timeout")  # fmt: skip
            chunks.append(part)
        message = Message()
        message["content-type"] = response.headers.get("content-type", "application/octet-stream")
        media_type = message.get_content_type()
        name = urlsplit(final_url).path.rsplit("/", 1)[-1] or "index"
        if "." not in name.strip("."):
            name += {"text/html": ".html", "text/plain": ".txt", "application/pdf": ".pdf"}.get(media_type, "")
        return RawDocument(
            self.url, b"".join(chunks), name, media_type, freeze({"url": final_url, "content_type": media_type})
        )


def _pinned(url: str, address: IP) -> str:
    parts = urlsplit(url)
    netloc = f"[{address}]" if address.version == 6 else str(address)
    if parts.port:
        netloc += f":{parts.port}"
    return parts._replace(netloc=netloc).geturl()


def _headers(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return {"Host": f"{host}:{parts.port}" if parts.port else host, "User-Agent": "quarry-ingest/0.1"}
