"""Quarry: grounded, cited answers over your documents, traced and measured."""

__version__ = "0.1.0"
