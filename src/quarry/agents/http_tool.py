"""``http_get``: fetch a web page or API response for an agent, under the same outbound policy as URL ingestion
(:mod:`quarry.ingest.sources.guarded` with ``[agents] http_allow_hosts`` / ``http_allow_private``). HTML becomes
Markdown as at ingestion; a response over ``http_max_kb`` is refused."""

from __future__ import annotations

from typing import Any

from quarry.agents.tools import Tool, tool
from quarry.errors import SourceError
from quarry.ingest.parsers.html import html_to_markdown
from quarry.ingest.sources import guarded
from quarry.settings import AgentSettings

__all__ = ["http_tool"]


def http_tool(settings: AgentSettings) -> Tool:
    policy = guarded.UrlPolicy(settings.http_allow_hosts, settings.http_allow_private, "agents.http_allow_hosts")
    max_bytes = settings.http_max_kb * 1024

    def http_get(url: str) -> dict[str, Any]:
        """Fetch a web page or JSON API with an HTTP GET; returns its status, type and text.

        Args:
            url: the full http(s) URL; only hosts the operator allowed can be reached.
        """
        fetched = guarded.fetch(url, policy, max_bytes=max_bytes, timeout_s=10.0, deadline_s=20.0,
                                user_agent="quarry-agent/0.1")  # fmt: skip
        if fetched.data is None:
            raise SourceError(f"the response is over {settings.http_max_kb} KB", source=url)
        text, title = fetched.data.decode("utf-8", errors="replace"), ""
        if fetched.media_type == "text/html":  # the ingest parser's conversion: headings, lists, tables kept
            text, title = html_to_markdown(text)
        return {"url": fetched.url, "status": fetched.status, "content_type": fetched.media_type, "title": title,
                "text": text.strip()}  # fmt: skip

    return tool(risk="external", timeout_s=30.0)(http_get)
