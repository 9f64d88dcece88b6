"""The error tree. Every error Quarry raises on purpose is a :class:`QuarryError`.

::

    QuarryError                 (message, hint)
    ├── ConfigError             bad settings or CLI arguments (key)
    ├── SourceError             a source cannot be read: missing path, HTTP error, SQL error (source)
    ├── ParseError              one document cannot be parsed (uri, reason)
    │   ├── UnsupportedFormat   no parser for this file type
    │   ├── EncryptedDocument   password-protected input
    │   └── DocumentTooLarge    over the configured size limit
    ├── StoreError              the store refused an operation (operation)
    │   └── CollectionNotFound  (collection)
    ├── EmbeddingError          an embedder failed (model)
    └── ProviderError           a remote provider answered with an error (provider, status)

Each error renders as ``message`` plus, when present, ``hint`` — what to do about it.
"""

from __future__ import annotations

__all__ = [
    "CollectionNotFound",
    "ConfigError",
    "DocumentTooLarge",
    "EmbeddingError",
    "EncryptedDocument",
    "ParseError",
    "ProviderError",
    "QuarryError",
    "SourceError",
    "StoreError",
    "UnsupportedFormat",
]


class QuarryError(Exception):
    """Root of Quarry's errors: a message saying what went wrong and a hint saying how to fix it."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(QuarryError):
    def __init__(self, message: str, *, key: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.key = key


class SourceError(QuarryError):
    def __init__(self, message: str, *, source: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.source = source


class ParseError(QuarryError):
    """``uri`` could not be parsed; ``reason`` is a short machine-friendly cause."""

    reason = "parse-failed"

    def __init__(self, message: str, *, uri: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.uri = uri


class UnsupportedFormat(ParseError):
    reason = "unsupported-format"


class EncryptedDocument(ParseError):
    reason = "encrypted"


class DocumentTooLarge(ParseError):
    reason = "too-large"


class StoreError(QuarryError):
    def __init__(self, message: str, *, operation: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.operation = operation


class CollectionNotFound(StoreError):
    def __init__(self, collection: str) -> None:
        super().__init__(
            f"collection {collection!r} does not exist",
            operation="collection",
            hint="list collections with `quarry collections` or ingest into it first",
        )
        self.collection = collection


class EmbeddingError(QuarryError):
    def __init__(self, message: str, *, model: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.model = model


class ProviderError(QuarryError):
    def __init__(self, message: str, *, provider: str, status: int | None = None, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.provider = provider
        self.status = status
