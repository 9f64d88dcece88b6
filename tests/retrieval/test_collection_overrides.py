"""Per-collection retrieval settings: written by `quarry eval tune --save`, honoured by search."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from quarry.errors import ConfigError
from quarry.settings import load_settings, save_collection_overrides


def test_saved_overrides_load_back_and_keep_the_rest_of_the_file(isolated_env: Path) -> None:
    config = isolated_env / "quarry.toml"
    config.write_text('# my settings\n[retrieval]\nfusion = "rrf"  # chosen by hand\n\n[store]\npath = "kb.db"\n')
    save_collection_overrides(config, "handbook", {"mode": "hybrid", "fusion": "zscore", "bm25_weight": 0.7})
    save_collection_overrides(config, "papers", {"mode": "bm25"})
    text = config.read_text()
    assert "# my settings" in text and "# chosen by hand" in text
    settings = load_settings(config).retrieval
    assert settings.fusion == "rrf"  # the global choice is untouched
    handbook = settings.for_collection("handbook")
    assert (handbook.mode, handbook.fusion, handbook.bm25_weight) == ("hybrid", "zscore", 0.7)
    assert settings.for_collection("papers").mode == "bm25"
    assert settings.for_collection("papers").fusion == "rrf"  # inherited
    assert settings.for_collection("other") == settings


def test_an_invalid_override_is_refused_before_writing(isolated_env: Path) -> None:
    config = isolated_env / "quarry.toml"
    with pytest.raises(ValidationError, match="bm25_weight"):
        save_collection_overrides(config, "x", {"bm25_weight": 3})
    assert not config.exists()


def test_an_unknown_override_key_is_a_config_error(isolated_env: Path) -> None:
    config = isolated_env / "quarry.toml"
    config.write_text("[retrieval.collections.x]\nbm25_wieght = 0.3\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert "bm25_wieght" in str(caught.value)
