"""Access logs: one JSON line per request (time, method, path, status, latency, request, key and trace ids).

The middleware opens a :class:`RequestRecord` per request; the caller dependency and the trace tagger fill
in the key and trace ids (the record is shared through a context variable, so a handler running in the
threadpool writes into the same object); the line is written when the response is done.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["ACCESS", "RequestRecord", "enable_access_log", "write_access_line"]

access_log = logging.getLogger("quarry.access")


@dataclass
class RequestRecord:
    key_id: str = ""
    trace_id: str = ""


ACCESS: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar("quarry_access", default=None)


def enable_access_log() -> None:
    """Send access lines to stdout as plain JSON (idempotent; replaces nothing another handler set up)."""
    if any(getattr(h, "quarry_access", False) for h in access_log.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.quarry_access = True  # type: ignore[attr-defined]
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


def write_access_line(
    method: str, path: str, status: int, seconds: float, request_id: str, record: RequestRecord
) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    line = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "event": "request",
        "method": method,
        "path": path,
        "status": status,
        "ms": round(seconds * 1000, 2),
        "request_id": request_id,
        "key_id": record.key_id or None,
        "trace_id": record.trace_id or None,
    }
    access_log.info(json.dumps(line, separators=(",", ":")))
