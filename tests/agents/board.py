"""A write-risk tool for the agent tests: appends to a board file named by ``QUARRY_TEST_BOARD``."""

from __future__ import annotations

import os
from pathlib import Path

from quarry.agents import tool


@tool(risk="write")
def post_notice(text: str) -> str:
    """Post a notice on the team board.

    Args:
        text: the notice.
    """
    with Path(os.environ["QUARRY_TEST_BOARD"]).open("a") as board:
        board.write(text + "\n")
    return "posted"
