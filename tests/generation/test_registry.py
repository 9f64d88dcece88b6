"""The prompt registry on its SQLite stores: typed variables checked at creation, immutable numbered versions,
labels that promote and roll back, and how the configured prompt resolves per request."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from quarry.errors import ConfigError
from quarry.generation.prompts import load_prompt
from quarry.generation.registry import PromptRegistry
from quarry.stores.ops import Experiment, Variant
from quarry.stores.sqlite.ops import SQLiteExperimentStore, SQLitePromptStore
from tests.cli.test_cli import SAMPLES, quarry


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[PromptRegistry]:
    prompts, experiments = SQLitePromptStore(tmp_path / "ops.db"), SQLiteExperimentStore(tmp_path / "ops.db")
    yield PromptRegistry(prompts, experiments)
    prompts.close()
    experiments.close()


def _concise(registry: PromptRegistry, **overrides: str) -> str:
    base = load_prompt("answer@4")
    fields = {"system": base.system + "\nBe concise.", "user": base.user} | overrides
    return registry.create("answer", **fields, description="concise").ref  # type: ignore[arg-type]


def test_variables_are_checked_when_a_version_is_created(registry: PromptRegistry) -> None:
    with pytest.raises(ConfigError, match="undeclared variable"):
        _concise(registry, user="Context: {context}\n{sources}\n{question}")
    with pytest.raises(ConfigError, match="never uses variable"):
        _concise(registry, user="Q: {question}")
    with pytest.raises(ConfigError, match="unknown variable type"):
        registry.create("summary", system="Summarise.", user="{text}", variables={"text": "blob"})
    made = registry.create("summary", system="Summarise in {words} words.", user="{text}",
                           variables={"text": "str", "words": "int"})  # fmt: skip
    assert made.ref == "summary@1"


def test_versions_are_numbered_after_the_shipped_ones_and_never_change(registry: PromptRegistry) -> None:
    assert _concise(registry) == "answer@5" and _concise(registry) == "answer@6"
    assert registry.template("answer@4") == load_prompt("answer@4")  # shipped versions stay as shipped
    assert "Be concise." in registry.template("answer@5").system
    assert [t.version for t in registry.versions("answer")] == [1, 2, 3, 4, 5, 6]
    assert "+system: Be concise." in registry.diff("answer@4", "answer@5")


def test_a_name_resolves_to_an_experiment_then_its_label_then_the_newest_shipped_version(
    registry: PromptRegistry,
) -> None:
    _concise(registry)
    assert registry.resolve("answer", subject="u").template.ref == "answer@4"  # created but not promoted
    registry.promote("answer", 5)
    assert registry.resolve("answer", subject="u").template.ref == "answer@5"
    assert registry.resolve("answer@3", subject="u").template.ref == "answer@3"  # pinned
    registry.experiments.create(
        Experiment("ab", "answer", (Variant("old", "answer@4", 1), Variant("new", "answer@5", 1)), collections=("hr",))
    )
    chosen = registry.resolve("answer", subject="u", collection="hr")
    assert chosen.experiment == "ab" and chosen.variant in ("old", "new")
    assert registry.resolve("answer", subject="u", collection="other").experiment == ""  # not its collection
    registry.rollback("answer")  # the first promotion undone: the label points nowhere, the newest shipped serves
    assert registry.labels("answer") == {}
    assert registry.resolve("answer", subject="u", collection="other").template.ref == "answer@4"
    with pytest.raises(ConfigError, match="no earlier version"):
        registry.rollback("answer")


def test_the_prompt_and_experiment_commands(isolated_env: Path) -> None:
    quarry("init", cwd=isolated_env)
    prompt_file = isolated_env / "concise.toml"
    base = load_prompt("answer@4")
    prompt_file.write_text(f'system = """{base.system}\nBe concise."""\nuser = """{base.user}"""\n')
    made = quarry("prompts", "create", "answer", "--file", str(prompt_file), "--description", "concise", "--json",
                  cwd=isolated_env).stdout  # fmt: skip
    assert '"answer@5"' in made
    assert "Be concise." in quarry("prompts", "diff", "answer@4", "answer@5", cwd=isolated_env).stdout
    quarry("prompts", "promote", "answer", "5", cwd=isolated_env)
    assert '"serves": "answer@5"' in quarry("prompts", "list", "--json", cwd=isolated_env).stdout
    assert "rolled back" in quarry("prompts", "rollback", "answer", cwd=isolated_env).stdout
    assert '"serves": "answer@4"' in quarry("prompts", "list", "--json", cwd=isolated_env).stdout
    back = quarry("prompts", "rollback", "answer", cwd=isolated_env, check=2)
    assert "no earlier version" in back.stderr
    quarry("experiments", "create", "ab", "--variant", "control=answer@4:1", "--variant", "concise=answer@5:1",
           cwd=isolated_env)  # fmt: skip
    shown = quarry("experiments", "show", "ab", "--json", cwd=isolated_env).stdout
    assert '"status": "running"' in shown and '"requests": 0' in shown
    shutil.copytree(SAMPLES, isolated_env / "samples")
    quarry("ingest", "samples", cwd=isolated_env)
    quarry("experiments", "evaluate", "ab", "--dataset", "samples/qa.jsonl", "--limit", "2", cwd=isolated_env)
    table = quarry("experiments", "show", "ab", cwd=isolated_env).stdout
    assert "Offline evaluation" in table and "control" in table and "concise" in table
    bad = quarry("experiments", "create", "x", "--variant", "only=answer@4:1", cwd=isolated_env, check=2)
    assert "two or more variants" in bad.stderr
    quarry("experiments", "stop", "ab", cwd=isolated_env)
    assert "stopped" in quarry("experiments", "list", cwd=isolated_env).stdout
