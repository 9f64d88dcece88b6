"""A cross-encoder from a local folder: reads query and passage together and outputs one relevance score.

No cross-encoder ships with Quarry (none is packaged anywhere it may install from), so this takes
the path of one the user has, e.g. a folder saved with ``CrossEncoder.save(path)``. It loads
offline (``local_files_only``); a missing or incomplete folder is a
:class:`~quarry.errors.ConfigError` naming the path. Scores are the model's raw outputs
(``CrossEncoder.predict``), so the order is exactly the model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from quarry.retrieval.rerankers.base import Scores, ScoringReranker
from quarry.retrieval.rerankers.packaged import load_st, model_folder

__all__ = ["CrossEncoderReranker"]


class CrossEncoderReranker(ScoringReranker):
    """sentence-transformers ``CrossEncoder`` loaded from ``path`` (CPU); ``threads`` as for torch."""

    def __init__(
        self,
        path: str | Path,
        *,
        weight: float = 1.0,
        batch_size: int = 16,
        max_length: int | None = 512,
        threads: int | None = None,
    ) -> None:
        super().__init__(weight=weight)
        folder = model_folder(Path(path), "config.json")
        self.name = f"cross-encoder:{folder.name}"
        self.batch_size = batch_size
        self._model = load_st(folder, "CrossEncoder", threads, max_length=max_length)

    def score(self, query: str, passages: Sequence[str]) -> Scores:
        if not passages:
            return np.zeros(0, dtype=np.float64)
        pairs = [(query, passage) for passage in passages]
        raw = self._model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        return np.asarray(raw, dtype=np.float64).reshape(len(passages))
