"""The outbound-request policy shared by URL ingestion over the API and the agents' ``http_get`` tool.

A URL's host must be allow-listed (``'example.com'``, ``'*.example.com'`` or ``'*'``), and every address it
resolves to must be public unless listed in ``allow_private`` (IPs/CIDRs or host names). The fetch connects to
the address that was checked (no second DNS lookup to rebind), each redirect hop is checked the same way, and
the body is read up to ``max_bytes`` within ``deadline_s``.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urljoin, urlsplit

import httpx

from quarry.errors import SourceError

__all__ = ["MAX_REDIRECTS", "Fetched", "UrlBlocked", "UrlPolicy", "check", "fetch"]

MAX_REDIRECTS = 5
IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlBlocked(SourceError):
    """The policy refused a URL: ``code`` is ``invalid_url`` (malformed, does not resolve) or ``url_not_allowed``."""

    def __init__(self, url: str, message: str, *, code: str, hint: str = "") -> None:
        super().__init__(message, source=url, hint=hint)
        self.code = code


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    allow_hosts: Sequence[str]
    allow_private: Sequence[str] = ()
    setting: str = "url_allow_hosts"  # named in refusals, so the operator knows what to change


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # after redirects
    status: int
    media_type: str
    data: bytes | None  # None: over max_bytes
    timed_out: bool = False


def check(url: str, policy: UrlPolicy) -> tuple[str, int, IP]:
    """``(host, port, address to connect to)``, or :class:`UrlBlocked`."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise UrlBlocked(url, "give an http:// or https:// URL with a host", code="invalid_url")
    if not _host_listed(host, policy.allow_hosts):
        raise UrlBlocked(url, f"that host is not on the operator's allow-list ({policy.setting})",
                         code="url_not_allowed")  # fmt: skip
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(url, host, port)
    for address in addresses:
        if not (address.is_global or _private_allowed(host, address, policy.allow_private)):
            raise UrlBlocked(url, "that URL resolves to a loopback or private address the operator has not allowed",
                             code="url_not_allowed")  # fmt: skip
    return host, port, addresses[0]


def fetch(url: str, policy: UrlPolicy, *, max_bytes: int, timeout_s: float, deadline_s: float,
          user_agent: str = "quarry/0.1") -> Fetched:  # fmt: skip
    """GET ``url`` under the policy, following up to :data:`MAX_REDIRECTS` checked redirects."""
    deadline = time.monotonic() + deadline_s
    with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            host, _, address = check(url, policy)
            headers = {"Host": _host_header(url), "User-Agent": user_agent}
            with client.stream("GET", _pinned(url, address), headers=headers,
                               extensions={"sni_hostname": host}) as response:  # fmt: skip
                location = response.headers.get("location")
                if response.is_redirect and location:
                    url = urljoin(url, location)
                    continue
                message = Message()
                message["content-type"] = response.headers.get("content-type", "application/octet-stream")
                media_type = message.get_content_type()
                if response.status_code >= 400:
                    return Fetched(url, response.status_code, media_type, b"")
                chunks, size = [], 0
                for part in response.iter_bytes():
                    size += len(part)
                    if size > max_bytes:
                        return Fetched(url, response.status_code, media_type, None)
                    if time.monotonic() > deadline:  # a server dripping bytes may not hold a worker for ever
                        return Fetched(url, response.status_code, media_type, b"", timed_out=True)
                    chunks.append(part)
                return Fetched(url, response.status_code, media_type, b"".join(chunks))
    raise UrlBlocked(url, f"more than {MAX_REDIRECTS} redirects", code="invalid_url")


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


def _resolve(url: str, host: str, port: int) -> list[IP]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlBlocked(url, "the URL's host does not resolve", code="invalid_url") from exc
    found: list[IP] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        found.append(address)
    if not found:
        raise UrlBlocked(url, "the URL's host does not resolve", code="invalid_url")
    return found


def _pinned(url: str, address: IP) -> str:
    parts = urlsplit(url)
    netloc = f"[{address}]" if address.version == 6 else str(address)
    if parts.port:
        netloc += f":{parts.port}"
    return parts._replace(netloc=netloc).geturl()


def _host_header(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if parts.port else host
