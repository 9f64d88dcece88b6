"""Long-term memory: facts an agent chose to keep for a user (the ``remember`` tool), embedded and stored per
user, recalled into later runs by similarity to the new task; the user lists and deletes them
(``quarry memory list|forget``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from quarry.agents.tools import Tool, ToolContext, tool
from quarry.embeddings import Embedder
from quarry.stores.agents import MemoryItem, MemoryStore

__all__ = ["Memory"]

MAX_FACT_CHARS = 500


class Memory:
    def __init__(self, store: MemoryStore, embedder: Callable[[], Embedder], *, k: int = 3,
                 min_score: float = 0.25) -> None:  # fmt: skip
        """``embedder`` returns the query embedder when first needed (a run of a user with no stored facts never
        loads it)."""
        self.store, self._embedder = store, embedder
        self.k, self.min_score = k, min_score

    @property
    def model_id(self) -> str:
        return self._embedder().model_id

    def _vector(self, text: str) -> list[float]:
        return [float(x) for x in self._embedder().embed_query(text).reshape(-1)]

    def recall(self, user: str, task: str) -> list[MemoryItem]:
        """The user's facts closest to ``task`` (at least ``min_score`` cosine), best first."""
        if not self.store.items(user, limit=1):
            return []  # nothing stored: the task need not be embedded
        found = self.store.search(user, self._vector(task), model=self.model_id, k=self.k)
        return [item for item, score in found if score >= self.min_score]

    def add(self, user: str, text: str, run_id: str = "") -> MemoryItem:
        item = MemoryItem(uuid.uuid4().hex[:12], user, text.strip()[:MAX_FACT_CHARS], self.model_id, run_id=run_id)
        return self.store.add(item, self._vector(item.text))

    def tool(self) -> Tool:
        memory = self

        def remember(fact: str, context: ToolContext) -> str:
            """Store a fact about the user or their work to recall in later conversations (a preference, a
            name, a decision). Not for things you can look up again.

            Args:
                fact: one self-contained sentence, e.g. "Ann's reports go to the finance team".
            """
            item = memory.add(context.user, fact, context.run_id)
            return f"remembered (id {item.id})"

        return tool(risk="write")(remember)
