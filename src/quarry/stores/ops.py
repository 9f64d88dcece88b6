"""Operations state: prompt versions and labels, experiments, and user feedback — one small protocol each.

The SQLite adapters live in :mod:`quarry.stores.sqlite.ops` (one file beside the store, ``<store>.ops.db``);
another engine is another adapter of these protocols.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

__all__ = [
    "Experiment",
    "ExperimentStore",
    "Feedback",
    "FeedbackStore",
    "LabelMove",
    "PromptStore",
    "StoredPrompt",
    "Variant",
]


@dataclass(frozen=True, slots=True)
class StoredPrompt:
    """One immutable version of a named prompt: its template fields and typed variables."""

    name: str
    version: int
    system: str
    user: str
    variables: Mapping[str, str]  # name -> type (str, int, float, bool)
    description: str = ""
    abstain_marker: str = "I don't know"
    source_titles: bool = True
    stop: tuple[str, ...] = ()
    created_at: float = 0.0
    created_by: str = ""


@dataclass(frozen=True, slots=True)
class LabelMove:
    """A label pointed at ``version`` (``previous`` before), by whom and when; rollbacks are moves too."""

    name: str
    label: str
    version: int
    previous: int | None
    at: float
    by: str = ""
    note: str = ""


class PromptStore(Protocol):
    def add(self, prompt: StoredPrompt, *, floor: int = 0) -> StoredPrompt:
        """Store a new version: ``prompt.version`` is ignored and the next number above both the stored
        versions and ``floor`` (versions that exist elsewhere, e.g. shipped files) is assigned."""
        ...

    def get(self, name: str, version: int) -> StoredPrompt | None: ...

    def versions(self, name: str | None = None) -> list[StoredPrompt]:
        """Stored versions (of ``name``, or all), by name then version."""
        ...

    def move_label(self, name: str, label: str, version: int, *, by: str = "", note: str = "") -> LabelMove: ...

    def labels(self, name: str) -> dict[str, int]:
        """Each label of ``name`` and the version it points at now."""
        ...

    def history(self, name: str, label: str) -> list[LabelMove]:
        """Moves of one label, newest first."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Variant:
    """One arm: a prompt version, its share of traffic, and ``[generation]`` settings it changes (e.g. ``k``,
    ``max_sources``, ``max_tokens``, ``answer_mode``) — so an experiment can compare settings as well as prompts."""

    name: str
    prompt: str  # a prompt ref, name@version
    weight: float
    settings: Mapping[str, object] = field(default_factory=dict)


ExperimentStatus = Literal["running", "stopped", "rolled_back"]


@dataclass(frozen=True, slots=True)
class Experiment:
    """Traffic for prompt ``prompt`` split between ``variants`` by weight; the first variant is the control.

    The stop rule: once every variant has ``min_requests``, a variant whose ``guard_metric`` (a rate where higher
    is worse: ``negative_feedback``, ``error``, ``abstention``) exceeds the control's by more than ``margin``
    with p < ``alpha`` rolls the experiment back (all traffic to the control) and records why."""

    name: str
    prompt: str
    variants: tuple[Variant, ...]
    guard_metric: str = "negative_feedback"
    margin: float = 0.05
    min_requests: int = 100
    alpha: float = 0.05
    status: ExperimentStatus = "running"
    reason: str = ""
    created_at: float = 0.0
    ended_at: float | None = None
    collections: tuple[str, ...] = field(default_factory=tuple)  # empty = every collection


class ExperimentStore(Protocol):
    def create(self, experiment: Experiment) -> Experiment:
        """Store a new experiment; StoreError if the name exists or another runs on the same prompt."""
        ...

    def get(self, name: str) -> Experiment | None: ...

    def list(self) -> list[Experiment]: ...

    def running(self, prompt: str) -> Experiment | None:
        """The experiment running on prompt name ``prompt``, if any."""
        ...

    def end(self, name: str, status: ExperimentStatus, reason: str) -> Experiment: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Feedback:
    """What a user said about one answer (its trace): thumbs, a score, words, a correction."""

    id: str
    trace_id: str
    rating: Literal["up", "down"] | None
    score: float | None
    comment: str
    correction: str
    key_id: str
    principals: tuple[str, ...]
    created_at: float


class FeedbackStore(Protocol):
    def add(self, feedback: Feedback) -> Feedback: ...

    def for_traces(self, trace_ids: Sequence[str]) -> dict[str, list[Feedback]]:
        """Feedback per trace id (only ids that have some)."""
        ...

    def recent(self, limit: int = 100) -> list[Feedback]: ...

    def close(self) -> None: ...
