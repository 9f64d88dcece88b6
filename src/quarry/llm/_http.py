"""Shared by the HTTP providers: turning SDK/transport failures into :class:`ProviderError`."""

from __future__ import annotations

import httpx

from quarry.errors import ProviderError, ProviderTimeout, ProviderUnreachable
from quarry.retries import RETRYABLE_STATUSES, parse_retry_after

__all__ = ["RETRYABLE_STATUSES", "parse_retry_after", "status_error", "transport_error"]


def _hint(status: int, api_key_env: str | None) -> str:
    if status in (401, 403):
        where = f"the {api_key_env} environment variable" if api_key_env else "the configured API key"
        return f"check the API key in {where}"
    if status == 404:
        return "check llm.model and llm.base_url"
    if status == 429:
        return "rate limited: retried with backoff; lower concurrency or raise the provider quota"
    if status >= 500:
        return "the provider is failing; retried, configure llm.fallback to answer from another model"
    return ""


def status_error(
    provider: str, status: int, message: str, *, retry_after: str | None, api_key_env: str | None
) -> ProviderError:
    """The error for an HTTP error answer."""
    return ProviderError(
        f"{provider} answered HTTP {status}: {message}",
        provider=provider,
        status=status,
        hint=_hint(status, api_key_env),
        retry_after=parse_retry_after(retry_after),
    )


def transport_error(provider: str, exc: BaseException, *, timeout: bool) -> ProviderError:
    """The error for a timeout or a failed/dropped connection."""
    if timeout or isinstance(exc, httpx.TimeoutException):
        return ProviderTimeout(
            f"{provider} did not answer in time ({type(exc).__name__})",
            provider=provider,
            hint="raise llm.timeout_s or check the server's load",
        )
    return ProviderUnreachable(
        f"cannot reach {provider}: {type(exc).__name__}: {exc}",
        provider=provider,
        hint="check llm.base_url and that the server is running",
    )
