"""The operations layer over a real system (SQLite store, MiniLM, the bundled samples, a scripted model that
reports which prompt it was given): prompt promote/rollback without restart, A/B experiments with sticky
variants and the stop rule, and feedback."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quarry.api import create_app
from quarry.assembly import Quarry, build
from quarry.embeddings import Embedder
from quarry.generation import load_prompt
from quarry.ingest.sources import FolderSource
from quarry.settings import ApiSettings, GenerationSettings, Settings, StoreSettings
from quarry.testing.chat import ScriptedChatModel
from quarry.types import Message

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
QUESTION = "How many days of paid annual leave does every employee get?"
MARK = "Answer in the voice of a ship's captain."


def reply(messages: Sequence[Message]) -> str:
    """A careful answer (what the model was given is in the scripted model's calls)."""
    return "Every employee gets 27 days of paid annual leave per calendar year [1]."


@pytest.fixture(scope="module")
def ops(
    tmp_path_factory: pytest.TempPathFactory, minilm: Embedder
) -> Iterator[tuple[TestClient, Quarry, dict[str, str]]]:
    root = tmp_path_factory.mktemp("ops-api")
    settings = Settings(
        store=StoreSettings(path=root / "quarry.db"),
        generation=GenerationSettings(k=3),
        api=ApiSettings(rate_per_s=1000.0, rate_burst=1000),
    )
    quarry = build(settings)
    quarry.__dict__["embedder"] = minilm
    quarry.__dict__["chat_model"] = ScriptedChatModel(default=reply)
    assert quarry.ingestor.run(FolderSource(SAMPLES, max_bytes=10**7), "s").ok
    app = create_app(quarry, settings)
    with TestClient(app) as client:
        keys = {scope: app.state.ctx.keys.create(scope)[1] for scope in ("read", "admin")}
        keys["limited-admin"] = app.state.ctx.keys.create("admin", collections=["s"])[1]
        yield client, quarry, {k: f"Bearer {v}" for k, v in keys.items()}
    quarry.close()


def _ask(client: TestClient, token: str, session: str | None = None) -> dict[str, object]:
    body = {"collection": "s", "question": QUESTION, **({"session": session} if session else {})}
    response = client.post("/v1/answer", json=body, headers={"Authorization": token})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _last_system(quarry: Quarry) -> str:
    return str(quarry.chat_model.calls[-1].messages[0].content)  # type: ignore[attr-defined]


def _new_version(client: TestClient, admin: str) -> int:
    shipped = load_prompt("answer@4")
    body = {
        "system": f"{shipped.system}\n{MARK}", "user": shipped.user, "description": "a captain's voice",
        "abstain_marker": shipped.abstain_marker, "source_titles": shipped.source_titles, "stop": list(shipped.stop),
    }  # fmt: skip
    made = client.post("/v1/prompts/answer/versions", json=body, headers={"Authorization": admin})
    assert made.status_code == 201, made.text
    return int(made.json()["version"])


def test_promote_and_rollback_change_the_next_answer_without_a_restart(
    ops: tuple[TestClient, Quarry, dict[str, str]],
) -> None:
    client, quarry, keys = ops
    admin = {"Authorization": keys["admin"]}
    before = _ask(client, keys["read"])
    assert before["prompt_version"] == "answer@4" and MARK not in _last_system(quarry)
    version = _new_version(client, keys["admin"])
    assert version > 4 and _ask(client, keys["read"])["prompt_version"] == "answer@4"  # created, not serving
    moved = client.post("/v1/prompts/answer/promote", json={"version": version}, headers=admin)
    assert moved.status_code == 200 and moved.json()["label"] == "production" and moved.json()["previous"] is None
    promoted = _ask(client, keys["read"])
    assert promoted["prompt_version"] == f"answer@{version}" and MARK in _last_system(quarry)
    client.post("/v1/prompts/answer/promote", json={"version": 4}, headers=admin)
    client.post("/v1/prompts/answer/promote", json={"version": version}, headers=admin)
    back = client.post("/v1/prompts/answer/rollback", json={}, headers=admin)
    assert back.status_code == 200 and back.json()["version"] == 4
    assert _ask(client, keys["read"])["prompt_version"] == "answer@4"
    again = client.post("/v1/prompts/answer/rollback", json={}, headers=admin)
    assert again.json()["version"] == version  # the promotion before that one
    unset = client.post("/v1/prompts/answer/rollback", json={}, headers=admin)
    assert unset.json()["version"] == 0 and _ask(client, keys["read"])["prompt_version"] == "answer@4"
    final = client.post("/v1/prompts/answer/rollback", json={}, headers=admin)
    assert final.status_code == 409 and "no earlier version" in final.json()["error"]["message"]
    diff = client.get(f"/v1/prompts/answer/diff?old=4&new={version}", headers=admin).json()["diff"]
    assert f"+system: {MARK}" in diff
    client.post("/v1/prompts/answer/promote", json={"version": 4}, headers=admin)


def test_prompts_need_an_admin_key_for_every_collection_and_valid_variables(
    ops: tuple[TestClient, Quarry, dict[str, str]],
) -> None:
    client, _, keys = ops
    admin = {"Authorization": keys["admin"]}
    for who in ("read", "limited-admin"):
        assert client.get("/v1/prompts", headers={"Authorization": keys[who]}).status_code == 403
    listed = client.get("/v1/prompts", headers=admin).json()
    assert {"answer", "condense"} <= {p["name"] for p in listed}
    bad = {"system": "Be brief.", "user": "Context: {context}\nQ: {question}"}
    refused = client.post("/v1/prompts/answer/versions", json=bad, headers=admin)
    assert refused.status_code == 400 and "context" in refused.json()["error"]["message"]
    missing = {"system": "Be brief.", "user": "Q: {question}"}
    refused = client.post("/v1/prompts/answer/versions", json=missing, headers=admin)
    assert refused.status_code == 400 and "sources" in refused.json()["error"]["message"]
    assert client.get("/v1/prompts/answer/versions/99", headers=admin).status_code == 404


def test_feedback_is_tied_to_a_trace_the_key_may_see(ops: tuple[TestClient, Quarry, dict[str, str]]) -> None:
    client, _, keys = ops
    answer = _ask(client, keys["read"])
    trace_id = str(answer["trace_id"])
    given = client.post("/v1/feedback", json={"trace_id": trace_id, "rating": "down", "correction": "It is 27 days."},
                        headers={"Authorization": keys["read"]})  # fmt: skip
    assert given.status_code == 201 and given.json()["rating"] == "down"
    shown = client.get(f"/v1/traces/{trace_id}", headers={"Authorization": keys["read"]}).json()
    assert shown["feedback"][0]["correction"] == "It is 27 days."
    other = f"Bearer {client.app.state.ctx.keys.create('read')[1]}"  # type: ignore[attr-defined]
    hidden = client.post("/v1/feedback", json={"trace_id": trace_id, "rating": "up"}, headers={"Authorization": other})
    assert hidden.status_code == 404
    empty = client.post("/v1/feedback", json={"trace_id": trace_id}, headers={"Authorization": keys["read"]})
    assert empty.status_code == 422
    liked = _ask(client, keys["read"])
    client.post("/v1/feedback", json={"trace_id": liked["trace_id"], "rating": "up"},
                headers={"Authorization": keys["read"]})  # fmt: skip
    exported = client.get("/v1/feedback/export", headers={"Authorization": keys["admin"]})
    cases = {c["metadata"]["trace_id"]: c for c in map(json.loads, exported.text.splitlines())}
    assert cases[trace_id]["answers"] == ["It is 27 days."] and cases[trace_id]["split"] == "feedback"
    assert cases[str(liked["trace_id"])]["answers"] == [liked["text"]]
    assert cases[trace_id]["gold_docs"] and cases[trace_id]["question"] == QUESTION
    assert client.get("/v1/feedback/export", headers={"Authorization": keys["read"]}).status_code == 403
    unknown = client.post("/v1/feedback", json={"trace_id": "0" * 32, "rating": "up"},
                          headers={"Authorization": keys["read"]})  # fmt: skip
    assert unknown.status_code == 404


def test_an_experiment_keeps_sessions_on_a_variant_and_its_stop_rule_rolls_back(
    ops: tuple[TestClient, Quarry, dict[str, str]],
) -> None:
    client, _, keys = ops
    version = _new_version(client, keys["admin"])  # its own version: the tests run in any order
    admin = {"Authorization": keys["admin"]}
    variants = [{"name": "control", "prompt": "answer@4", "weight": 1},
                {"name": "captain", "prompt": f"answer@{version}", "weight": 1}]  # fmt: skip
    body = {"name": "captain-ab", "prompt": "answer", "guard_metric": "negative_feedback", "margin": 0.1,
            "min_requests": 12, "variants": variants}  # fmt: skip
    assert client.post("/v1/experiments", json=body, headers=admin).status_code == 201
    assert client.post("/v1/experiments", json=body | {"name": "second"}, headers=admin).status_code == 409
    seen: dict[str, set[str]] = {}
    reader = {"Authorization": keys["read"]}
    for n in range(80):  # 40 sessions, twice each: the split depends on the (random) key id, so enough of them
        session = f"user-{n % 40}"
        answer = _ask(client, keys["read"], session)
        trace = client.get(f"/v1/traces/{answer['trace_id']}", headers=reader).json()
        if trace["attributes"].get("experiment") == "captain-ab":  # the server may roll it back during the loop
            seen.setdefault(session, set()).add(str(answer["prompt_version"]))
        rating = "down" if answer["prompt_version"] != "answer@4" else "up"  # users dislike the captain
        client.post("/v1/feedback", json={"trace_id": answer["trace_id"], "rating": rating}, headers=reader)
    assert all(len(versions) == 1 for versions in seen.values())  # sticky per session while it ran
    assert {v for vs in seen.values() for v in vs} == {"answer@4", f"answer@{version}"}
    report = client.get("/v1/experiments/captain-ab", headers=admin).json()
    assert report["status"] == "rolled_back" and "negative_feedback" in report["reason"]
    captain = next(v for v in report["variants"] if v["variant"] == "captain")
    assert captain["requests"] >= 12 and captain["negative_feedback_rate"] == 1.0
    assert {c["metric"] for c in report["comparisons"]} == {"supported", "abstention", "error", "negative_feedback"}
    assert all(_ask(client, keys["read"], f"user-{n}")["prompt_version"] == "answer@4" for n in range(5))


def test_an_experiment_arm_may_change_generation_settings(ops: tuple[TestClient, Quarry, dict[str, str]]) -> None:
    client, _, keys = ops
    admin = {"Authorization": keys["admin"]}
    quote = {"name": "quote", "prompt": "answer@4", "weight": 1, "settings": {"answer_mode": "extract"}}
    variants = [{"name": "model", "prompt": "answer@4", "weight": 1}, quote]
    bad = [variants[0], {**variants[1], "settings": {"answer_mod": "extract"}}]
    refused = client.post("/v1/experiments", json={"name": "typo", "variants": bad}, headers=admin)
    assert refused.status_code == 400 and "answer_mod" in refused.json()["error"]["message"]
    assert (
        client.post("/v1/experiments", json={"name": "modes", "variants": variants}, headers=admin).status_code == 201
    )
    methods = {str(_ask(client, keys["read"], f"person-{n}")["method"]) for n in range(16)}
    assert methods == {"generated", "extractive"}  # each arm answers its own way; the cache keeps them apart
    report = client.post("/v1/experiments/modes/stop", headers=admin).json()
    assert report["status"] == "stopped" and report["variants"][1]["settings"] == {"answer_mode": "extract"}


def test_an_experiment_arm_may_use_another_chat_model(ops: tuple[TestClient, Quarry, dict[str, str]]) -> None:
    client, quarry, keys = ops
    admin = {"Authorization": keys["admin"]}
    quarry.__dict__["_arm_models"] = {"bigger": ScriptedChatModel(default=reply, model="bigger")}
    other = {"name": "bigger", "prompt": "answer@4", "weight": 1, "settings": {"model": "bigger"}}
    body = {"name": "models", "variants": [{"name": "base", "prompt": "answer@4", "weight": 1}, other]}
    assert client.post("/v1/experiments", json=body, headers=admin).status_code == 201
    models = {str(_ask(client, keys["read"], f"visitor-{n}")["model"]) for n in range(16)}
    assert models == {"scripted", "bigger"}
    client.post("/v1/experiments/models/stop", headers=admin)


def test_an_experiment_arm_may_change_retrieval_settings(ops: tuple[TestClient, Quarry, dict[str, str]]) -> None:
    client, quarry, keys = ops
    admin = {"Authorization": keys["admin"]}
    lexical = {"name": "lexical", "prompt": "answer@4", "weight": 1, "settings": {"retrieval.mode": "bm25"}}
    typo = {**lexical, "settings": {"retrieval.mood": "bm25"}}
    arms = [{"name": "hybrid", "prompt": "answer@4", "weight": 1}]
    refused = client.post("/v1/experiments", json={"name": "typo2", "variants": [*arms, typo]}, headers=admin)
    assert refused.status_code == 400 and "mood" in refused.json()["error"]["message"]
    assert (
        client.post("/v1/experiments", json={"name": "paths", "variants": [*arms, lexical]}, headers=admin).status_code
        == 201
    )
    stages: dict[str, set[str]] = {}
    for n in range(16):  # a question not asked before, so each arm's first answer retrieves (later ones are cached)
        body = {"collection": "s", "question": "What is the daily meal allowance when travelling?", "session": f"r{n}"}
        answer = client.post("/v1/answer", json=body, headers={"Authorization": keys["read"]}).json()
        trace = client.get(f"/v1/traces/{answer['trace_id']}", headers={"Authorization": keys["read"]}).json()
        if not trace["attributes"].get("cached"):
            stages.setdefault(trace["attributes"]["variant"], set()).update(s["name"] for s in trace["spans"])
    assert "dense" in " ".join(stages["hybrid"]) and "dense" not in " ".join(stages["lexical"])
    assert quarry.searcher.settings.mode == "hybrid"  # the shared searcher is untouched
    client.post("/v1/experiments/paths/stop", headers=admin)


def test_the_model_registry_over_http(ops: tuple[TestClient, Quarry, dict[str, str]]) -> None:
    from quarry.assembly.tuning import model_registry
    from quarry.stores.models import ModelEntry

    client, quarry, auth = ops
    registry = model_registry(quarry)
    base = registry.ensure_base("chat", model_id="local:smollm2", kind="chat")
    candidate = quarry.model_store.add(ModelEntry("chat", "adapter", "local:smollm2+lora.x", lineage={"steps": 8}))
    scores = {f"q{i}": float(i % 2) for i in range(20)}
    registry.attach_evaluation(base.id, "dev-test:format", "format", scores)
    registry.attach_evaluation(candidate.id, "dev-test:format", "format", scores)  # no better
    admin = {"Authorization": auth["admin"]}
    for who in ("read", "limited-admin"):
        assert client.get("/v1/model-registry", headers={"Authorization": auth[who]}).status_code == 403
    listed = {row["id"]: row for row in client.get("/v1/model-registry", headers=admin).json()}
    assert listed["chat@v1"]["status"] == "production" and listed["chat@v2"]["status"] == "candidate"
    assert listed["chat@v2"]["evaluations"] == {"dev-test:format": 0.5}
    assert any(row["kind"] == "prompt" and row["status"] == "production" for row in listed.values())
    shown = client.get("/v1/model-registry/chat@v2", headers=admin).json()
    assert shown["lineage"] == {"steps": 8} and shown["evaluations"]["dev-test:format"]["questions"] == 20
    assert client.get("/v1/model-registry/chat@v9", headers=admin).status_code == 404
    refused = client.post("/v1/model-registry/chat@v2/promote", json={}, headers=admin)
    assert refused.status_code == 409 and "not significantly better" in refused.json()["error"]["message"]
    forced = client.post("/v1/model-registry/chat@v2/promote", json={"force": True, "note": "try"}, headers=admin)
    assert forced.status_code == 200 and forced.json()["move"]["forced"] is True
    assert forced.json()["gate"]["p_value"] == 1.0
    back = client.post("/v1/model-registry/rollback", json={"target": "chat"}, headers=admin)
    assert back.status_code == 200 and back.json()["move"]["entry"] == "chat@v1"
    history = client.get("/v1/model-registry/chat@v1", headers=admin).json()["moves"]
    assert [m["entry"] for m in history] == ["chat@v1", "chat@v2", "chat@v1"] and history[0]["rollback"]
