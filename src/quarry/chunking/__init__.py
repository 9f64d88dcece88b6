"""Chunking: split parsed documents into embedder-sized, heading-aware spans."""

from quarry.chunking.recursive import chunk_document
from quarry.chunking.sections import Section, split_sections

__all__ = ["Section", "chunk_document", "split_sections"]
