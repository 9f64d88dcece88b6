"""Which retrieved passages the model reads.

Every hit becomes a passage (:func:`~quarry.generation.packing.pack`: neighbours merged, tables with their
header rows, hits carrying every qualifier of the question first). The extractive candidates over all of them
are ranked (:mod:`quarry.generation.extractive`), and the passages holding the best candidates are given to the
model, whole, as many as fit the token budget and ``max_sources`` — the first one cut to its best-matching
sentences only when it alone exceeds the budget. The rest stay available (numbered after them) for quotes.

Qualifier checks need every word of a passage's document (a receipt names its shop once, at the top); those
word sets are cached per (collection, write generation, document).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from quarry.embeddings.base import Embedder
from quarry.generation.extractive import Quote, Similarity, rank_quotes
from quarry.generation.packing import PackedSource, pack, source_tokens
from quarry.generation.questions import Question, missing_qualifiers
from quarry.generation.terms import text_words
from quarry.generation.trimming import trim_chunk
from quarry.stores.base import Store
from quarry.types import Hit

__all__ = ["Selection", "Selector", "embedder_similarity"]

_WORD_CACHE = 256  # documents whose words are remembered


@dataclass(frozen=True, slots=True)
class Selection:
    sources: list[PackedSource]  # what the model reads, numbered 1..n
    extra: list[PackedSource]  # the other retrieved passages, numbered after them
    quotes: list[Quote]  # extractive candidates over both, best first
    tokens: int  # what the chosen sources cost in the prompt


def embedder_similarity(embedder: Embedder) -> Similarity:
    """Question–sentence cosine with ``embedder``'s query encoder, one text at a time: for a handful of short
    sentences that is ~2x faster than a padded batch through the document model (9 ms each against ~100 ms
    for five), and nothing is written to the embedding cache."""

    def similarity(question: str, texts: Sequence[str]) -> list[float]:
        vector = embedder.embed_query(question).reshape(-1)
        return [float(embedder.embed_query(text).reshape(-1) @ vector) for text in texts]

    return similarity


def _trimmed(
    source: PackedSource, question: str, budget: int, model: str, quote: Quote | None = None
) -> PackedSource | None:
    """``source`` cut to the sentences that best match the question within ``budget``: of the chunk holding
    ``quote`` (its best extractive candidate) and around that candidate when it fits, else of its first chunk."""
    header = source_tokens(
        PackedSource(source.number, source.document_uri, source.title, preamble=source.preamble), model
    )
    chunk, keep = source.chunks[0], None
    if quote is not None and (found := source.locate(quote.start)) is not None:
        chunk, at = found
        keep = (at, min(at + quote.end - quote.start, len(chunk.text)))
    trimmed = trim_chunk(chunk, question, budget - header, model=model, keep=keep)
    if trimmed is None:
        return None
    return replace(source, chunks=[trimmed])


class Selector:
    def __init__(self, store: Store, similarity: Similarity | None, *, max_sources: int, model: str) -> None:
        self.store, self.similarity = store, similarity
        self.max_sources, self.model = max_sources, model
        self._words: dict[tuple[str, int, str], frozenset[str]] = {}

    def document_words(self, collection: str, uris: Sequence[str]) -> dict[str, frozenset[str]]:
        """Every word of each document, cached per write generation."""
        generation = self.store.collection(collection).generation
        found = {}
        for uri in dict.fromkeys(uris):
            key = (collection, generation, uri)
            words = self._words.get(key)
            if words is None:
                document = self.store.document(collection, uri)
                words = text_words(document.text) if document is not None else frozenset()
                if len(self._words) >= _WORD_CACHE:
                    self._words.pop(next(iter(self._words)))
                self._words[key] = words
            found[uri] = words
        return found

    @staticmethod
    def order(asked: Question, hits: Sequence[Hit], words: dict[str, frozenset[str]]) -> list[Hit]:
        """Hits carrying every qualifier of the question first; otherwise best score first."""

        def missing(hit: Hit) -> bool:
            text = hit.title + "\n" + hit.chunk.text
            return bool(missing_qualifiers(asked, text, document_words=words.get(hit.document_uri)))

        return sorted(hits, key=lambda h: (missing(h), -h.score))

    def select(self, asked: Question, collection: str, hits: Sequence[Hit], budget: int) -> Selection:
        """The passages for ``asked`` from ``hits`` within ``budget`` tokens (see the module docstring)."""
        words = self.document_words(collection, [h.document_uri for h in hits])
        candidates = pack(self.order(asked, hits, words), budget_tokens=10**9, model=self.model, store=self.store,
                          collection=collection, keep_order=True)  # fmt: skip
        for source in candidates:
            source.document_words = words.get(source.document_uri, frozenset())
        quotes = rank_quotes(asked, candidates, similarity=self.similarity)
        first: dict[int, int] = {}
        for rank, quote in enumerate(quotes):
            first.setdefault(quote.source, rank)
        ordered = sorted(candidates, key=lambda s: (first.get(s.number, len(first)), s.number))
        chosen: list[PackedSource] = []
        used = 0
        for source in ordered:
            cost = source_tokens(source, self.model)
            if not chosen and cost > budget:
                best = quotes[first[source.number]] if source.number in first else None
                source = _trimmed(source, asked.text, budget, self.model, best) or source
                cost = source_tokens(source, self.model)
            if len(chosen) < self.max_sources and used + cost <= budget:
                chosen.append(source)
                used += cost
        taken = {s.number for s in chosen}
        rest = [s for s in ordered if s.number not in taken]
        renumber = {s.number: n for n, s in enumerate([*chosen, *rest], 1)}
        for source in [*chosen, *rest]:
            source.number = renumber[source.number]
        return Selection(chosen, rest, [replace(q, source=renumber[q.source]) for q in quotes], used)
