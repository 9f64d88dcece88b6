"""A real `quarry serve` with real documents, keys and a stored evaluation run, and a real headless Chromium
(Debian's, driven by Playwright: its own browser download is not reachable here; `.ci/run` installs it).

Set QUARRY_CONSOLE_SHOTS=<folder> to save a screenshot of every page the tests visit (docs/console is made so).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api.test_server import free_port, wait_ready

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SECRET_TEXT = "Project Nightjar: the acquisition closes on 14 March. Board members only."


@dataclass(frozen=True)
class Console:
    base: str
    admin: str
    reader: str
    folder: Path


def _quarry(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")}
    done = subprocess.run([sys.executable, "-m", "quarry", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="package")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """`quarry serve` over: the bundled samples in `handbook`, a board-only note in `secret`, one stored answer
    evaluation; an admin key and a read key limited to `handbook` and `uploads`."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium; .ci/run does)")
    folder = tmp_path_factory.mktemp("console")
    secret = folder / "board"
    secret.mkdir()
    (secret / "nightjar.md").write_text(f"# Nightjar\n\n{SECRET_TEXT}\n", encoding="utf-8")
    _quarry(folder, "ingest", str(SAMPLES), "-c", "handbook")
    _quarry(folder, "ingest", str(secret), "-c", "secret")
    _quarry(folder, "eval", "answers", "--dataset", str(SAMPLES / "qa.jsonl"), "-c", "handbook", "--limit", "3",
            "--name", "sample run")  # fmt: skip
    admin = json.loads(_quarry(folder, "keys", "create", "--scope", "admin", "--json"))["token"]
    reader = json.loads(_quarry(folder, "keys", "create", "--scope", "read", "-c", "handbook", "-c", "uploads",
                                "--json"))["token"]  # fmt: skip
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")}
    server = subprocess.Popen([sys.executable, "-m", "quarry", "serve", "--port", str(port)], cwd=folder, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, timeout_s=120)
        yield Console(base, admin, reader, folder)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


@pytest.fixture(scope="package")
def browser(console: Console) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def shot(page: object, name: str) -> None:
    """Save a screenshot when QUARRY_CONSOLE_SHOTS names a folder."""
    folder = os.environ.get("QUARRY_CONSOLE_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))  # type: ignore[attr-defined]


def assert_accessible(page: object) -> None:
    """axe-core finds no serious or critical accessibility violation on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    serious = [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in found
               if v["impact"] in ("serious", "critical")]  # fmt: skip
    assert not serious, serious
