"""What an ingest job ingests, as data: an upload's files, a URL, or a server path. A spec travels through the job
queue (``[api] redis_url``) to whichever replica takes the job, which builds the source from it there; without a
queue the accepting process builds it. JSON with base64 file bytes — never pickle, which would let whoever can
write to Redis run code in every replica."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from quarry.api.sources import GuardedUrlSource, UploadSource
from quarry.ingest.sources import Source, open_source
from quarry.settings import Settings

__all__ = ["JobSpec", "build_source"]


@dataclass(frozen=True, slots=True)
class JobSpec:
    kind: str  # "upload" | "url" | "path"
    collection: str
    files: tuple[tuple[str, bytes], ...] = ()
    principals: tuple[str, ...] = ()
    target: str = ""  # the URL or the (already allowed) server path

    def to_bytes(self) -> bytes:
        files = [[name, base64.b64encode(data).decode()] for name, data in self.files]
        body = {"kind": self.kind, "collection": self.collection, "files": files,
                "principals": list(self.principals), "target": self.target}  # fmt: skip
        return json.dumps(body).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> JobSpec:
        body = json.loads(raw)
        files = tuple((str(name), base64.b64decode(data)) for name, data in body["files"])
        return cls(body["kind"], body["collection"], files, tuple(body["principals"]), body["target"])


def build_source(spec: JobSpec, settings: Settings) -> Source:
    """The source a spec names, with this process's limits (URLs are checked again at every hop)."""
    ingest = settings.ingest
    max_bytes = int(ingest.max_file_mb * 1e6)
    if spec.kind == "upload":
        return UploadSource(spec.collection, list(spec.files), list(spec.principals))
    if spec.kind == "url":
        return GuardedUrlSource(spec.target, settings.api, max_bytes=max_bytes, timeout_s=ingest.url_timeout_s,
                                deadline_s=ingest.url_deadline_s)  # fmt: skip
    return open_source(str(Path(spec.target)), include=ingest.include, exclude=ingest.exclude, max_bytes=max_bytes)
