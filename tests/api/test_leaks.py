"""The leak suite: a restricted HR document is the best match for the query. Members find it; every other
caller gets zero leaks on every surface, and still gets k results."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import COLLECTION, HR_URI_PART, LEAK_QUERY, SECRET, Api

K = 3
OUTSIDERS = {
    "no principals": (),
    "other group": ("group:sales",),
    "other user": ("user:bob",),
    "near miss": ("group:hr-admins", "hr", "group:HR"),
}


def _search(api: Api, headers: dict[str, str], mode: str, k: int = K) -> list[dict[str, object]]:
    body = {"collection": COLLECTION, "query": LEAK_QUERY, "k": k, "mode": mode}
    response = api.client.post("/v1/search", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["hits"])


def _assert_clean(payload: str) -> None:
    assert SECRET not in payload
    assert HR_URI_PART not in payload
    assert "180,000" not in payload


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
@pytest.mark.parametrize("principals", [("group:hr",), ("user:hank", "group:hr"), ("*",)])
def test_members_find_the_restricted_document_first(api: Api, mode: str, principals: tuple[str, ...]) -> None:
    hits = _search(api, api.headers(principals=principals), mode)
    assert HR_URI_PART in str(hits[0]["document_uri"])
    assert SECRET in str(hits[0]["text"])


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
@pytest.mark.parametrize("who", sorted(OUTSIDERS))
def test_outsiders_get_k_results_and_no_leak(api: Api, mode: str, who: str) -> None:
    headers = api.headers(principals=OUTSIDERS[who])
    hits = _search(api, headers, mode)
    assert len(hits) == K
    _assert_clean(json.dumps(hits))
    assert all("user:ann" not in json.dumps(h) and "notes.jsonl" not in str(h["document_uri"]) for h in hits)


def test_source_principals_show_a_note_only_to_its_owner(api: Api) -> None:
    ann = _search(api, api.headers(principals=("user:ann",)), "bm25", k=10)
    assert any("notes.jsonl" in str(h["document_uri"]) for h in ann)
    assert all(HR_URI_PART not in str(h["document_uri"]) for h in ann)
    bob = _search(api, api.headers(principals=("user:bob",)), "bm25", k=10)
    assert all("notes.jsonl" not in str(h["document_uri"]) for h in bob)


def test_user_filters_cannot_widen_visibility(api: Api) -> None:
    headers = api.headers(principals=("user:bob",))
    for where in (
        {"any_of": {"field": "principals", "values": ["group:hr"]}},
        {"or": [{"eq": {"field": "path", "value": HR_URI_PART}}, {"not": {"eq": {"field": "x", "value": 1}}}]},
    ):
        body = {"collection": COLLECTION, "query": LEAK_QUERY, "k": K, "filter": where, "mode": "bm25"}
        response = api.client.post("/v1/search", json=body, headers=headers)
        assert response.status_code == 200
        _assert_clean(response.text)


def test_answers_do_not_leak(api: Api) -> None:
    outsider, member = api.headers(principals=("group:sales",)), api.headers(principals=("group:hr",))
    body = {"collection": COLLECTION, "question": LEAK_QUERY, "k": K}
    leaked = api.client.post("/v1/answer", json=body, headers=member)
    assert leaked.status_code == 200 and SECRET in leaked.text  # the scripted model echoes its sources
    answer = api.client.post("/v1/answer", json=body, headers=outsider)
    assert answer.status_code == 200, answer.text
    # what the outsider may see never mentions L5 (only Ann's note and the HR file do): it abstains, and says why
    assert answer.json()["abstained"] and "l5" in answer.json()["abstain_reason"]
    _assert_clean(answer.text)
    streamed = api.client.post("/v1/answer", json={**body, "stream": True}, headers=outsider)
    assert streamed.status_code == 200 and "event: done" in streamed.text
    _assert_clean(streamed.text)


def test_chat_completions_do_not_leak(api: Api) -> None:
    outsider = api.headers(principals=("user:bob",))
    messages = [{"role": "user", "content": LEAK_QUERY}]
    for stream in (False, True):
        body = {"model": f"quarry:{COLLECTION}", "messages": messages, "stream": stream}
        response = api.client.post("/v1/chat/completions", json=body, headers=outsider)
        assert response.status_code == 200, response.text
        _assert_clean(response.text)


def test_document_listings_and_reads_do_not_leak(api: Api) -> None:
    outsider = api.headers(principals=("group:sales",))
    listing = api.client.get(f"/v1/collections/{COLLECTION}/documents?limit=500", headers=outsider)
    assert listing.status_code == 200
    uris = [d["uri"] for d in listing.json()]
    assert len(uris) == 5 and all(HR_URI_PART not in u for u in uris)
    _assert_clean(listing.text)
    member = api.headers(principals=("group:hr",))
    hr_uri = next(
        d["uri"]
        for d in api.client.get(f"/v1/collections/{COLLECTION}/documents", headers=member).json()
        if HR_URI_PART in d["uri"]
    )
    assert api.client.get(f"/v1/collections/{COLLECTION}/documents/{hr_uri}", headers=member).status_code == 200
    hidden = api.client.get(f"/v1/collections/{COLLECTION}/documents/{hr_uri}", headers=outsider)
    missing = api.client.get(f"/v1/collections/{COLLECTION}/documents/{hr_uri}.nope", headers=outsider)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["message"] == missing.json()["error"]["message"]
    writer = api.headers("write", principals=("group:sales",))
    assert api.client.delete(f"/v1/collections/{COLLECTION}/documents/{hr_uri}", headers=writer).status_code == 404
    collections = api.client.get("/v1/collections", headers=outsider).json()
    assert collections[0]["documents"] is None  # counts would reveal hidden documents


def test_traces_and_jobs_of_others_are_invisible(api: Api) -> None:
    member, outsider = api.headers(principals=("group:hr",)), api.headers(principals=("group:sales",))
    hit = api.client.post(
        "/v1/search", json={"collection": COLLECTION, "query": SECRET, "mode": "bm25"}, headers=member
    ).json()
    assert api.client.get(f"/v1/traces/{hit['trace_id']}", headers=member).status_code == 200
    assert api.client.get(f"/v1/traces/{hit['trace_id']}", headers=outsider).status_code == 404
    listing = api.client.get("/v1/traces?limit=200", headers=outsider)
    assert listing.status_code == 200
    _assert_clean(listing.text)
    job = api.client.post(
        "/v1/collections/scratch/documents",
        headers=api.headers("write"),
        files={"files": ("note.md", b"# Note\n\nA public note.")},
    ).json()
    assert api.client.get(f"/v1/jobs/{job['id']}", headers=outsider).status_code == 404
    assert all(j["id"] != job["id"] for j in api.client.get("/v1/jobs", headers=outsider).json())
