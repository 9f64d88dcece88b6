"""A real system behind the API: SQLite store, real MiniLM, a scripted chat model that echoes its sources.

The corpus is built so that a restricted HR document is the *best* match for the leak query; the
scripted model repeats the sources it was given, so any restricted text that reached the prompt would
show up in the answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from quarry.api import create_app
from quarry.assembly import Quarry, build
from quarry.cache import EmbeddingCache
from quarry.embeddings import Embedder
from quarry.embeddings.cached import CachedEmbedder
from quarry.ingest.sources import FolderSource
from quarry.pipeline import Ingestor
from quarry.settings import AccessRule, AccessSettings, ApiSettings, Settings, StoreSettings
from quarry.testing.chat import ScriptedChatModel
from quarry.types import Message

SECRET = "ZEBRA-SECRET-42"
LEAK_QUERY = "What is the salary band for engineering level L5?"
COLLECTION = "handbook"
HR_URI_PART = "hr/salaries.md"

CORPUS = {
    HR_URI_PART: (
        "# Salary bands 2024\n\nThe salary band for engineering level L5 is 180,000 to 210,000 USD. "
        f"Code word {SECRET}. The salary band for engineering level L6 is 230,000 USD."
    ),
    "handbook/pay.md": "# Pay schedule\n\nYour salary is paid monthly on the last working day. Ask payroll.",
    "handbook/reviews.md": (
        "# Performance reviews\n\nEngineering performance reviews happen twice a year; salary changes follow them."
    ),
    "handbook/levels.md": (
        "# Engineering levels\n\nEngineering levels run from L1 to L8; each level describes scope, not a band."
    ),
    "handbook/benefits.md": "# Benefits\n\nBenefits include health insurance and a pension next to your salary.",
    "handbook/travel.md": "# Travel\n\nBook travel through the portal. Economy class for flights under six hours.",
}
ANN_NOTE = {
    "id": "n1",
    "text": "Ann's note: ask about the L5 engineering salary band in March.",
    "principals": "user:ann",
}


def write_corpus(folder: Path) -> Path:
    for name, text in CORPUS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (folder / "notes.jsonl").write_text(json.dumps(ANN_NOTE) + "\n")
    return folder


def echo(messages: Sequence[Message]) -> str:
    """Repeat the prompt's sources, citing [1]: restricted text in the prompt would leak into the answer."""
    return "From the sources [1]: " + messages[-1].content[-2500:]


def make_settings(root: Path, **api: object) -> Settings:
    rules = [AccessRule(glob="hr/**", principals=["group:hr"])]
    return Settings(
        store=StoreSettings(path=root / "store" / "quarry.db"),
        access=AccessSettings(rules=rules),
        api=ApiSettings(**{"rate_per_s": 1000.0, "rate_burst": 1000, **api}),  # type: ignore[arg-type]
    )


def make_system(root: Path, embedder: Embedder, settings: Settings) -> Quarry:
    quarry = build(settings)
    quarry.__dict__["embedder"] = CachedEmbedder(embedder, EmbeddingCache(root / "store" / "cache.db"))
    quarry.__dict__["ingestor"] = Ingestor(  # the access policy from settings (as assembly wires it)
        quarry.store, quarry.embedder, quarry.parsers, settings.chunking, quarry.tracer, access=settings.access
    )
    quarry.__dict__["chat_model"] = ScriptedChatModel(default=echo)
    return quarry


class Api:
    """A TestClient plus a way to mint keys."""

    def __init__(self, app: FastAPI, client: TestClient) -> None:
        self.app, self.client = app, client

    def key(self, scope: str = "read", *, collections: Sequence[str] = (), principals: Sequence[str] = ()) -> str:
        _, token = self.app.state.ctx.keys.create(scope, collections=collections, principals=principals)
        return str(token)

    def headers(self, scope: str = "read", **kwargs: Sequence[str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(scope, **kwargs)}"}


@pytest.fixture(scope="session")
def leak_system(tmp_path_factory: pytest.TempPathFactory, minilm: Embedder) -> Iterator[Quarry]:
    root = tmp_path_factory.mktemp("api")
    settings = make_settings(root)
    quarry = make_system(root, minilm, settings)
    report = quarry.ingestor.run(FolderSource(write_corpus(root / "corpus"), max_bytes=10**6), COLLECTION)
    assert report.ok and report.new == len(CORPUS) + 1
    yield quarry
    quarry.close()


@pytest.fixture(scope="session")
def api(leak_system: Quarry) -> Iterator[Api]:
    app = create_app(leak_system, leak_system.settings)
    with TestClient(app) as client:
        yield Api(app, client)


@pytest.fixture
def fresh_api(tmp_path: Path, minilm: Embedder) -> Callable[..., Api]:
    """A new, empty system and app per test, with API settings overridden."""
    opened: list[tuple[Quarry, TestClient]] = []

    def make(**api_settings: object) -> Api:
        settings = make_settings(tmp_path, **api_settings)
        quarry = make_system(tmp_path, minilm, settings)
        app = create_app(quarry, settings)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        opened.append((quarry, client))
        return Api(app, client)

    yield make  # type: ignore[misc]
    for quarry, client in opened:
        client.__exit__(None, None, None)
        quarry.close()


def wait_job(api: Api, job_id: str, headers: dict[str, str], timeout_s: float = 60.0) -> dict[str, object]:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = api.client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("succeeded", "failed"):
            return dict(job)
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s")
