"""The answer pipeline's guard points: the question (input), the retrieved passages (retrieval), the answer (output).

- A question a guard blocks is refused without retrieval or a model call (``REFUSAL`` and the guard's reason);
  a redacted question (personal data) goes on in its redacted form.
- A passage flagged as planted instructions — at ingest (the chunk's ``injection`` flag) or now — is left out
  (``quarantine``: neither the model nor a quote sees it) or shown to the model inside data markers with a note
  that it is data (``spotlight``).
- The answer's links and images are neutralised (:func:`~quarry.guardrails.neutralise_links`), then the output
  guards run: a block replaces the answer with a refusal, a redaction replaces it with the redacted text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from quarry.generation.extractive import Quote
from quarry.generation.packing import PackedSource
from quarry.guardrails import GuardContext, Guardrails, neutralise_links
from quarry.tracing import Trace

__all__ = ["REFUSAL", "Guarded", "guard_answer", "guard_question", "guard_sources", "holds_output", "scrub"]

REFUSAL = "I can't help with that"
INJECTION_FLAG = "injection"


@dataclass(frozen=True, slots=True)
class Guarded:
    text: str
    refusal: str = ""  # why it was refused ("" when it was not)
    flags: tuple[str, ...] = ()


def guard_question(guards: Guardrails | None, collection: str, question: str, trace: Trace) -> Guarded:
    if guards is None:
        return Guarded(question)
    outcome = guards.check("input", question, GuardContext("input", collection), trace)
    if outcome.blocked is not None:
        return Guarded(question, f"{REFUSAL}: {outcome.blocked.reason}", outcome.flags)
    return Guarded(outcome.text, "", outcome.flags)


def _flagged(guards: Guardrails, collection: str, source: PackedSource, trace: Trace) -> bool:
    if any(INJECTION_FLAG in chunk.flags for chunk in source.chunks):
        return True
    outcome = guards.check("retrieval", source.text, GuardContext("retrieval", collection), trace)
    return any(v.guard == INJECTION_FLAG and v.triggered for v in outcome.verdicts)


def guard_sources(
    guards: Guardrails | None,
    collection: str,
    sources: Sequence[PackedSource],
    extra: Sequence[PackedSource],
    quotes: Sequence[Quote],
    trace: Trace,
) -> tuple[list[PackedSource], list[PackedSource], list[Quote], int]:
    """``(sources, extra, quotes, flagged)`` with flagged passages quarantined or spotlighted (renumbered)."""
    if guards is None or guards.settings.retrieval == "off":
        return list(sources), list(extra), list(quotes), 0
    flagged = {s.number for s in [*sources, *extra] if _flagged(guards, collection, s, trace)}
    if not flagged:
        return list(sources), list(extra), list(quotes), 0
    if guards.settings.retrieval == "spotlight":
        for source in [*sources, *extra]:
            source.untrusted = source.number in flagged
        return list(sources), list(extra), list(quotes), len(flagged)
    kept = [s for s in sources if s.number not in flagged]
    rest = [s for s in extra if s.number not in flagged]
    renumber = {s.number: n for n, s in enumerate([*kept, *rest], 1)}
    for source in [*kept, *rest]:
        source.number = renumber[source.number]
    kept_quotes = [replace(q, source=renumber[q.source]) for q in quotes if q.source in renumber]
    return kept, rest, kept_quotes, len(flagged)


def guard_answer(
    guards: Guardrails | None,
    collection: str,
    text: str,
    *,
    supported: bool,
    system_prompt: str,
    cited: Sequence[str],
    trace: Trace,
) -> Guarded:
    hosts = {urlsplit(uri).hostname or "" for uri in cited if "://" in uri}
    safe = neutralise_links(text, hosts - {""})
    if guards is None:
        return Guarded(safe)
    context = GuardContext("output", collection, system_prompt=system_prompt, supported=supported)
    outcome = guards.check("output", safe, context, trace)
    if outcome.blocked is not None:
        return Guarded(safe, f"{REFUSAL}: {outcome.blocked.reason}", outcome.flags)
    return Guarded(outcome.text, "", outcome.flags)


def holds_output(guards: Guardrails | None) -> bool:
    """Whether answers are redacted on the way out (the pii guard runs on output with ``redact``): then the
    answer is not streamed token by token, and what the model wrote is redacted wherever it is kept."""
    return guards is not None and "pii" in guards.active("output") and guards.settings.actions.get("pii") == "redact"


def scrub(guards: Guardrails | None, collection: str, text: str) -> str:
    """``text`` with personal data redacted (unchanged when the pii guard does not redact output)."""
    if guards is None or not holds_output(guards) or not text:
        return text
    verdict = guards.guard("pii").check(text, GuardContext("output", collection))
    return verdict.text if verdict.triggered and verdict.text is not None else text
