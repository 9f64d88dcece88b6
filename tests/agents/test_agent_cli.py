"""`quarry agent run` and `quarry approvals` as separate processes on one home folder: a run that waits for
approval ends its process; a new process approves it, the tool runs exactly once, and nothing runs it again.
The model is a scripted Anthropic-compatible HTTP server (a remote provider's API is what cannot run here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from quarry.testing.llm_servers import AnthropicReply, ScriptedAnthropicServer

TOOL_MODULE = '''
from pathlib import Path

from quarry.agents import tool


@tool(risk="write")
def post_notice(text: str) -> str:
    """Post a notice on the team board.

    Args:
        text: the notice.
    """
    board = Path(__file__).with_name("board.txt")
    with board.open("a") as out:
        out.write(text + "\\n")
    return "posted"
'''


def quarry(home: Path, extra: Path, *args: str, check: int = 0) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")}
    env |= {"QUARRY_HOME": str(home), "PYTHONPATH": str(extra), "SCRIPTED_KEY": "test-key", "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "quarry", *args], env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    shown = done.stdout + done.stderr
    assert done.returncode == check, shown
    assert "Traceback" not in shown, shown
    return done.stdout


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "board_tools.py").write_text(TOOL_MODULE)
    home = tmp_path / "home"
    home.mkdir()
    return home


def configure(home: Path, url: str) -> None:
    (home / "quarry.toml").write_text(
        f'[llm]\nprovider = "anthropic"\nmodel = "claude-test"\nbase_url = "{url}"\napi_key_env = "SCRIPTED_KEY"\n'
        '[agents]\nbuiltin_tools = ["calculator"]\ntools = ["board_tools:post_notice"]\napproval_risk = "write"\n'
    )


def test_an_approved_call_runs_once_in_a_later_process(home: Path) -> None:
    tools = home.parent / "tools"
    with ScriptedAnthropicServer(api_key="test-key") as server:
        configure(home, server.url)
        server.add(AnthropicReply(tool_calls=[("post_notice", {"text": "Office closed Friday"})],
                                  stop_reason="tool_use"))  # fmt: skip
        out = quarry(home, tools, "agent", "run", "Tell the team the office is closed Friday", check=3)
        assert "waiting for approval" in out
        assert not (tools / "board.txt").exists()
        pending = json.loads(quarry(home, tools, "approvals", "list", "--json"))
        assert [(a["tool"], json.loads(a["arguments"])) for a in pending] == [
            ("post_notice", {"text": "Office closed Friday"})
        ]
        approval = pending[0]["id"]

        server.add(AnthropicReply(text="I posted the notice."))
        edited = json.dumps({"text": "Office closed Friday 13th"})
        out = quarry(home, tools, "approvals", "approve", approval, "--args", edited, "--note", "add the date")
        assert "I posted the notice." in out
        assert (tools / "board.txt").read_text() == "Office closed Friday 13th\n"

        again = quarry(home, tools, "approvals", "approve", approval, check=2)
        assert again == ""
        assert (tools / "board.txt").read_text() == "Office closed Friday 13th\n"  # exactly once
        assert json.loads(quarry(home, tools, "approvals", "list", "--json")) == []
        done = json.loads(quarry(home, tools, "approvals", "list", "--status", "approved", "--json"))
        assert done[0]["decided_by"] == "local" and done[0]["edited"] is True and done[0]["note"] == "add the date"
        tool_result = server.requests[-1]["messages"][-1]["content"][0]
        assert tool_result["type"] == "tool_result" and tool_result["content"] == "posted"


def test_a_rejection_in_a_later_process_tells_the_model(home: Path) -> None:
    tools = home.parent / "tools"
    with ScriptedAnthropicServer(api_key="test-key") as server:
        configure(home, server.url)
        server.add(AnthropicReply(tool_calls=[("post_notice", {"text": "Everyone is fired"})], stop_reason="tool_use"))
        quarry(home, tools, "agent", "run", "Post something", check=3)
        approval = json.loads(quarry(home, tools, "approvals", "list", "--json"))[0]["id"]
        server.add(AnthropicReply(text="The notice was not posted."))
        out = quarry(home, tools, "approvals", "reject", approval, "--note", "no")
        assert "The notice was not posted." in out
        assert not (tools / "board.txt").exists()
        told = server.requests[-1]["messages"][-1]["content"][0]
        assert told["content"] == "not run: local rejected it (no)"


def test_memory_is_listed_and_forgotten_from_the_cli(home: Path) -> None:
    tools = home.parent / "tools"
    with ScriptedAnthropicServer(api_key="test-key") as server:
        configure(home, server.url)
        (home / "quarry.toml").write_text((home / "quarry.toml").read_text().replace(
            'builtin_tools = ["calculator"]', 'builtin_tools = ["remember"]'))  # fmt: skip
        server.add(AnthropicReply(tool_calls=[("remember", {"fact": "I work in the Lisbon office"})],
                                  stop_reason="tool_use"),
                   AnthropicReply(text="Noted."))  # fmt: skip
        assert "Noted." in quarry(home, tools, "agent", "run", "Remember that I work in Lisbon")
        facts = json.loads(quarry(home, tools, "memory", "list", "--json"))
        assert [f["text"] for f in facts] == ["I work in the Lisbon office"]
        quarry(home, tools, "memory", "forget", facts[0]["id"])
        assert json.loads(quarry(home, tools, "memory", "list", "--json")) == []
        quarry(home, tools, "memory", "forget", "nope", check=2)
