"""Error responses: ``{"error": {"code", "message", "request_id"}}`` with stable codes.

Quarry's own errors map to status codes by type; anything unexpected is a 500 whose body says
nothing about the cause (the cause goes to the server log, with the request id).
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from quarry.errors import (
    BudgetExceeded,
    CollectionNotFound,
    ConfigError,
    EmbeddingError,
    ParseError,
    ProviderError,
    ProviderTimeout,
    QuarryError,
    SourceError,
    StoreError,
    StructuredOutputError,
)

__all__ = ["CALLER_KEY", "REQUEST_ID", "ApiError", "error_body", "install_handlers", "route_of", "status_of"]

log = logging.getLogger("quarry.api")

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("quarry_request_id", default="")
CALLER_KEY: contextvars.ContextVar[str] = contextvars.ContextVar("quarry_caller_key", default="")


class ApiError(Exception):
    """An error the API raises on purpose: ``status``, a stable ``code`` and a message saying what to fix."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


# Most specific first: the first isinstance match wins.
_QUARRY_ERRORS: tuple[tuple[type[QuarryError], int, str], ...] = (
    (CollectionNotFound, 404, "collection_not_found"),
    (ConfigError, 400, "invalid_request"),
    (SourceError, 400, "source_error"),
    (ParseError, 422, "unparseable_document"),
    (StoreError, 400, "store_rejected"),
    (EmbeddingError, 502, "embedding_failed"),
    (ProviderTimeout, 504, "model_timeout"),
    (ProviderError, 502, "model_failed"),
    (BudgetExceeded, 422, "budget_exceeded"),
    (StructuredOutputError, 502, "model_output_invalid"),
)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def status_of(exc: QuarryError) -> tuple[int, str]:
    for kind, status, code in _QUARRY_ERRORS:
        if isinstance(exc, kind):
            return status, code
    return 400, "quarry_error"


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": REQUEST_ID.get()}}


def route_of(scope: Any) -> str:
    """The route template (``/v1/jobs/{job_id}``) of a request, for metric labels."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def _respond(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.observe_error(route_of(request.scope), code)
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _respond(request, exc.status, exc.code, exc.message, exc.headers)


async def _quarry_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QuarryError)
    status, code = status_of(exc)
    if status >= 500:
        log.warning("request %s failed: %s", REQUEST_ID.get(), exc)
    return _respond(request, status, code, str(exc))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = f"invalid {where}: {first.get('msg', 'invalid request')}" if where else "invalid request"
    return _respond(request, 422, "validation_error", message)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    return _respond(request, exc.status_code, code, str(exc.detail), dict(exc.headers or {}))


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(QuarryError, _quarry_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
