"""Traces made of spans: a root span per run (ingest, search, answer) with a child per stage.

A *stage* span accumulates: every ``with trace.stage("embed", items=32)`` adds its duration, one
call and its counters to the same span, so a run over 5,000 documents stays a readable tree.
Stages nest: a stage opened while another is open on the same thread becomes its child (an answer's
``retrieve`` holds ``embed``, ``retrieve.bm25``, ``retrieve.dense`` and ``fuse``); work handed to
another thread passes ``parent=trace.current()`` to keep its place in the tree.
Finished traces go to every :class:`SpanSink` (the local store, an OpenTelemetry exporter).
A trace whose consumer stops early (a closed generator, a client that hung up) is marked
``cancelled``, not failed.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

__all__ = ["Span", "SpanSink", "Trace", "Tracer", "span_dict"]


@dataclass
class Span:
    name: str
    span_id: str
    parent_id: str | None
    start: float
    duration: float = 0.0
    calls: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "error" if self.errors else "ok"

    def add(self, **counters: float) -> None:
        """Add numeric counters (``items=32``) to this span's attributes."""
        for key, value in counters.items():
            self.attributes[key] = self.attributes.get(key, 0) + value


@dataclass
class Trace:
    trace_id: str
    kind: str
    root: Span
    spans: list[Span] = field(default_factory=list)
    _stages: dict[str, Span] = field(default_factory=dict, repr=False)
    _open: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def duration(self) -> float:
        return self.root.duration

    def current(self) -> Span:
        """The innermost stage open on this thread (the root when none is)."""
        stack: list[Span] = getattr(self._open, "stack", [])
        return stack[-1] if stack else self.root

    @contextmanager
    def stage(self, name: str, *, parent: Span | None = None, **counters: float) -> Iterator[Span]:
        """Time one pass of stage ``name``; passes of the same stage share a span. The span's parent is
        ``parent``, else the stage open on this thread, else the root (fixed when the span is created)."""
        span = self._stages.get(name)
        if span is None:
            span = Span(name, _new_id(), (parent or self.current()).span_id, time.time())
            self._stages[name] = span
            self.spans.append(span)
        stack: list[Span] = self._open.__dict__.setdefault("stack", [])
        stack.append(span)
        began = time.perf_counter()
        try:
            yield span
        except Exception as exc:
            span.errors.append(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            stack.pop()
            span.duration += time.perf_counter() - began
            span.calls += 1
            span.add(**counters)

    def record(self, name: str, start: float, duration: float, **attributes: object) -> Span:
        """Add a finished span (work timed elsewhere, e.g. a model load) under the current stage."""
        span = Span(name, _new_id(), self.current().span_id, start, duration, 1, dict(attributes))
        self.spans.append(span)
        return span

    def error(self, stage: str, message: str) -> None:
        """Record an error that was handled (a skipped file) on stage ``stage``."""
        with self.stage(stage) as span:
            span.errors.append(message)
            span.calls -= 1


_SPAN_FIELDS = ("name", "span_id", "parent_id", "start", "duration", "calls", "attributes", "errors")


def span_dict(span: Span) -> dict[str, object]:
    """The span as stored: its fields, JSON-ready."""
    data = asdict(span)
    return {name: data[name] for name in _SPAN_FIELDS}


class SpanSink(Protocol):
    """Receives finished traces."""

    def save_trace(self, trace: Trace) -> None: ...


class Tracer:
    """Opens traces and hands each finished one to the sinks."""

    def __init__(self, sinks: Sequence[SpanSink] = ()) -> None:
        self.sinks = list(sinks)

    @contextmanager
    def trace(self, kind: str, name: str, **attributes: Any) -> Iterator[Trace]:
        root = Span(name, _new_id(), None, time.time(), calls=1, attributes=dict(attributes))
        trace = Trace(trace_id=uuid.uuid4().hex, kind=kind, root=root, spans=[root])
        began = time.perf_counter()
        try:
            yield trace
        except GeneratorExit:
            root.attributes["cancelled"] = True
            raise
        except BaseException as exc:
            root.errors.append(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            root.duration = time.perf_counter() - began
            for sink in self.sinks:
                sink.save_trace(trace)


def _new_id() -> str:
    return uuid.uuid4().hex[:16]
