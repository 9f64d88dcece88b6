"""LlamaIndex as a typical user builds hybrid search, with Quarry's own embedding model.

Documents are SciFact title + abstract; LlamaIndex's default ``SentenceSplitter`` (1,024 tokens,
200 overlap) makes the nodes; ``VectorStoreIndex`` embeds them into the default in-memory
``SimpleVectorStore``; ``BM25Retriever.from_defaults(nodes=...)`` (bm25s, English stemming and
stopwords) indexes the same nodes; ``QueryFusionRetriever`` fuses the two with ``num_queries=1``,
so no LLM is ever called. Each fusion mode LlamaIndex ships is measured, and each retriever alone.

Same model: :class:`QuarryMiniLM` wraps ``quarry.embeddings.MiniLMEmbedder`` (int8 ONNX) as a
LlamaIndex ``BaseEmbedding``; it is given ``embed_batch_size=512`` so the embedder sorts and batches
as many texts per call as Quarry's ingest does (LlamaIndex's default of 10 would only be slower).
``Settings.tokenizer`` counts MiniLM WordPiece tokens, so chunk sizes are in the embedder's tokens
(LlamaIndex's bundled tiktoken cache also works offline). Nothing may reach the network:
``measure.forbid_network`` is installed before llama_index is imported.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.embeddings.base import Embedding as LlamaEmbedding
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.schema import BaseNode
from llama_index.retrievers.bm25 import BM25Retriever
from pydantic import PrivateAttr

from measure import Built, Config, Search, Stopwatch, read_corpus
from quarry.embeddings import MiniLMEmbedder
from quarry.embeddings.onnx_minilm import load_tokenizer

FUSION_MODES = ("reciprocal_rerank", "relative_score", "dist_based_score")


class QuarryMiniLM(BaseEmbedding):
    """Quarry's MiniLM embedder behind LlamaIndex's embedding interface.

    ``cache`` maps text → vector; it is only filled for ``--reuse`` runs, so development runs can
    skip the ~5 minutes of embedding. A fresh run starts with it empty: every node is embedded.
    """

    _embedder: MiniLMEmbedder = PrivateAttr()
    _cache: dict[str, list[float]] = PrivateAttr()

    def __init__(self, embedder: MiniLMEmbedder, cache: dict[str, list[float]], **kwargs: Any) -> None:
        super().__init__(model_name=embedder.model_id, **kwargs)
        self._embedder = embedder
        self._cache = cache

    @classmethod
    def class_name(cls) -> str:
        return "QuarryMiniLM"

    def _get_query_embedding(self, query: str) -> LlamaEmbedding:
        vector: list[float] = self._embedder.embed_query(query).tolist()
        return vector

    async def _aget_query_embedding(self, query: str) -> LlamaEmbedding:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> LlamaEmbedding:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[LlamaEmbedding]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            self._cache.update(zip(missing, self._embedder.embed(missing).tolist(), strict=True))
        return [self._cache[t] for t in texts]

    @property
    def cache(self) -> dict[str, list[float]]:
        return self._cache


def configure(embed_model: QuarryMiniLM) -> None:
    wordpiece = load_tokenizer()
    Settings.llm = None  # MockLLM: num_queries=1 never asks for generated queries
    Settings.embed_model = embed_model
    Settings.tokenizer = lambda text: wordpiece.encode(text, add_special_tokens=False).ids


def build_llamaindex(corpus: Path, cache_file: Path, reuse: bool) -> Built:
    cache: dict[str, list[float]] = {}
    if reuse and cache_file.exists():
        cache = pickle.loads(cache_file.read_bytes())
    embed_model = QuarryMiniLM(MiniLMEmbedder(), cache, embed_batch_size=512)
    configure(embed_model)
    cached_before = len(cache)
    with Stopwatch() as watch:
        documents = [Document(id_=d.doc_id, text=f"{d.title}\n\n{d.text}") for d in read_corpus(corpus)]
        nodes = SentenceSplitter().get_nodes_from_documents(documents)
        index = VectorStoreIndex(nodes, embed_model=embed_model)
        vector = index.as_retriever(similarity_top_k=10)
        bm25 = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=10)
    reused = reuse and cached_before >= len(nodes)
    if not reused:  # kept for later --reuse runs; written after the clock stopped
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_bytes(pickle.dumps(embed_model.cache))
    configs = [
        Config("LlamaIndex vector (SimpleVectorStore)", _search(vector)),
        Config("LlamaIndex BM25Retriever", _search(bm25)),
    ]
    for mode in FUSION_MODES:
        fusion = QueryFusionRetriever([vector, bm25], mode=mode, num_queries=1, similarity_top_k=10)  # type: ignore[arg-type]
        configs.append(Config(f"LlamaIndex QueryFusionRetriever {mode}", _search(fusion, vector, bm25)))
    note = f"{len(documents)} documents → {len(nodes)} nodes ({_multi_node_docs(nodes)} documents split into >1 node)"
    return Built(configs, watch.seconds, reused, [note])


def _multi_node_docs(nodes: list[BaseNode]) -> int:
    counts: dict[str, int] = {}
    for node in nodes:
        counts[str(node.ref_doc_id)] = counts.get(str(node.ref_doc_id), 0) + 1
    return sum(1 for n in counts.values() if n > 1)


def _search(retriever: BaseRetriever, *parts: BaseRetriever) -> Search:
    """Ask ``retriever`` (and the retrievers it fuses) for ``k`` nodes; SciFact ids, each once."""

    def search(query: str, k: int) -> list[str]:
        for each in (retriever, *parts):
            each.similarity_top_k = k  # type: ignore[attr-defined]
        found = retriever.retrieve(query)
        ids = [node.node.ref_doc_id for node in found]
        if any(doc_id is None for doc_id in ids):
            raise RuntimeError("a LlamaIndex node lost its source document id")
        return list(dict.fromkeys(str(doc_id) for doc_id in ids))

    return search
