"""Embedders: text → L2-normalised float32 vectors. onnxruntime is imported only when first needed."""

from quarry.embeddings.base import Embedder
from quarry.embeddings.cached import CachedEmbedder
from quarry.embeddings.onnx_minilm import MiniLMEmbedder
from quarry.embeddings.openai_compat import OpenAICompatibleEmbedder

__all__ = ["CachedEmbedder", "Embedder", "MiniLMEmbedder", "OpenAICompatibleEmbedder"]
