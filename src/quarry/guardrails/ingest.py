"""The guards at ingest (:class:`~quarry.pipeline.screen.IngestScreen`): redact personal data, flag planted
instructions.

- ``document``: with ``pii`` among the guards and ``[guardrails.pii] redact_at_ingest = true``, the document's
  text and title are stored with personal data replaced by ``<ENTITY>`` (page spans remapped to the new
  offsets), so the original is never written anywhere — not the store, not the embedding cache, not a trace.
- ``chunks``: every chunk is checked by the injection rules (the probe is for questions: on document genres it
  was not trained on it fires on ordinary text). Chunks that score at or above the threshold get the
  ``injection`` flag (and ``banned_terms`` when that guard runs and matches).
  One ``guard.<name>`` span per batch records how many chunks were checked and flagged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from quarry.guardrails.base import GuardContext
from quarry.guardrails.injection import InjectionGuard, rule_matches
from quarry.guardrails.pii import find_pii, redact, remap_offset
from quarry.guardrails.runner import Guardrails
from quarry.tracing import Trace
from quarry.types import Chunk, Document, Matrix, PageSpan

__all__ = ["IngestGuards"]


class IngestGuards:
    def __init__(self, guardrails: Guardrails) -> None:
        self.guardrails = guardrails

    @property
    def fingerprint(self) -> str:
        s = self.guardrails.settings
        scoped = {name: (c.guards, c.actions) for name, c in sorted(s.collections.items())}
        return json.dumps([s.guards, s.pii.redact_at_ingest, s.pii.entities, s.pii.min_score, s.banned.terms,
                           s.banned.topics, scoped], sort_keys=True, default=str)  # fmt: skip

    def document(self, collection: str, document: Document, trace: Trace) -> Document:
        settings = self.guardrails.for_collection(collection).settings
        if "pii" not in settings.guards or not settings.pii.redact_at_ingest:
            return document
        with trace.stage("guard.pii") as span:
            entities, floor = settings.pii.entities, settings.pii.min_score
            spans = find_pii(document.text, entities, floor)
            title_spans = find_pii(document.title, entities, floor) if document.title else []
            span.attributes.update(stage="ingest", action="redact")
            span.add(checks=1, fired=int(bool(spans or title_spans)), redacted=len(spans) + len(title_spans))
        if not spans and not title_spans:
            return document
        pages = tuple(PageSpan(p.number, remap_offset(p.start, spans), remap_offset(p.end, spans))
                      for p in document.pages)  # fmt: skip
        return replace(document, text=redact(document.text, spans), title=redact(document.title, title_spans),
                       pages=pages)  # fmt: skip

    def chunks(self, collection: str, chunks: Sequence[Chunk], vectors: Matrix, trace: Trace) -> list[Chunk]:
        guards = self.guardrails.for_collection(collection)
        names = guards.active("retrieval")
        if "injection" not in names and "banned_terms" not in names:
            return list(chunks)
        injection = guards.guard("injection")
        assert isinstance(injection, InjectionGuard)
        flagged: list[Chunk] = []
        with trace.stage("guard.injection") as span:
            for chunk in chunks:
                flags: list[str] = []
                rules = rule_matches(chunk.text) if "injection" in names else {}
                if max(rules.values(), default=0.0) >= injection.threshold:
                    flags.append("injection")
                if "banned_terms" in names and guards.guard("banned_terms").check(chunk.text, _INGEST).triggered:
                    flags.append("banned_terms")
                flagged.append(replace(chunk, flags=tuple(flags)) if flags else chunk)
            span.attributes.update(stage="ingest", action="flag")
            span.add(checks=len(chunks), fired=sum(bool(c.flags) for c in flagged))
        return flagged


_INGEST = GuardContext("retrieval")
