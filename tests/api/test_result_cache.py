"""The search result cache through the API: hits for the same caller, never across principals, and a
write to the collection invalidates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from quarry.cache.results import ResultCacheConfig
from quarry.ingest.sources import FolderSource
from tests.api.conftest import COLLECTION, CORPUS, HR_URI_PART, LEAK_QUERY, SECRET, Api, write_corpus


def _ingested(fresh_api: Callable[..., Api], tmp_path: Path, **options: object) -> Api:
    api = fresh_api(**options)
    quarry = api.app.state.ctx.quarry
    report = quarry.ingestor.run(FolderSource(write_corpus(tmp_path / "corpus"), max_bytes=10**6), COLLECTION)
    assert report.ok and report.new == len(CORPUS) + 1
    return api


def _search(api: Api, headers: dict[str, str], query: str = LEAK_QUERY, **extra: object) -> dict[str, object]:
    body = {"collection": COLLECTION, "query": query, "k": 3, "mode": "hybrid", **extra}
    response = api.client.post("/v1/search", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_cached_owner_response_never_reaches_an_outsider(fresh_api: Callable[..., Api], tmp_path: Path) -> None:
    api = _ingested(fresh_api, tmp_path)
    owner, outsider = api.headers(principals=("group:hr",)), api.headers(principals=("group:sales",))
    first = _search(api, owner)
    again = _search(api, owner, query="  What is the salary band   for engineering level L5? ")  # same, normalised
    assert not first["cached"] and first["trace_id"]
    assert again["cached"] and again["trace_id"] == "" and again["hits"] == first["hits"]
    assert SECRET in str(again["hits"]) and again["query"].startswith("  What")  # the caller's own text echoed
    for _ in range(2):  # the outsider's first search and its own cached repeat
        seen = _search(api, outsider)
        assert SECRET not in str(seen) and HR_URI_PART not in str(seen) and len(seen["hits"]) == 3  # type: ignore[arg-type]
    assert seen["cached"]
    other_hr_key = _search(api, api.headers(principals=("group:hr",)))  # same principals: may share
    assert other_hr_key["cached"] and other_hr_key["hits"] == first["hits"]


def test_explain_k_mode_and_filters_are_separate_entries(fresh_api: Callable[..., Api], tmp_path: Path) -> None:
    api = _ingested(fresh_api, tmp_path)
    owner = api.headers(principals=("group:hr",))
    _search(api, owner)
    assert not _search(api, owner, explain=True)["cached"]
    assert not _search(api, owner, k=2)["cached"]
    assert not _search(api, owner, mode="bm25")["cached"]
    narrowed = _search(api, owner, filter={"ne": {"field": "path", "value": HR_URI_PART}})
    assert not narrowed["cached"] and SECRET not in str(narrowed["hits"])
    assert _search(api, owner, explain=True)["cached"]


def test_a_write_to_the_collection_invalidates(fresh_api: Callable[..., Api], tmp_path: Path) -> None:
    api = _ingested(fresh_api, tmp_path)
    owner = api.headers(principals=("group:hr",))
    before = _search(api, owner)
    assert SECRET in str(before["hits"]) and _search(api, owner)["cached"]
    uri = next(str(h["document_uri"]) for h in before["hits"] if HR_URI_PART in str(h["document_uri"]))  # type: ignore[attr-defined]
    writer = api.headers("write", principals=("group:hr",))
    deleted = api.client.delete(f"/v1/collections/{COLLECTION}/documents/{quote(uri, safe='')}", headers=writer)
    assert deleted.status_code == 204
    after = _search(api, owner)
    assert not after["cached"] and SECRET not in str(after["hits"])


def test_the_cache_can_be_turned_off(fresh_api: Callable[..., Api], tmp_path: Path) -> None:
    api = fresh_api()
    ctx = api.app.state.ctx
    ctx.results = type(ctx.results)(ResultCacheConfig(enabled=False))
    ctx.quarry.ingestor.run(FolderSource(write_corpus(tmp_path / "corpus"), max_bytes=10**6), COLLECTION)
    owner = api.headers(principals=("group:hr",))
    assert not any(_search(api, owner)["cached"] for _ in range(3))
