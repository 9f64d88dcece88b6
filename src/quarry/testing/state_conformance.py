"""Conformance suites for the API's shared state: :class:`~quarry.stores.keys.KeyStore` and
:class:`~quarry.stores.jobs.JobStore` adapters (override the ``keys`` / ``jobs`` fixtures)."""

from __future__ import annotations

import time

import pytest

from quarry.errors import ConfigError
from quarry.stores.jobs import Job, JobStore
from quarry.stores.keys import KeyStore

__all__ = ["JobStoreConformance", "KeyStoreConformance"]


class KeyStoreConformance:
    @pytest.fixture
    def keys(self) -> KeyStore:
        """Override with a fixture yielding a fresh key store (and closing it afterwards)."""
        raise NotImplementedError("override the `keys` fixture in your KeyStoreConformance subclass")

    def test_a_token_verifies_to_its_key_until_revoked(self, keys: KeyStore) -> None:
        key, token = keys.create("write", collections=["hr"], principals=["group:hr", "user:ann", "user:ann"])
        assert token.startswith(f"qk_{key.id}_")
        assert len(token) > 40
        found = keys.verify(token)
        assert found == key
        assert found.principals == ("group:hr", "user:ann")
        assert found.may_use("hr")
        assert not found.may_use("other")
        assert found.allows("read")
        assert not found.allows("admin")
        assert keys.revoke(key.id)
        assert not keys.revoke(key.id)
        assert keys.verify(token) is None
        (listed,) = keys.list()
        assert listed.id == key.id
        assert listed.revoked_at is not None

    def test_forged_and_malformed_tokens_fail(self, keys: KeyStore) -> None:
        key, token = keys.create("read")
        assert keys.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert keys.verify(f"qk_{key.id}") is None
        assert keys.verify("") is None
        assert keys.verify("x" * 500) is None
        assert keys.verify(f"qk_ffffffffffff_{token.split('_', 2)[2]}") is None
        with pytest.raises(ConfigError, match="unknown scope"):
            keys.create("root")

    def test_keys_are_listed_oldest_first(self, keys: KeyStore) -> None:
        made = [keys.create(scope, note=scope)[0] for scope in ("read", "write", "admin")]
        assert [k.id for k in keys.list()] == [k.id for k in made]
        assert keys.list()[2].note == "admin"


class JobStoreConformance:
    @pytest.fixture
    def jobs(self) -> JobStore:
        """Override with a fixture yielding a fresh job store (and closing it afterwards)."""
        raise NotImplementedError("override the `jobs` fixture in your JobStoreConformance subclass")

    def test_jobs_round_trip_and_list_newest_first(self, jobs: JobStore) -> None:
        first = Job("j1", "upload", "docs", "key-a", "req-1", created_at=time.time() - 5)
        second = Job("j2", "path", "docs", "key-b", "req-2")
        jobs.add(first)
        jobs.add(second)
        second.status, second.started_at, second.total = "running", time.time(), 3
        second.units, second.chunks = {"new": 2}, 7
        second.errors = [{"uri": "a.pdf", "reason": "encrypted", "kind": "encrypted"}]
        jobs.save(second)
        found = jobs.get("j2")
        assert found is not None
        assert found.status == "running"
        assert found.done == 2
        assert found.chunks == 7
        assert found.errors[0]["reason"] == "encrypted"
        assert found.total == 3
        assert found.report is None
        assert [j.id for j in jobs.list(None, 10)] == ["j2", "j1"]
        assert [j.id for j in jobs.list("key-a", 10)] == ["j1"]
        assert jobs.list(None, 1)[0].id == "j2"
        assert jobs.get("nope") is None

    def test_unfinished_jobs_of_this_process_fail_at_shutdown(self, jobs: JobStore) -> None:
        jobs.add(Job("q", "upload", "docs", "k", "r"))
        done = Job("d", "upload", "docs", "k", "r", status="succeeded", finished_at=time.time())
        jobs.add(done)
        assert jobs.fail_unfinished() == 1
        failed = jobs.get("q")
        assert failed is not None
        assert failed.status == "failed"
        assert "interrupted" in failed.message
        finished = jobs.get("d")
        assert finished is not None
        assert finished.status == "succeeded"
        assert jobs.fail_orphans() == 0  # this process is alive

    def test_a_queued_job_is_nobodys_until_one_process_claims_it(self, jobs: JobStore) -> None:
        jobs.add(Job("shared", "upload", "docs", "k", "r"), owned=False)
        assert jobs.fail_unfinished() == 0  # not this process's: another replica may still take it
        assert jobs.fail_orphans() == 0  # nor a dead process's
        assert jobs.claim("shared") is True
        assert jobs.claim("shared") is False  # taken once
        claimed = jobs.get("shared")
        assert claimed is not None
        assert claimed.status == "running"
        assert claimed.started_at is not None
        assert jobs.fail_unfinished() == 1  # now it is this process's
        assert jobs.claim("nope") is False
