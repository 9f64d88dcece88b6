"""Chunks grouped by document, for scoring every chunk of a few documents without scanning them all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["DocumentGroups", "best_per_document"]

RowIds = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class DocumentGroups:
    """The rows of document ``documents[i]`` are ``order[starts[i]:starts[i + 1]]``, in row order."""

    documents: RowIds  # distinct, ascending
    order: RowIds
    starts: RowIds  # len(documents) + 1 entries

    @classmethod
    def of(cls, documents: RowIds) -> DocumentGroups:
        """Groups for rows whose documents are ``documents`` (row ``i`` belongs to ``documents[i]``)."""
        order = np.argsort(documents, kind="stable").astype(np.int64)
        distinct, starts = np.unique(documents[order], return_index=True)
        return cls(distinct.astype(np.int64), order, np.append(starts, len(documents)).astype(np.int64))


def best_per_document(
    groups: DocumentGroups,
    rowids: RowIds,
    documents: RowIds,
    keys: RowIds,
    score_rows: Callable[[RowIds], Scores],
) -> dict[int, tuple[int, float]]:
    """For each document holding a chunk rowid in ``keys``: ``document → (best chunk rowid, score)``
    over all of its rows, scored by ``score_rows(rows)``; ties go to the lowest rowid. ``rowids``
    (ascending) and ``documents`` describe the rows; keys not among them are ignored."""
    if len(rowids) == 0 or len(keys) == 0:
        return {}
    at = np.minimum(np.searchsorted(rowids, keys), len(rowids) - 1)
    wanted = np.unique(documents[at[rowids[at] == keys]])
    if len(wanted) == 0:
        return {}
    group = np.searchsorted(groups.documents, wanted)
    lengths = groups.starts[group + 1] - groups.starts[group]
    bounds = np.cumsum(lengths) - lengths  # where each document's rows begin in ``rows``
    within = np.arange(int(lengths.sum())) - np.repeat(bounds, lengths)
    rows = groups.order[np.repeat(groups.starts[group], lengths) + within]
    scores = np.asarray(score_rows(rows), dtype=np.float64)
    maxima = np.maximum.reduceat(scores, bounds)
    at_max = np.flatnonzero(scores == np.repeat(maxima, lengths))
    first = at_max[np.searchsorted(at_max, bounds)]
    best_rows, best_scores = rowids[rows[first]].tolist(), scores[first].tolist()
    return dict(zip(wanted.tolist(), zip(best_rows, best_scores, strict=True), strict=True))
