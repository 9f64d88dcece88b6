"""A run paused for approval survives its server being killed: `quarry serve` is SIGKILLed while the run waits,
a new server process approves it, the tool runs exactly once, and the run finishes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from quarry.testing.llm_servers import AnthropicReply, ScriptedAnthropicServer
from tests.agents.test_agent_cli import TOOL_MODULE
from tests.api.test_server import free_port, wait_ready


def serve(home: Path, tools: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")}
    env |= {"QUARRY_HOME": str(home), "PYTHONPATH": str(tools), "SCRIPTED_KEY": "test-key"}
    return subprocess.Popen([sys.executable, "-m", "quarry", "serve", "--port", str(port), "--no-access-log"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)  # fmt: skip


def test_a_waiting_run_survives_a_killed_server_and_its_tool_runs_once(tmp_path: Path) -> None:
    tools, home = tmp_path / "tools", tmp_path / "home"
    tools.mkdir()
    home.mkdir()
    (tools / "board_tools.py").write_text(TOOL_MODULE)
    with ScriptedAnthropicServer(api_key="test-key") as model:
        (home / "quarry.toml").write_text(
            f'[llm]\nprovider = "anthropic"\nmodel = "claude-test"\nbase_url = "{model.url}"\n'
            'api_key_env = "SCRIPTED_KEY"\n[agents]\nbuiltin_tools = []\ntools = ["board_tools:post_notice"]\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")}
        env |= {"QUARRY_HOME": str(home), "SCRIPTED_KEY": "test-key"}
        made = subprocess.run([sys.executable, "-m", "quarry", "keys", "create", "--scope", "write", "--json"],
                              env=env, capture_output=True, text=True, check=True)  # fmt: skip
        auth = {"Authorization": f"Bearer {json.loads(made.stdout)['token']}"}
        model.add(AnthropicReply(tool_calls=[("post_notice", {"text": "Fire drill at 3"})], stop_reason="tool_use"))

        port = free_port()
        first = serve(home, tools, port)
        try:
            wait_ready(f"http://127.0.0.1:{port}", timeout_s=180)
            reply = httpx.post(f"http://127.0.0.1:{port}/v1/agents/runs", json={"task": "Announce the drill",
                               "stream": False}, headers=auth, timeout=180)  # fmt: skip
            waiting = reply.json()["final"]
            assert waiting["type"] == "approval"
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL
        assert not (tools / "board.txt").exists()

        model.add(AnthropicReply(text="The drill is announced."))
        port = free_port()
        second = serve(home, tools, port)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, timeout_s=180)
            pending = httpx.get(f"{base}/v1/approvals", headers=auth).json()["approvals"]
            assert [a["id"] for a in pending] == [waiting["approval_id"]]
            decided = httpx.post(f"{base}/v1/approvals/{waiting['approval_id']}/approve", json={}, headers=auth)
            assert decided.status_code == 202
            deadline = time.monotonic() + 60
            run = httpx.get(f"{base}/v1/agents/runs/{waiting['run_id']}", headers=auth).json()
            while run["status"] not in ("done", "failed", "stopped") and time.monotonic() < deadline:
                time.sleep(0.1)
                run = httpx.get(f"{base}/v1/agents/runs/{waiting['run_id']}", headers=auth).json()
            assert run["status"] == "done" and run["answer"] == "The drill is announced."
            again = httpx.post(f"{base}/v1/approvals/{waiting['approval_id']}/approve", json={}, headers=auth)
            assert again.status_code == 409
        finally:
            second.send_signal(signal.SIGINT)
            second.wait(timeout=30)
        assert (tools / "board.txt").read_text() == "Fire drill at 3\n"  # exactly once
