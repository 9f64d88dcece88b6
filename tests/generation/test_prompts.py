"""The prompt registry: versions as files, addressed name@version, shipped in the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from quarry.errors import ConfigError
from quarry.generation import available_prompts, load_prompt
from tests.conftest import REPO


def test_lists_every_shipped_version() -> None:
    assert {"answer@1", "answer@2", "answer@3"} <= set(available_prompts())


def test_loads_a_version_and_renders_sources_into_the_user_message() -> None:
    prompt = load_prompt("answer@2")
    assert (prompt.name, prompt.version, prompt.ref) == ("answer", 2, "answer@2")
    messages = prompt.render("  How long is leave? ", "[1] Leave is {27} days.")
    assert [m.role for m in messages] == ["system", "user"]
    assert "[1] Leave is {27} days." in messages[1].content and "How long is leave?" in messages[1].content
    assert prompt.abstain_marker == "I don't know" and prompt.stop == ("\n\n",) and not prompt.source_titles


def test_answer3_stops_at_repeated_markers_and_keeps_instructions_in_the_system_prefix() -> None:
    prompt = load_prompt("answer@3")
    assert {"\n\n", "] [", "]["} <= set(prompt.stop) and not prompt.source_titles
    first, second = (prompt.render(q, "[1] Leave is 27 days.") for q in ("How long is leave?", "Who approves it?"))
    assert first[0] == second[0] and first[0].role == "system" and "[1]" in first[0].content
    assert "[1] Leave is 27 days." in first[1].content and "Who approves it?" in second[1].content


def test_versions_differ_and_a_bare_name_means_the_latest() -> None:
    assert load_prompt("answer@1").system != load_prompt("answer@2").system
    latest = max(available_prompts(), key=lambda r: int(r.split("@")[1]) if r.startswith("answer@") else -1)
    assert load_prompt("answer").ref == latest


@pytest.mark.parametrize("ref", ["answer@99", "nope@1", "summary"])
def test_a_missing_version_is_a_config_error_listing_what_exists(ref: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_prompt(ref)
    assert caught.value.key == "generation.prompt"
    assert "answer@1" in caught.value.hint and "answer@2" in caught.value.hint


@pytest.mark.slow
def test_the_wheel_ships_the_prompt_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {f"quarry/generation/prompts/answer@{v}.toml" for v in (1, 2, 3)}
    assert shipped <= set(names)
