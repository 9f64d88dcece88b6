"""Switch a SQLite connection to WAL when other processes may be opening the same file at the same moment.

Turning WAL on needs an exclusive lock for an instant. When two processes open a fresh file together, one of
them holds a shared lock while asking for it and SQLite answers "database is locked" at once instead of
waiting out the busy timeout (waiting could deadlock). That answer is only a collision, so the switch is tried
again, with a short random pause, until the timeout has passed.
"""

from __future__ import annotations

import random
import sqlite3
import time

__all__ = ["use_wal"]

_COLLISIONS = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def use_wal(conn: sqlite3.Connection, *, timeout_s: float = 10.0) -> None:
    """Put ``conn``'s database in WAL mode, retrying while another connection holds the lock it needs."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode not in _COLLISIONS or time.monotonic() >= deadline:
                raise
        time.sleep(random.uniform(0.005, 0.05))
