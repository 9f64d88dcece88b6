from __future__ import annotations

import pytest

from quarry.ingest.cleaning import clean_text


def test_nfc_controls_and_newlines() -> None:
    text = "Cafe\u0301\x00\x07 ok\r\nnext\rline\u2028end\ufeff"
    assert clean_text(text) == "Café ok\nnext\nline\nend"


def test_spaces_collapse_but_indentation_and_tabs_at_line_start_stay() -> None:
    text = "word  \t  word\u00a0\u00a0x   \n    indented   twice\n\tTab  led\n"
    assert clean_text(text) == "word word x\n    indented twice\n\tTab led"


def test_blank_line_runs_collapse_to_one_and_edges_are_trimmed() -> None:
    assert clean_text("\n\n  \na\n\n\n\n   \n\nb\n\n") == "a\n\nb"


def test_fenced_code_keeps_inner_spacing() -> None:
    text = "Intro  text\n```\nx  =   1\n```\nafter   it"
    assert clean_text(text) == "Intro text\n```\nx  =   1\n```\nafter it"


@pytest.mark.parametrize(
    "text",
    ["", "   ", "a\r\n\r\n\r\nb", "  lead\t\ttabs  \n\n\n\nz", "e\u0301\x0c\x0bf", "```\n a  b \n"],
)
def test_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once
