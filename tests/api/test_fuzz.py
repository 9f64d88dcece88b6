"""Fuzz every operation from the API's own OpenAPI schema: no 5xx, responses match the schema.

Bounded: a few examples per operation, derandomized, against a throw-away system (an admin key may
delete what it finds).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import content_type_conformance, not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from quarry.api import create_app
from quarry.embeddings import Embedder
from quarry.ingest.sources import FolderSource
from tests.api.conftest import make_settings, make_system, write_corpus

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory, minilm: Embedder) -> Iterator[tuple[FastAPI, str]]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    system_settings = make_settings(root, request_timeout_s=20.0)
    quarry = make_system(root, minilm, system_settings)
    quarry.ingestor.run(FolderSource(write_corpus(root / "corpus"), max_bytes=10**6), "handbook")
    app = create_app(quarry, system_settings)
    _, token = app.state.ctx.keys.create("admin", principals=["group:hr"])
    with TestClient(app):  # runs the lifespan (model warm-up); the fuzzer then calls the app in process
        yield app, token
    quarry.close()


def test_api_conforms_to_its_schema(fuzz_target: tuple[FastAPI, str]) -> None:
    app, token = fuzz_target
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        def fuzz(case: Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        fuzz()
