"""Several processes opening one fresh SQLite file at the same instant all get it, in WAL mode."""

from __future__ import annotations

import multiprocessing
import sqlite3
from contextlib import closing
from multiprocessing.synchronize import Barrier
from pathlib import Path

from quarry.stores.sqlite.ops import OpsDatabase

_PROCESSES = 6
_FILES = 150  # with a bare "PRAGMA journal_mode=WAL", about one file in eight had an opener fail


def _open_each(paths: list[Path], barrier: Barrier, failures: multiprocessing.Queue[str]) -> None:
    for path in paths:
        barrier.wait()
        try:
            OpsDatabase(path, "CREATE TABLE IF NOT EXISTS t (a INTEGER);").close()
        except sqlite3.Error as exc:
            failures.put(f"{path.name}: {exc}")
    failures.put("done")


def test_processes_opening_a_fresh_file_together_all_succeed(tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    paths = [tmp_path / f"{i}.db" for i in range(_FILES)]
    barrier = spawn.Barrier(_PROCESSES)
    failures: multiprocessing.Queue[str] = spawn.Queue()
    openers = [spawn.Process(target=_open_each, args=(paths, barrier, failures)) for _ in range(_PROCESSES)]
    for opener in openers:
        opener.start()
    reports: list[str] = []
    while reports.count("done") < _PROCESSES:
        reports.append(failures.get(timeout=300))
    for opener in openers:
        opener.join(timeout=60)
    assert [opener.exitcode for opener in openers] == [0] * _PROCESSES
    assert [report for report in reports if report != "done"] == []
    for path in paths:
        with closing(sqlite3.connect(path)) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
