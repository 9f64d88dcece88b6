"""Keys, scopes, rate limits, body limits, upload names and URL ingestion."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from quarry.ingest.sources import FolderSource
from tests.api.conftest import COLLECTION, HR_URI_PART, LEAK_QUERY, Api, wait_job, write_corpus

SEARCH = {"collection": COLLECTION, "query": "salary", "mode": "bm25"}


def test_no_key_is_401_with_a_stable_error_body(api: Api) -> None:
    response = api.client.post("/v1/search", json=SEARCH, headers={"X-Request-ID": "req-123"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "req-123"
    assert response.json() == {
        "error": {"code": "unauthenticated", "message": response.json()["error"]["message"], "request_id": "req-123"}
    }
    assert "Bearer" in response.headers["www-authenticate"]
    bad = api.client.post("/v1/search", json=SEARCH, headers={"Authorization": "Bearer qk_nope_nope"})
    assert bad.status_code == 401


def test_revoked_keys_stop_working_at_once(api: Api) -> None:
    key, token = api.app.state.ctx.keys.create("read")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.post("/v1/search", json=SEARCH, headers=headers).status_code == 200
    assert api.app.state.ctx.keys.revoke(key.id)
    assert api.client.post("/v1/search", json=SEARCH, headers=headers).status_code == 401
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert api.app.state.ctx.keys.verify(tampered) is None


def test_scopes_and_collections_are_enforced_alike_for_existing_and_missing(api: Api) -> None:
    reader = api.headers("read", collections=["other"])
    existing = api.client.post("/v1/search", json=SEARCH, headers=reader)
    missing = api.client.post("/v1/search", json={**SEARCH, "collection": "nope"}, headers=reader)
    assert existing.status_code == missing.status_code == 403
    assert existing.json()["error"]["message"] == missing.json()["error"]["message"]
    assert api.client.delete(f"/v1/collections/{COLLECTION}", headers=api.headers("write")).status_code == 403
    upload = api.client.post(
        f"/v1/collections/{COLLECTION}/documents", headers=api.headers("read"), files={"files": ("a.md", b"# A")}
    )
    assert upload.status_code == 403 and upload.json()["error"]["code"] == "forbidden"
    allowed = api.headers("read", collections=[COLLECTION])
    assert api.client.post("/v1/search", json=SEARCH, headers=allowed).status_code == 200
    assert (
        api.client.post("/v1/search", json={**SEARCH, "collection": "nope"}, headers=api.headers()).status_code == 404
    )


def test_rate_limit_is_per_key_with_retry_after(fresh_api: Callable[..., Api]) -> None:
    api = fresh_api(rate_per_s=0.5, rate_burst=2)
    first, second = api.headers(), api.headers()
    codes = [api.client.get("/v1/collections", headers=first).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = api.client.get("/v1/collections", headers=first)
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 2
    assert api.client.get("/v1/collections", headers=second).status_code == 200
    admin = api.headers("admin")
    usage = {u["key_id"]: u for u in api.client.get("/v1/keys/usage", headers=admin).json()}
    counts = sorted((u["requests"], u["rate_limited"], u["shared"]) for u in usage.values())
    assert counts == [(1, 0, False), (1, 0, False), (4, 2, False)]  # the admin's own call counts too
    assert api.client.get("/v1/keys/usage", headers=second).status_code == 403  # not an admin key


def test_body_and_upload_limits(fresh_api: Callable[..., Api]) -> None:
    api = fresh_api(max_body_kb=1, max_upload_mb=0.01)
    writer = api.headers("write")
    big = api.client.post("/v1/search", json={**SEARCH, "query": "x" * 2000}, headers=writer)
    assert big.status_code == 413 and big.json()["error"]["code"] == "payload_too_large"
    upload = api.client.post(
        "/v1/collections/c/documents", headers=writer, files={"files": ("big.txt", b"word " * 4000)}
    )
    assert upload.status_code == 413

    def chunked() -> Iterator[bytes]:
        yield b'{"collection": "c", "query": "'
        for _ in range(10):
            yield b"y" * 200
        yield b'"}'

    streamed = api.client.post("/v1/search", content=chunked(), headers={**writer, "content-type": "application/json"})
    assert streamed.status_code == 413


def test_a_gzip_upload_that_inflates_past_the_limit_is_a_413(fresh_api: Callable[..., Api]) -> None:
    import gzip

    api = fresh_api()
    writer = api.headers("write")
    bomb = gzip.compress(b"\0" * (200 * 10**6), compresslevel=9)  # ~200 KB on the wire
    upload = api.client.post("/v1/collections/c/documents", headers=writer, files={"files": ("notes.txt.gz", bomb)})
    assert upload.status_code == 413 and "inflates to more than" in upload.json()["error"]["message"]
    small = gzip.compress(b"# Notes\n\nA small compressed note.\n")
    ok = api.client.post("/v1/collections/c/documents", headers=writer, files={"files": ("notes.md.gz", small)})
    assert ok.status_code == 202 and wait_job(api, ok.json()["id"], writer)["status"] == "succeeded"
    assert api.client.get("/healthz").status_code == 200


def test_upload_names_cannot_escape(fresh_api: Callable[..., Api], tmp_path: object) -> None:
    api = fresh_api()
    writer = api.headers("write")
    files = [("files", ("../../etc/passwd", b"root:x:0:0 harmless text")), ("files", ("..\\..\\x.md", b"# X\n\nx"))]
    job = api.client.post("/v1/collections/up/documents", headers=writer, files=files)
    assert job.status_code == 202, job.text
    done = wait_job(api, job.json()["id"], writer)
    assert done["status"] == "succeeded", done
    assert [e["uri"] for e in done["errors"]] == ["upload://up/passwd"]  # no extension: reported, not parsed
    assert done["units"] == {"failed": 1, "new": 1} and done["total"] == done["done"] == 2
    uris = sorted(d["uri"] for d in api.client.get("/v1/collections/up/documents", headers=writer).json())
    assert uris == ["upload://up/x.md"]  # uploads are never written to disk; names are base names only
    twice = [("files", ("a/notes.md", b"# A\n\nfirst")), ("files", ("b/notes.md", b"# B\n\nsecond"))]
    clash = api.client.post("/v1/collections/up/documents", headers=writer, files=twice)
    assert clash.status_code == 400 and "both stored as 'notes.md'" in clash.json()["error"]["message"]


@pytest.fixture
def local_http() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body><h1>Internal</h1><p>internal admin page</p></body></html>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/page.html"
    server.shutdown()
    server.server_close()


def test_url_ingestion_is_off_by_default(fresh_api: Callable[..., Api], local_http: str) -> None:
    api = fresh_api()
    response = api.client.post("/v1/collections/web/ingest", json={"source": local_http}, headers=api.headers("write"))
    assert response.status_code == 403 and response.json()["error"]["code"] == "url_ingestion_disabled"


@pytest.mark.parametrize(
    "allow",
    [{"url_allow_hosts": ["*"]}, {"url_allow_hosts": ["127.0.0.1"]}, {"url_allow_hosts": ["localhost", "127.0.0.1"]}],
)
def test_loopback_is_blocked_even_when_the_host_is_listed(
    fresh_api: Callable[..., Api], local_http: str, allow: dict[str, list[str]]
) -> None:
    api = fresh_api(url_ingestion=True, **allow)
    for url in (local_http, local_http.replace("127.0.0.1", "localhost"), "http://[::1]:9/x"):
        response = api.client.post("/v1/collections/web/ingest", json={"source": url}, headers=api.headers("write"))
        assert response.status_code == 403, (url, response.text)


def test_allow_listed_private_address_is_fetched(fresh_api: Callable[..., Api], local_http: str) -> None:
    api = fresh_api(url_ingestion=True, url_allow_hosts=["127.0.0.1"], url_allow_private=["127.0.0.1/32"])
    writer = api.headers("write")
    elsewhere = api.client.post(
        "/v1/collections/web/ingest", json={"source": "http://example.invalid/"}, headers=writer
    )
    assert elsewhere.status_code == 403  # not on the host allow-list
    job = api.client.post("/v1/collections/web/ingest", json={"source": local_http}, headers=writer)
    assert job.status_code == 202, job.text
    done = wait_job(api, job.json()["id"], writer)
    assert done["status"] == "succeeded" and done["units"] == {"new": 1}, done


def test_path_ingestion_is_admin_only_and_rooted(fresh_api: Callable[..., Api], tmp_path: object) -> None:
    api = fresh_api()
    writer, admin = api.headers("write"), api.headers("admin")
    assert api.client.post("/v1/collections/p/ingest", json={"source": "/etc"}, headers=writer).status_code == 403
    disabled = api.client.post("/v1/collections/p/ingest", json={"source": "/etc"}, headers=admin)
    assert disabled.status_code == 403 and disabled.json()["error"]["code"] == "path_ingestion_disabled"


def test_a_write_key_cannot_overwrite_a_document_it_cannot_see(fresh_api: Callable[..., Api]) -> None:
    api = fresh_api()
    admin = api.headers("write", principals=["*"])
    hr_file = [("files", ("salaries.md", b"# Salaries\n\nThe salary bands are confidential."))]
    upload = "/v1/collections/hr/documents"
    first = api.client.post(upload, headers=admin, files=hr_file, data={"principals": "group:hr"})
    assert first.status_code == 202, first.text
    wait_job(api, first.json()["id"], admin)
    sales = api.headers("write", principals=["group:sales"])
    forged = [("files", ("salaries.md", b"# Salaries\n\nEveryone earns the same."))]
    denied = api.client.post(upload, headers=sales, files=forged, data={"principals": "group:sales"})
    other = api.client.post("/v1/collections/nope/documents", headers=api.headers("read"), files=forged)
    assert denied.status_code == other.status_code == 403
    assert denied.json()["error"]["code"] == other.json()["error"]["code"] == "forbidden"
    fresh = [("files", ("pipeline.md", b"# Pipeline\n\nQ3 pipeline notes."))]
    assert api.client.post("/v1/collections/hr/documents", headers=sales, files=fresh).status_code == 202
    hr = api.headers("read", principals=["group:hr"])
    hits = api.client.post("/v1/search", json={"collection": "hr", "query": "salary bands"}, headers=hr).json()["hits"]
    assert any("confidential" in h["text"] for h in hits)  # the original is untouched


def test_an_admin_key_limited_to_a_collection_sees_only_its_traces_and_jobs(fresh_api: Callable[..., Api]) -> None:
    api = fresh_api()
    everything = api.headers("admin")
    jobs = {}
    for name in ("alpha", "beta"):
        files = [("files", (f"{name}.md", f"# {name}\n\nNotes about {name} projects.".encode()))]
        job = api.client.post(f"/v1/collections/{name}/documents", headers=everything, files=files).json()
        jobs[name] = wait_job(api, job["id"], everything)["id"]
        api.client.post("/v1/search", json={"collection": name, "query": "projects"}, headers=everything)
    scoped = api.headers("admin", collections=["alpha"])
    listed = api.client.get("/v1/traces?limit=200", headers=scoped).json()
    assert listed and {t["attributes"].get("collection") for t in listed} == {"alpha"}
    beta = [t for t in api.client.get("/v1/traces?limit=200", headers=everything).json()
            if t["attributes"].get("collection") == "beta"]  # fmt: skip
    assert beta and api.client.get(f"/v1/traces/{beta[0]['trace_id']}", headers=scoped).status_code == 404
    assert [j["id"] for j in api.client.get("/v1/jobs", headers=scoped).json()] == [jobs["alpha"]]
    assert api.client.get(f"/v1/jobs/{jobs['beta']}", headers=scoped).status_code == 404
    assert api.client.get("/metrics", headers=scoped).status_code == 403
    assert api.client.get("/metrics", headers=everything).status_code == 200


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_lexical_scores_do_not_depend_on_documents_the_caller_cannot_see(
    fresh_api: Callable[..., Api], tmp_path: Path, mode: str
) -> None:
    """The same corpus twice, once with the restricted HR document and once without: an outsider's scores
    are identical in both, so BM25 statistics (document frequency, average length) reveal nothing about it."""
    api = fresh_api()
    quarry = api.app.state.ctx.quarry
    with_hidden = write_corpus(tmp_path / "with-hidden")
    without = write_corpus(tmp_path / "without")
    shutil.rmtree(without / "hr")
    for folder, collection in ((with_hidden, "with-hidden"), (without, "without")):
        assert quarry.ingestor.run(FolderSource(folder, max_bytes=10**6), collection).ok
    outsider = api.headers(principals=("group:sales",))

    def scores(collection: str) -> dict[str, float]:
        body = {"collection": collection, "query": LEAK_QUERY, "k": 10, "mode": mode}
        response = api.client.post("/v1/search", json=body, headers=outsider)
        assert response.status_code == 200, response.text
        return {str(h["document_uri"]).split(collection, 1)[1]: float(h["score"]) for h in response.json()["hits"]}

    seen_with, seen_without = scores("with-hidden"), scores("without")
    assert seen_with.keys() == seen_without.keys() and len(seen_with) >= 4
    assert all(abs(seen_with[uri] - seen_without[uri]) < 1e-6 for uri in seen_with), (seen_with, seen_without)
    member = api.headers(principals=("group:hr",))  # members still get the HR document, scored with it counted
    body = {"collection": "with-hidden", "query": LEAK_QUERY, "k": 3, "mode": mode}
    assert HR_URI_PART in api.client.post("/v1/search", json=body, headers=member).json()["hits"][0]["document_uri"]
