"""The string keys ``rank_*`` hands out are chunk rowids; these parse them back."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["rowid_of", "rowids_of"]


def rowids_of(keys: Sequence[str]) -> npt.NDArray[np.int64]:
    """The distinct chunk rowids ``keys`` stand for (foreign keys become -1, which matches nothing)."""
    try:
        parsed = np.asarray(keys, dtype=np.str_).astype(np.int64) if keys else np.zeros(0, dtype=np.int64)
    except (ValueError, OverflowError):
        parsed = np.array([rowid_of(key) for key in keys], dtype=np.int64)
    return np.unique(parsed)


def rowid_of(key: str) -> int:
    """The chunk rowid a ``rank_*`` key stands for; -1 (matching no chunk) for a foreign key."""
    try:
        value = int(key)
    except ValueError:
        return -1
    return value if 0 <= value < 2**63 else -1
