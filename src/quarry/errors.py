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
    ├── ProviderError           a model provider failed (provider, status, retry_after)
    │   ├── ProviderTimeout     no answer within the configured timeout
    │   └── ProviderUnreachable connection refused, dropped or reset before an answer
    ├── BudgetExceeded          a token or cost budget ran out (kind, limit, spent)
    └── StructuredOutputError   the model's output never validated against the schema (attempts, last_error)

Each error renders as ``message`` plus, when present, ``hint`` — what to do about it.
"""

from __future__ import annotations

__all__ = [
    "BudgetExceeded",
    "CollectionNotFound",
    "ConfigError",
    "DocumentTooLarge",
    "EmbeddingError",
    "EncryptedDocument",
    "ParseError",
    "ProviderError",
    "ProviderTimeout",
    "ProviderUnreachable",
    "QuarryError",
    "SourceError",
    "StoreError",
    "StructuredOutputError",
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


class BinaryContent(ParseError):
    """Bytes that are not text, under a text file's name (an image or archive called .txt)."""

    reason = "binary"


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
    """``provider`` failed; ``status`` is the HTTP status when there was one.

    ``retry_after`` is the wait in seconds the provider asked for (a ``Retry-After`` header), if any.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        hint: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.provider = provider
        self.status = status
        self.retry_after = retry_after


class ProviderTimeout(ProviderError):
    """No answer from ``provider`` within the timeout."""


class ProviderUnreachable(ProviderError):
    """The connection to ``provider`` failed or was dropped before an answer arrived."""


class BudgetExceeded(QuarryError):
    """A ``kind`` budget of ``limit`` was exceeded: ``spent`` is the amount used (or, when raised before a call,
    the amount the call would certainly have brought it to). Kinds: ``tokens`` and ``cost`` (a model's budget);
    an agent run's ``steps``, ``tokens``, ``cost_usd``, ``wall_s``, ``calls:<tool>`` and ``loop``."""

    def __init__(self, kind: str, *, limit: float, spent: float, hint: str = "") -> None:
        unit = _UNITS.get(kind.split(":")[0], "tokens")
        super().__init__(
            f"{kind} budget exceeded: {spent:g} {unit} spent of a {limit:g} {unit} limit",
            hint=hint or "raise llm.budget in the settings or send a shorter request",
        )
        self.kind = kind
        self.limit = limit
        self.spent = spent


_UNITS = {"cost": "USD", "cost_usd": "USD", "steps": "steps", "wall_s": "s", "calls": "calls", "loop": "repeats"}


class StructuredOutputError(QuarryError):
    """After ``attempts`` tries the output still failed validation; ``last_error`` says how."""

    def __init__(self, *, attempts: int, last_error: str, output: str = "") -> None:
        super().__init__(
            f"model output failed schema validation after {attempts} attempt(s): {last_error}",
            hint="loosen the schema, bound string lengths (maxLength), or use a stronger model",
        )
        self.attempts = attempts
        self.last_error = last_error
        self.output = output
