"""``http_get`` under the URL policy against a real local HTTP server, and approval timeouts (reject, webhook)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from quarry.agents import ToolContext
from quarry.agents.approvals import expire
from quarry.agents.http_tool import http_tool
from quarry.ingest.sources.guarded import UrlBlocked
from quarry.settings import AgentSettings
from quarry.stores.agents import AgentRun, Approval
from tests.agents.conftest import Harness

received: list[dict[str, Any]] = []


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data")
            self.end_headers()
            return
        body = b"<html><head><style>p{}</style></head><body><h1>Status</h1><p>All systems normal.</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_get_refuses_unlisted_and_private_addresses(local_server: str) -> None:
    fetch = http_tool(AgentSettings(http_allow_hosts=["example.org"]))
    with pytest.raises(UrlBlocked, match="allow-list"):
        fetch.invoke({"url": f"{local_server}/status"}, ToolContext())
    fetch = http_tool(AgentSettings(http_allow_hosts=["127.0.0.1"]))
    with pytest.raises(UrlBlocked, match="loopback or private"):
        fetch.invoke({"url": f"{local_server}/status"}, ToolContext())


def test_http_get_reads_an_allowed_page_as_text_and_checks_redirects(local_server: str) -> None:
    fetch = http_tool(AgentSettings(http_allow_hosts=["127.0.0.1", "169.254.169.254"],
                                    http_allow_private=["127.0.0.1"]))  # fmt: skip
    page = fetch.invoke({"url": f"{local_server}/status"}, ToolContext())
    assert page["status"] == 200 and page["text"] == "# Status\n\nAll systems normal."
    with pytest.raises(UrlBlocked, match="loopback or private"):  # the redirect hop is checked too
        fetch.invoke({"url": f"{local_server}/moved"}, ToolContext())
    assert fetch.risk == "external"


def _waiting(harness: Harness, expires_at: float) -> Approval:
    run = harness.runs.create(AgentRun("run-1", "post", "key-ann", ("public",)))
    approval = Approval("ap-1", "run-1", "call-1", "post_notice", "{}", "write", "key-ann", ("public",),
                        expires_at=expires_at)  # fmt: skip
    return harness.runs.request(approval, run)


def test_an_expired_approval_is_rejected_by_the_timeout(harness: Harness) -> None:
    _waiting(harness, expires_at=1.0)
    assert expire(harness.runs, AgentSettings(), now=0.5) == []  # not yet
    expired = expire(harness.runs, AgentSettings(), now=2.0)
    assert [(a.id, a.status, a.decided_by) for a in expired] == [("ap-1", "expired", "timeout")]
    found = harness.runs.get("run-1")
    assert found is not None and found.status == "ready"
    assert expire(harness.runs, AgentSettings(), now=3.0) == []


def test_an_expired_approval_is_sent_to_the_webhook_once(harness: Harness, local_server: str) -> None:
    received.clear()
    _waiting(harness, expires_at=1.0)
    settings = AgentSettings(on_timeout="webhook", webhook_url=f"{local_server}/hook")
    assert [a.id for a in expire(harness.runs, settings, now=2.0)] == ["ap-1"]
    assert expire(harness.runs, settings, now=3.0) == []
    assert [r["approval"]["id"] for r in received] == ["ap-1"]
    assert received[0]["event"] == "approval.expired"
    still = harness.runs.approval("ap-1")
    assert still is not None and still.status == "pending" and still.expires_at is None


def test_a_webhook_timeout_needs_a_url() -> None:
    with pytest.raises(ValueError, match="webhook_url"):
        AgentSettings(on_timeout="webhook")
