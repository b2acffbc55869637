"""Request hygiene for cookie-authenticated writes: same-origin checks, JSON-only API bodies,
cookie flags (``Secure`` whenever the request came over HTTPS)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from flask.sessions import SecureCookieSessionInterface

from agent_runtime.contract import ErrorCode

from .errors import ApiError

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_PREFIXES = ("/api/", "/agent/")
UPLOAD_PATH = "/api/files"


def cookie_secure() -> bool:
    """``COOKIE_SECURE``: ``true``/``false``, or ``auto`` (Secure when this request is HTTPS)."""
    setting = str(current_app.config.get("COOKIE_SECURE", "auto")).lower()
    if setting in {"1", "true", "yes", "on"}:
        return True
    if setting in {"0", "false", "no", "off"}:
        return False
    try:
        return bool(request.is_secure)
    except RuntimeError:
        return False


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session with the Secure flag decided per request."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return cookie_secure()


def check_same_origin() -> None:
    """Refuse a state-changing request that a browser marks as coming from another site.

    ``Sec-Fetch-Site`` (all current browsers) must be ``same-origin`` or ``none``; an ``Origin``
    header, when present, must be this host or one of ``ALLOWED_ORIGINS``.
    """
    if request.method not in UNSAFE_METHODS:
        return
    site = request.headers.get("Sec-Fetch-Site", "").lower()
    if site and site not in {"same-origin", "none"}:
        raise ApiError(403, ErrorCode.CROSS_SITE, "cross-site requests are not allowed")
    origin = request.headers.get("Origin")
    if origin is None:
        return
    if origin == "null":
        raise ApiError(403, ErrorCode.CROSS_SITE, "cross-site requests are not allowed")
    allowed = {o.strip().rstrip("/") for o in str(current_app.config.get("ALLOWED_ORIGINS", "")).split(",")}
    parts = urlsplit(origin)
    if origin.rstrip("/") in allowed:
        return
    if parts.netloc.lower() != request.host.lower():
        raise ApiError(403, ErrorCode.CROSS_SITE, "cross-site requests are not allowed")


def check_json_body() -> None:
    """API writes take ``application/json`` only (a ``text/plain`` body is a CSRF shape)."""
    if request.method not in UNSAFE_METHODS or not request.path.startswith(JSON_PREFIXES):
        return
    has_body = (request.content_length or 0) > 0 or "chunked" in request.headers.get("Transfer-Encoding", "")
    if request.path == UPLOAD_PATH and request.method == "POST":
        # Uploads are multipart; the CSRF token (header) and the same-origin check still apply.
        if request.mimetype != "multipart/form-data":
            raise ApiError(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send the file as multipart/form-data")
        return
    if (has_body or request.mimetype) and request.mimetype != "application/json":
        raise ApiError(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send the body as application/json")


def csrf_guard() -> None:
    """Flask-WTF's check (token in the form or ``X-CSRFToken``) on every unsafe request.

    Anonymous calls to the JSON APIs are left to the views, which answer 401; they can change
    nothing, and the browser needs the 401 to send the person back to sign in.
    """
    from flask_login import current_user

    from .extensions import csrf

    if request.method not in UNSAFE_METHODS:
        return
    if request.path.startswith(JSON_PREFIXES) and not current_user.is_authenticated:
        return
    csrf.protect()


def secure_remember_cookie(response: Response) -> Response:
    """Flask-Login reads its Secure flag from static config; add it when the request was HTTPS."""
    if not cookie_secure():
        return response
    name = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    cookies = response.headers.getlist("Set-Cookie")
    if not any(c.startswith(name + "=") and "; Secure" not in c for c in cookies):
        return response
    response.headers.remove("Set-Cookie")
    for cookie in cookies:
        if cookie.startswith(name + "=") and "; Secure" not in cookie:
            cookie += "; Secure"
        response.headers.add("Set-Cookie", cookie)
    return response


def no_store(response: Response) -> Response:
    """API answers are never cached."""
    if request.path.startswith(JSON_PREFIXES) and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response
