"""The web app's exceptions and its one JSON error envelope."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from agent_runtime.contract import ErrorCode


class PlaybookError(Exception):
    """Base of every error the web app raises on purpose."""


class ConfigError(PlaybookError):
    """The configuration is unusable (a user mistake caught at start-up)."""


class AppendOnlyError(PlaybookError):
    """Something tried to change or remove an audit row (the trail is append-only)."""

    code = ErrorCode.AUDIT_APPEND_ONLY


class ApiError(PlaybookError):
    """A refusal reported as ``{error: {code, message}}`` with an HTTP status."""

    def __init__(
        self, status: int, code: ErrorCode, message: str, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = dict(extra or {})
        """More fields of the envelope's ``error`` (e.g. the first decision of a 409)."""


DATABASE_UNAVAILABLE = ErrorCode.DATABASE_UNAVAILABLE
DATABASE_UNAVAILABLE_MESSAGE = "The database is not answering right now. Please try again in a moment."

_STATUS_CODES: dict[int, ErrorCode] = {
    400: ErrorCode.INVALID_PAYLOAD,
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    429: ErrorCode.TOO_MANY_REQUESTS,
    500: ErrorCode.INTERNAL,
    502: ErrorCode.UPSTREAM_FAILED,
    503: ErrorCode.RUNTIME_UNAVAILABLE,
    504: ErrorCode.RUNTIME_TIMEOUT,
}


def error_response(
    status: int, code: ErrorCode, message: str, extra: dict[str, Any] | None = None
) -> Response:
    """The JSON error envelope ``{error: {code, message}}`` (``extra`` adds fields to ``error``).

    ``code`` is always an :class:`ErrorCode`.
    """
    response = jsonify({"error": {**(extra or {}), "code": code.value, "message": message}})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def wants_json() -> bool:
    """API paths and JSON callers get the envelope; pages get an HTML error page."""
    path = request.path
    if path.startswith(("/api/", "/agent/")) or path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def register_errorhandlers(app: Flask) -> None:
    """Register the envelope for :class:`ApiError` and every HTTP error."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Any:
        if wants_json():
            return error_response(exc.status, exc.code, exc.message, exc.extra)
        return _page(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        message = exc.description or exc.name
        if status == 413:
            message = "the request body is too large"
        if wants_json():
            return error_response(status, _STATUS_CODES.get(status, ErrorCode.HTTP_ERROR), message)
        return _page(status, message)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeoutError)
    def _database_unavailable(exc: Exception) -> Any:
        # The database is down, unreachable, out of pooled connections or write-locked past
        # DB_BUSY_TIMEOUT_MS: a temporary condition, not a bug.
        app.logger.warning("path=<%s>, error=<%s> | database unavailable", request.path, type(exc).__name__)
        if wants_json():
            response = error_response(503, DATABASE_UNAVAILABLE, DATABASE_UNAVAILABLE_MESSAGE)
        else:
            # The page must not need the database: show it as to a signed-out visitor.
            from flask import g

            from .extensions import login_manager

            g._login_user = login_manager.anonymous_user()
            response = app.make_response(
                (
                    render_template(
                        "error.html",
                        status=503,
                        title="Temporarily unavailable",
                        message=DATABASE_UNAVAILABLE_MESSAGE,
                    ),
                    503,
                )
            )
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        app.logger.exception("path=<%s> | unhandled error", request.path)
        if wants_json():
            return error_response(500, ErrorCode.INTERNAL, "internal error")
        return _page(500, "Something went wrong on our side.")


def _page(status: int, message: str) -> tuple[str, int]:
    titles = {
        401: "Please sign in",
        403: "Not allowed",
        404: "Not found",
        413: "Too large",
        429: "Too many attempts",
    }
    return render_template(
        "error.html", status=status, title=titles.get(status, "Error"), message=message
    ), status
