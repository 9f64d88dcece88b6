"""Settings errors (file:line:column, did-you-mean, unset key variables), `quarry init`, `quarry config show`,
and the home folder (QUARRY_HOME / --home)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from quarry.errors import ConfigError
from quarry.settings import Settings, load_settings
from quarry.settings.effective import effective_settings
from quarry.settings.template import commented_settings
from tests.cli.test_cli import quarry


def _sections() -> list[tuple[str, type[BaseModel]]]:
    """Every [section] and [section.sub] of quarry.toml with its model."""
    found: list[tuple[str, type[BaseModel]]] = []

    def walk(path: str, model: type[BaseModel]) -> None:
        found.append((path, model))
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(f"{path}.{name}", annotation)

    for name, field in Settings.model_fields.items():
        assert isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        walk(name, field.annotation)
    return found


@pytest.mark.parametrize(("section", "model"), _sections(), ids=[s for s, _ in _sections()])
def test_a_misspelt_key_in_any_section_is_refused_with_its_line_and_a_suggestion(
    section: str, model: type[BaseModel], isolated_env: Path
) -> None:
    key = max(model.model_fields, key=len)
    misspelt = key[:-1] + ("x" if key[-1] != "x" else "y")  # one letter off
    config = isolated_env / "quarry.toml"
    config.write_text(f"# settings\n\n[{section}]\n{misspelt} = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert f"{config}:4: unknown setting {section}.{misspelt}; did you mean {key}?" in caught.value.message


def test_a_toml_syntax_error_names_file_line_and_column(isolated_env: Path) -> None:
    config = isolated_env / "quarry.toml"
    config.write_text('[store]\npath = "a.db"\n[retrieval]\nmode = hybrid\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert caught.value.message.startswith(f"{config}:4:8: ")
    done = quarry("search", "x", cwd=isolated_env, check=2)  # the command line: a message, not a traceback
    assert f"{config}:4:8" in done.stderr and "Traceback" not in done.stderr


def test_an_invalid_value_names_its_line_and_the_environment_variable(isolated_env: Path) -> None:
    config = isolated_env / "quarry.toml"
    config.write_text("[chunking]\nmax_tokens = 200\noverlap_tokens = -3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert f"{config}:3: invalid setting chunking.overlap_tokens" in caught.value.message
    assert "QUARRY_CHUNKING__OVERLAP_TOKENS" in caught.value.hint


def test_an_api_key_variable_that_is_not_set_is_an_error_at_start(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = isolated_env / "quarry.toml"
    config.write_text('[llm]\nprovider = "openai"\nmodel = "gpt-4o-mini"\napi_key_env = "TEAM_OPENAI_KEY"\n')
    monkeypatch.delenv("TEAM_OPENAI_KEY", raising=False)
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert "llm.api_key_env names TEAM_OPENAI_KEY, which is not set" in caught.value.message
    assert "export TEAM_OPENAI_KEY" in caught.value.hint
    monkeypatch.setenv("TEAM_OPENAI_KEY", "sk-test")
    assert load_settings(config).llm.api_key_env == "TEAM_OPENAI_KEY"
    local_server = isolated_env / "local.toml"  # a local OpenAI-compatible server needs no key
    local_server.write_text('[llm]\nprovider = "openai"\nmodel = "m"\nbase_url = "http://127.0.0.1:9/v1"\n')
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert load_settings(local_server).llm.base_url


def test_init_writes_every_section_commented_and_the_file_means_the_defaults(isolated_env: Path) -> None:
    quarry("init", cwd=isolated_env)
    text = (isolated_env / "quarry.toml").read_text(encoding="utf-8")
    for section, _ in _sections():
        assert f"\n[{section}]\n" in text, section
    assert "## the SQLite file" in text  # keys carry their descriptions
    uncommented = "\n".join(
        re.sub(r"^# ([a-z_]+ = )", r"\1", line)
        for line in text.splitlines()
        if not line.startswith("##") and "(no default)" not in line
    )
    every_default = isolated_env / "every-default.toml"
    every_default.write_text(uncommented, encoding="utf-8")
    loaded = load_settings(every_default)
    assert loaded.model_dump(exclude={"store"}) == Settings().model_dump(exclude={"store"})
    assert commented_settings(Settings()) == text


def test_config_show_says_where_each_setting_came_from_and_masks_secrets(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = isolated_env / "quarry.toml"
    config.write_text('[store]\nurl = "postgresql://quarry:s3cret@db.internal/quarry"\n[retrieval]\nmode = "bm25"\n')
    monkeypatch.setenv("QUARRY_CHUNKING__MAX_TOKENS", "120")
    rows = {r.key: r for r in effective_settings(load_settings(config), config)}
    assert rows["retrieval.mode"].origin == "file" and rows["retrieval.mode"].value == "bm25"
    assert rows["chunking.max_tokens"].origin == "env" and rows["chunking.max_tokens"].value == 120
    assert rows["retrieval.fusion"].origin == "default"
    assert rows["store.url"].value == "postgresql://quarry:***@db.internal/quarry"
    shown = quarry("config", "show", "--changed", "--json", cwd=isolated_env).stdout
    assert "s3cret" not in shown
    listed = {r["key"]: r["origin"] for r in json.loads(shown)["settings"]}
    assert listed == {"store.url": "file", "retrieval.mode": "file"}  # the subprocess has no QUARRY_* variables
    table = quarry("config", "show", cwd=isolated_env).stdout
    assert "retrieval.fusion" in table and "default" in table and "s3cret" not in table


def test_the_home_folder_holds_the_config_and_the_data(isolated_env: Path) -> None:
    home = isolated_env / "kb-home"
    elsewhere = isolated_env / "somewhere-else"
    elsewhere.mkdir()
    quarry("--home", str(home), "init", cwd=elsewhere)
    assert (home / "quarry.toml").is_file() and (home / ".quarry" / "quarry.db").is_file()
    assert not (elsewhere / "quarry.toml").exists()
    (elsewhere / "note.md").write_text("# Note\n\nThe boiler is serviced every March.\n")
    quarry("--home", str(home), "ingest", "note.md", cwd=elsewhere)
    found = quarry("--home", str(home), "search", "when is the boiler serviced", "--json", cwd=elsewhere).stdout
    assert "March" in json.loads(found)["hits"][0]["text"]
    assert not (elsewhere / ".quarry").exists()
    settings = load_settings(home=home)
    assert settings.store.path == (home / ".quarry" / "quarry.db").resolve()


def test_version_and_help_need_no_settings(isolated_env: Path) -> None:
    (isolated_env / "quarry.toml").write_text("this is not toml")  # neither reads it
    assert re.fullmatch(r"quarry \d+\.\d+\.\d+\n", quarry("--version", cwd=isolated_env).stdout)
    shown = quarry("--help", cwd=isolated_env).stdout
    for command in ("init", "config", "ingest", "show", "export", "search", "ask", "serve"):
        assert re.search(rf"^  {command}\s", shown, re.M), command
    assert "QUARRY_HOME" in shown
