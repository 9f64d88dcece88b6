"""The REST surface end to end, in process, on the real model."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote

from tests.api.conftest import COLLECTION, LEAK_QUERY, Api, wait_job


def _events(text: str) -> list[tuple[str, dict[str, object]]]:
    found = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((lines.get("event", ""), json.loads(lines["data"])))
    return found


def test_health_ready_and_metrics(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"store": True, "embedder": True}
    api.client.post("/v1/search", json={"collection": COLLECTION, "query": "pay"}, headers=api.headers())
    api.client.get("/v1/jobs/nope", headers=api.headers())
    metrics = api.client.get("/metrics", headers=api.headers("admin")).text
    assert 'quarry_http_requests_total{method="POST",route="/v1/search",status="200"}' in metrics
    assert 'quarry_http_request_seconds_bucket{le="0.1",method="POST",route="/v1/search"}' in metrics
    assert 'quarry_http_errors_total{code="job_not_found",route="/v1/jobs/{job_id}"}' in metrics


def test_collections_lifecycle(fresh_api: Callable[..., Api]) -> None:
    api = fresh_api()
    writer, admin = api.headers("write"), api.headers("admin", principals=["*"])
    created = api.client.post("/v1/collections", json={"name": "notes", "description": "team notes"}, headers=writer)
    assert created.status_code == 201 and created.json()["name"] == "notes"
    assert api.client.post("/v1/collections", json={"name": "../x"}, headers=writer).status_code == 422
    listed = api.client.get("/v1/collections", headers=admin).json()
    assert [(c["name"], c["documents"]) for c in listed] == [("notes", 0)]
    assert api.client.get("/v1/models", headers=writer).json()["data"][0]["id"] == "quarry:notes"
    assert api.client.delete("/v1/collections/notes", headers=admin).status_code == 204
    missing = api.client.get("/v1/collections/notes", headers=admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "collection_not_found"


def test_upload_job_progress_documents_and_delete(fresh_api: Callable[..., Api]) -> None:
    api = fresh_api()
    writer = api.headers("write", principals=["group:ops"])
    files = [
        ("files", ("runbook.md", b"# Runbook\n\nRestart the ingest worker when the queue stalls.")),
        ("files", ("broken.pdf", b"%PDF-1.4 not really a pdf")),
    ]
    job = api.client.post(
        "/v1/collections/ops/documents",
        files=files,
        data={"principals": "group:ops"},
        headers={**writer, "X-Request-ID": "upload-1"},
    )
    assert job.status_code == 202
    done = wait_job(api, job.json()["id"], writer)
    assert done["status"] == "succeeded" and done["request_id"] == "upload-1"
    assert (done["total"], done["done"], done["units"]) == (2, 2, {"failed": 1, "new": 1})
    assert done["chunks"] >= 1 and [e["uri"] for e in done["errors"]] == ["upload://ops/broken.pdf"]
    assert api.client.get("/v1/collections/ops/documents", headers=api.headers()).json() == []  # not group:ops
    docs = api.client.get("/v1/collections/ops/documents", headers=writer).json()
    assert [d["uri"] for d in docs] == ["upload://ops/runbook.md"] and "principals" not in docs[0]["metadata"]
    path = f"/v1/collections/ops/documents/{quote('upload://ops/runbook.md', safe='')}"
    assert "Restart the ingest worker" in api.client.get(path, headers=writer).json()["text"]
    assert api.client.delete(path, headers=writer).status_code == 204
    assert api.client.get(path, headers=writer).status_code == 404
    metrics = api.client.get("/metrics", headers=api.headers("admin")).text
    assert 'quarry_ingest_units_total{status="new"} 1.0' in metrics


def test_search_filters_modes_and_explain(api: Api) -> None:
    headers = api.headers()
    where = {"eq": {"field": "path", "value": "handbook/pay.md"}}
    body = {"collection": COLLECTION, "query": LEAK_QUERY, "k": 5, "filter": where, "explain": True, "mode": "hybrid"}
    result = api.client.post("/v1/search", json=body, headers=headers).json()
    assert [h["metadata"]["path"] for h in result["hits"]] == ["handbook/pay.md"]
    assert set(result["hits"][0]["explain"]["paths"]) <= {"bm25", "dense"} and result["hits"][0]["explain"]["paths"]
    bad = api.client.post("/v1/search", json={**body, "filter": {"near": {}}}, headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_filter"
    deep: dict[str, object] = {"eq": {"field": "a", "value": 1}}
    for _ in range(12):
        deep = {"not": deep}
    assert api.client.post("/v1/search", json={**body, "filter": deep}, headers=headers).status_code == 400
    key = api.client.post("/v1/search", json={**body, "filter": {"eq": {"field": "a b", "value": 1}}}, headers=headers)
    assert key.status_code == 400 and key.json()["error"]["code"] == "store_rejected"
    for huge in ({"eq": {"field": "year", "value": 2**64}}, {"range": {"field": "year", "gte": -(2**70)}}):
        over = api.client.post("/v1/search", json={**body, "filter": huge}, headers=headers)
        assert over.status_code == 400 and "64-bit integer range" in over.json()["error"]["message"]


def test_answer_json_and_sse(api: Api) -> None:
    headers = api.headers()
    body = {"collection": COLLECTION, "question": "When is salary paid?", "k": 3}
    answer = api.client.post("/v1/answer", json=body, headers={**headers, "X-Request-ID": "ans-1"}).json()
    assert not answer["abstained"] and answer["citations"] and answer["usage"]["total_tokens"] > 0
    stream = api.client.post("/v1/answer", json=body, headers={**headers, "Accept": "text/event-stream"})
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = _events(stream.text)
    names = [name for name, _ in events]
    assert names[0] == "token" and names[-2:] == ["usage", "done"] and "citation" in names
    assert names.index("citation") > max(i for i, n in enumerate(names) if n == "token")
    assert events[-1][1]["citations"]
    trace = api.client.get(f"/v1/traces/{answer['trace_id']}", headers=api.headers("admin")).json()
    assert trace["kind"] == "answer" and trace["attributes"]["request_id"] == "ans-1"
    metrics = api.client.get("/metrics", headers=api.headers("admin")).text
    assert 'quarry_llm_tokens_total{kind="completion",model="scripted"}' in metrics


def test_answer_errors_before_the_stream_are_http_errors(api: Api) -> None:
    body = {"collection": "nope", "question": "x", "stream": True}
    response = api.client.post("/v1/answer", json=body, headers=api.headers())
    assert response.status_code == 404 and response.json()["error"]["code"] == "collection_not_found"


def test_openai_chat_completions(api: Api) -> None:
    headers = api.headers()
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "When is salary paid?"}]
    body = {"model": f"quarry:{COLLECTION}", "messages": messages, "temperature": 0.2}
    completion = api.client.post("/v1/chat/completions", json=body, headers=headers).json()
    message = completion["choices"][0]["message"]
    assert completion["object"] == "chat.completion" and message["role"] == "assistant"
    assert message["quarry_citations"] and completion["usage"]["total_tokens"] > 0
    stream = api.client.post("/v1/chat/completions", json={**body, "stream": True}, headers=headers)
    datas = [line[6:] for line in stream.text.splitlines() if line.startswith("data: ")]
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text.strip() and chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["quarry_citations"]
    unknown = api.client.post("/v1/chat/completions", json={**body, "model": "gpt-4o"}, headers=headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"


def test_openai_python_client_works(api: Api) -> None:
    import openai

    client = openai.OpenAI(base_url="http://testserver/v1", api_key=api.key(), http_client=api.client)
    completion = client.chat.completions.create(
        model=f"quarry:{COLLECTION}", messages=[{"role": "user", "content": "When is salary paid?"}]
    )
    assert completion.choices[0].message.content
    assert f"quarry:{COLLECTION}" in [m.id for m in client.models.list()]


def test_answering_not_configured_is_503(fresh_api: Callable[..., Api]) -> None:
    api = fresh_api()
    api.app.state.ctx.quarry.__dict__["answerer"] = None
    response = api.client.post("/v1/answer", json={"collection": "c", "question": "q"}, headers=api.headers())
    assert response.status_code == 503 and response.json()["error"]["code"] == "answering_unavailable"


def test_traces_are_the_callers_own(api: Api) -> None:
    mine = api.headers()
    result = api.client.post(
        "/v1/search", json={"collection": COLLECTION, "query": "travel"}, headers={**mine, "X-Request-ID": "trace-me"}
    ).json()
    listed = api.client.get("/v1/traces", headers=mine).json()
    assert [t["trace_id"] for t in listed] == [result["trace_id"]]
    assert listed[0]["attributes"]["request_id"] == "trace-me"
    admin = api.client.get("/v1/traces?limit=200", headers=api.headers("admin")).json()
    assert result["trace_id"] in {t["trace_id"] for t in admin}
