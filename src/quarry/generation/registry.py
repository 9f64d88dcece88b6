"""The prompt registry: named, versioned templates with typed variables, labels, and A/B experiments.

Versions are immutable. Shipped versions (``prompts/<name>@<n>.toml``) and versions created at run time (kept
in a :class:`~quarry.stores.ops.PromptStore`, numbered after the shipped ones) are addressed alike,
``name@version``. Labels (``production``, ``staging``, any name) point at versions and move with ``promote``
and ``rollback``; every move is kept. The answer pipeline resolves the configured prompt per request:

- ``name@version`` is pinned;
- ``name`` is the experiment running on it, if any (a sticky variant per subject), else the version its
  default label points at, else the newest *shipped* version (a created version serves nothing until promoted).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from quarry.errors import ConfigError
from quarry.generation.prompts import DEFAULT_ABSTAIN_MARKER, PromptTemplate, available_prompts, load_prompt
from quarry.settings import GenerationSettings, RetrievalSettings
from quarry.stores.ops import Experiment, ExperimentStore, LabelMove, PromptStore, StoredPrompt, Variant

__all__ = ["ANSWER_VARIABLES", "PromptRegistry", "PromptSummary", "Resolution", "assign_variant", "placeholders"]

VARIABLE_TYPES = ("str", "int", "float", "bool")
ANSWER_VARIABLES = {"question": "str", "sources": "str"}  # what the answer pipeline supplies
SUPPLIED = {"answer": ANSWER_VARIABLES, "condense": {"history": "str", "question": "str"}}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
UNSET = 0  # the version a label "points at" once rolled back past its first promotion


@dataclass(frozen=True, slots=True)
class PromptSummary:
    name: str
    versions: tuple[int, ...]
    labels: dict[str, int]
    serves: str  # name@version outside experiments
    experiment: str  # the running experiment's name, or ""


@dataclass(frozen=True, slots=True)
class Resolution:
    template: PromptTemplate
    experiment: str = ""
    variant: str = ""
    settings: Mapping[str, object] = field(default_factory=dict)  # the variant's [generation] overrides


def placeholders(*texts: str) -> set[str]:
    return {m for text in texts for m in _PLACEHOLDER.findall(text)}


def assign_variant(experiment: Experiment, subject: str) -> Variant:
    """The subject's variant: a hash of (experiment, subject) placed on the weights — sticky, and independent
    between experiments."""
    digest = hashlib.sha256(f"{experiment.name}\x00{subject}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * sum(v.weight for v in experiment.variants)
    edge = 0.0
    for variant in experiment.variants:
        edge += variant.weight
        if point < edge:
            return variant
    return experiment.variants[-1]


class PromptRegistry:
    def __init__(self, store: PromptStore, experiments: ExperimentStore, *, label: str = "production") -> None:
        self.store, self.experiments, self.label = store, experiments, label

    # -- versions --------------------------------------------------------------------------------------------

    def template(self, ref: str) -> PromptTemplate:
        """``name@version`` (stored or shipped); ``name`` alone is what it serves outside experiments (its label's
        version, else the newest shipped one)."""
        if "@" not in ref:
            return self._labelled(ref)
        name, _, number = ref.partition("@")
        stored = self.store.get(name, int(number)) if number.isdigit() else None
        return _template(stored) if stored is not None else load_prompt(ref)

    def names(self) -> list[str]:
        shipped = {ref.split("@")[0] for ref in available_prompts()}
        return sorted(shipped | {p.name for p in self.store.versions()})

    def versions(self, name: str) -> list[PromptTemplate]:
        """Every version of ``name``, oldest first (shipped, then created)."""
        shipped = [load_prompt(r) for r in available_prompts() if r.split("@")[0] == name]
        created = [_template(p) for p in self.store.versions(name)]
        if not shipped and not created:
            raise ConfigError(f"no prompt named {name!r}", key="prompt", hint="known: " + ", ".join(self.names()))
        return shipped + created

    def summary(self, name: str) -> PromptSummary:
        """What `prompts list` shows of one prompt: its versions, labels, the version it serves, an experiment."""
        running = self.experiments.running(name)
        versions = tuple(t.version for t in self.versions(name))
        return PromptSummary(
            name, versions, self.labels(name), self.template(name).ref, running.name if running else ""
        )

    def create(
        self,
        name: str,
        *,
        system: str,
        user: str,
        variables: Mapping[str, str] | None = None,
        description: str = "",
        abstain_marker: str = DEFAULT_ABSTAIN_MARKER,
        source_titles: bool = True,
        stop: tuple[str, ...] = (),
        by: str = "",
    ) -> PromptTemplate:
        """A new version of ``name`` after checking its variables (see :func:`check_variables`)."""
        if not _NAME.match(name):
            raise ConfigError(f"bad prompt name {name!r}", key="name", hint="lowercase letters, digits, - and _")
        declared = dict(variables) if variables is not None else dict(SUPPLIED.get(name, {}))
        check_variables(name, system, user, declared)
        shipped = [int(r.split("@")[1]) for r in available_prompts() if r.split("@")[0] == name]
        draft = StoredPrompt(name, 0, system, user, declared, description, abstain_marker, source_titles, stop,
                             created_by=by)  # fmt: skip
        return _template(self.store.add(draft, floor=max(shipped, default=0)))

    def diff(self, a: str, b: str) -> str:
        """A unified diff of two versions' fields."""
        left, right = self.template(a), self.template(b)
        return "".join(difflib.unified_diff(_lines(left), _lines(right), fromfile=left.ref, tofile=right.ref))

    # -- labels ----------------------------------------------------------------------------------------------

    def labels(self, name: str) -> dict[str, int]:
        """Labels that point at a version now (a label rolled back past its first promotion points at none)."""
        return {label: version for label, version in self.store.labels(name).items() if version != UNSET}

    def promote(self, name: str, version: int, *, label: str = "", by: str = "", note: str = "") -> LabelMove:
        self.template(f"{name}@{version}")  # exists (else ConfigError listing what does)
        return self.store.move_label(name, label or self.label, version, by=by, note=note or "promote")

    def rollback(self, name: str, *, label: str = "", by: str = "") -> LabelMove:
        """Point ``label`` back at the version it served before the current one (rollbacks undo promotions in
        order, so two rollbacks after promoting 5 then 6 lead to the version before 5; rolling back the first
        promotion unsets the label, and the name serves its newest shipped version again)."""
        label = label or self.label
        served: list[int] = []
        for move in reversed(self.store.history(name, label)):  # oldest first
            if move.note.startswith("rollback") and served:
                served.pop()
            else:
                served.append(move.version)
        if not served or served[-1] == UNSET:
            raise ConfigError(
                f"{name}:{label} has no earlier version to roll back to",
                key="label",
                hint=f"promote a version first: quarry prompts promote {name} VERSION --label {label}",
            )
        note = f"rollback from {served[-1]}"
        return self.store.move_label(name, label, served[-2] if len(served) > 1 else UNSET, by=by, note=note)

    # -- per request -----------------------------------------------------------------------------------------

    def resolve(self, configured: str, *, subject: str, collection: str = "") -> Resolution:
        if "@" in configured:
            return Resolution(self.template(configured))
        experiment = self.experiments.running(configured)
        if experiment is not None and (not experiment.collections or collection in experiment.collections):
            variant = assign_variant(experiment, subject)
            return Resolution(self.template(variant.prompt), experiment.name, variant.name, variant.settings)
        return Resolution(self._labelled(configured))

    def _labelled(self, name: str) -> PromptTemplate:
        version = self.labels(name).get(self.label)
        return self.template(f"{name}@{version}") if version is not None else load_prompt(name)


MODEL_KEY = "model"  # an arm's chat model (the configured provider's model name)
RETRIEVAL_PREFIX = "retrieval."  # an arm's [retrieval] settings, e.g. retrieval.mode; other keys are [generation]


def retrieval_overrides(settings: RetrievalSettings, overrides: Mapping[str, object]) -> RetrievalSettings:
    """``settings`` with an arm's ``retrieval.*`` changes (keys without the prefix), validated."""
    unknown = sorted(set(overrides) - set(RetrievalSettings.model_fields))
    if unknown:
        raise ConfigError(f"unknown [retrieval] setting(s) {', '.join(unknown)} in a variant", key="settings",
                          hint="e.g. retrieval.mode, retrieval.fusion, retrieval.bm25_weight")  # fmt: skip
    try:
        return RetrievalSettings.model_validate({**settings.model_dump(), **overrides})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"variant setting retrieval.{first['loc'][0]}: {first['msg']}", key="settings") from None


def with_overrides(settings: GenerationSettings, overrides: Mapping[str, object]) -> GenerationSettings:
    """``settings`` with an experiment arm's changes, validated (a bad key or value is a ConfigError).
    ``model`` names the arm's chat model and is not a [generation] setting."""
    if MODEL_KEY in overrides and not (isinstance(overrides[MODEL_KEY], str) and overrides[MODEL_KEY]):
        raise ConfigError("a variant's model must be a model name", key="settings")
    retrieval = {k.removeprefix(RETRIEVAL_PREFIX): v for k, v in overrides.items() if k.startswith(RETRIEVAL_PREFIX)}
    if retrieval:
        retrieval_overrides(RetrievalSettings(), retrieval)
    overrides = {k: v for k, v in overrides.items() if k != MODEL_KEY and not k.startswith(RETRIEVAL_PREFIX)}
    unknown = sorted(set(overrides) - set(GenerationSettings.model_fields))
    if unknown:
        raise ConfigError(f"unknown [generation] setting(s) {', '.join(unknown)} in a variant", key="settings",
                          hint="variants may change: model, " + ", ".join(GenerationSettings.model_fields))  # fmt: skip
    try:
        return GenerationSettings.model_validate({**settings.model_dump(), **overrides})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"variant setting {where}: {first['msg']}", key="settings") from None


def arm_settings(
    generation: GenerationSettings, retrieval: RetrievalSettings, overrides: Mapping[str, object]
) -> tuple[GenerationSettings, str | None, RetrievalSettings]:
    """An arm's [generation] settings, its chat model name (None: the configured one) and [retrieval] settings."""
    model = overrides.get(MODEL_KEY)
    changed = {k.removeprefix(RETRIEVAL_PREFIX): v for k, v in overrides.items() if k.startswith(RETRIEVAL_PREFIX)}
    searched = retrieval_overrides(retrieval, changed) if changed else retrieval
    return with_overrides(generation, overrides), model if isinstance(model, str) else None, searched


def check_variables(name: str, system: str, user: str, declared: Mapping[str, str]) -> None:
    """Refuse a template whose placeholders and declared variables differ, or whose types are unknown."""
    bad_types = {k: v for k, v in declared.items() if v not in VARIABLE_TYPES}
    if bad_types:
        raise ConfigError(f"unknown variable type(s) {bad_types}", key="variables", hint=f"use {VARIABLE_TYPES}")
    used = placeholders(system, user)
    unknown, missing = sorted(used - set(declared)), sorted(set(declared) - used)
    if unknown:
        raise ConfigError(
            f"prompt {name} uses undeclared variable(s) {', '.join(unknown)}",
            key="variables",
            hint=f"declare them (--var NAME=TYPE) or remove the braces; declared: {', '.join(declared) or 'none'}",
        )
    if missing:
        raise ConfigError(
            f"prompt {name} never uses variable(s) {', '.join(missing)}",
            key="variables",
            hint="put {" + "}, {".join(missing) + "} in the system or user text",
        )
    supplied = SUPPLIED.get(name)
    if supplied is not None and dict(declared) != supplied:
        raise ConfigError(
            f"the {name} pipeline supplies exactly {', '.join(f'{k}: {v}' for k, v in supplied.items())}",
            key="variables",
            hint="use those variables, or give the prompt another name",
        )


def _template(prompt: StoredPrompt) -> PromptTemplate:
    return PromptTemplate(prompt.name, prompt.version, prompt.system, prompt.user, prompt.description,
                          prompt.abstain_marker, prompt.source_titles, prompt.stop)  # fmt: skip


def _lines(template: PromptTemplate) -> list[str]:
    fields = {
        "system": template.system, "user": template.user, "abstain_marker": template.abstain_marker,
        "source_titles": str(template.source_titles), "stop": repr(list(template.stop)),
    }  # fmt: skip
    return [f"{key}: {line}\n" for key, value in fields.items() for line in value.splitlines() or [""]]
