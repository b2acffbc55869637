"""Request hygiene for cookie-authenticated writes: same-origin checks, JSON-only API bodies read
and parsed before anything else, cookie flags (``Secure`` over HTTPS and in production) and the
security headers every response carries."""

from __future__ import annotations

import hmac
import tempfile
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import same_origin
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.exceptions import RequestEntityTooLarge

from agent_runtime.contract import (
    TEXT_RULE_MESSAGE,
    ErrorCode,
    Limits,
    PayloadError,
    loads_json,
    text_problem,
)

from .config import is_production
from .errors import ApiError

if TYPE_CHECKING:
    from werkzeug.datastructures import Headers

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_PREFIXES = ("/api/", "/agent/")
UPLOAD_PATH = "/api/files"
UPLOAD_FORM_OVERHEAD = 64 * 1024
"""Room for the multipart boundaries around the file (as ``webapp.files.views``)."""
SAVE_PATHS = ("/agent/save-playbook", "/api/playbooks/")
CHAT_PATH = "/api/agent/run"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
"""No inline script or style, nothing from elsewhere, never framed (the Vue build satisfies it)."""


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
    """Flask's signed-cookie session with the Secure flag decided per request.

    Flask builds a new signing serializer for every request that reads or writes the session; this
    one keeps the last one built and reuses it while the app's keys are the same.
    """

    def __init__(self) -> None:
        self._serializer: tuple[tuple[Any, ...], URLSafeTimedSerializer | None] | None = None

    def get_cookie_secure(self, app: Flask) -> bool:
        return cookie_secure()

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = self._serializer
        if cached is None or cached[0] != keys:
            cached = self._serializer = (keys, super().get_signing_serializer(app))
        return cached[1]


def check_same_origin() -> None:
    """Refuse a state-changing request that a browser marks as coming from another site.

    ``Sec-Fetch-Site`` (all current browsers) must be ``same-origin`` or ``none``; an ``Origin``
    header, when present, must be this host or one of ``ALLOWED_ORIGINS``.
    """
    if request.method not in UNSAFE_METHODS:
        return
    headers = request.headers
    if cross_site(
        headers.get("Sec-Fetch-Site", ""),
        headers.get("Origin"),
        request.scheme,
        request.host,
        str(current_app.config.get("ALLOWED_ORIGINS", "")),
    ):
        raise ApiError(403, ErrorCode.CROSS_SITE, "cross-site requests are not allowed")


def cross_site(site: str, origin: str | None, scheme: str, host: str, allowed_origins: str) -> bool:
    """Whether a request with these ``Sec-Fetch-Site`` and ``Origin`` headers comes from another site
    (:func:`check_same_origin`'s rule; ``scheme`` and ``host`` are this request's)."""
    site = site.lower()
    if site and site not in {"same-origin", "none"}:
        return True
    if origin is None:
        return False
    if origin == "null":
        return True
    allowed = {o.strip().rstrip("/") for o in allowed_origins.split(",")}
    if origin.rstrip("/") in allowed:
        return False
    # Scheme and host: http://host is another origin than https://host.
    parts = urlsplit(origin)
    return parts.scheme.lower() != scheme.lower() or parts.netloc.lower() != host.lower()


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


def check_query_text() -> None:
    """The contract's text rule for query strings too (``?session=%00`` would reach a Postgres
    query as a NUL): refused with a 400 before anything reads them. (Form fields: the sign-in
    view applies the rule itself.)"""
    for key, value in request.args.items(multi=True):
        if text_problem(key) or text_problem(value):
            raise ApiError(400, ErrorCode.INVALID_PAYLOAD, f"a query parameter's {TEXT_RULE_MESSAGE}")


def body_limit(path: str) -> int:
    """The largest body a JSON API path takes: a save's, a chat turn's (with inline files), or an
    invocation's."""
    if path.startswith(SAVE_PATHS):
        return Limits.MAX_SAVE_BYTES
    if path == CHAT_PATH:
        return Limits.MAX_CHAT_REQUEST_BYTES
    return Limits.MAX_INVOCATION_BYTES


def read_json_body() -> None:
    """Read, size-check and parse an API write's body before anything takes a database connection.

    Runs before the CSRF check and the views (both load the user from the database), so a client
    trickling a body in holds a worker thread but never a pooled connection. The size limit holds
    for a chunked body too: at most one byte past it is read before the 413. The parsed body is
    ``g.json_body`` (``None`` when there was none); views read it with :func:`json_body`.

    Raises:
        ApiError: 413 for a body over the limit; 400 for one that is not JSON, nested too deep, or
            holding text that breaks the contract's text rule.
    """
    if request.method not in UNSAFE_METHODS or not request.path.startswith(JSON_PREFIXES):
        return
    if request.path == UPLOAD_PATH and request.method == "POST":
        _buffer_upload()
        return
    limit = body_limit(request.path)
    too_large = ApiError(413, ErrorCode.PAYLOAD_TOO_LARGE, f"the request body is larger than {limit} bytes")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    if request.content_length is None and request.environ.get("wsgi.input_terminated"):
        # A chunked body: read at most limit + 1 bytes, so a larger one is refused, not truncated.
        raw = _read_capped(request.environ["wsgi.input"], limit)
        if raw is None:
            raise too_large
        request._cached_data = raw  # what request.get_data() returns from now on
    else:
        request.max_content_length = limit
        try:
            raw = request.get_data(cache=True)
        except RequestEntityTooLarge:
            raise too_large from None
    if len(raw) > limit:
        raise too_large
    if not raw.strip():
        g.json_body = None
        return
    try:
        g.json_body = loads_json(raw)
    except PayloadError as exc:
        raise ApiError(400, exc.code, exc.message) from None


def _buffer_upload() -> None:
    """Receive a multipart upload in full (within the upload limit) before the user is loaded.

    The body goes to a spooled temporary file (memory up to 1 MB, then disk) that replaces the
    request's input, so the form is parsed later from it at local speed. Closed at teardown.

    Raises:
        ApiError: 413 ``FILE_TOO_LARGE`` as soon as the body is larger than the limit.
    """
    max_bytes = min(
        int(current_app.config.get("ATTACH_MAX_FILE_BYTES", Limits.MAX_FILE_BYTES)), Limits.MAX_FILE_BYTES
    )
    limit = max_bytes + UPLOAD_FORM_OVERHEAD
    too_large = ApiError(
        413, ErrorCode.FILE_TOO_LARGE, f"the file is larger than {max_bytes // (1024 * 1024)} MB"
    )
    wsgi_env = request.environ
    declared = request.content_length
    if declared is not None and declared > limit:
        raise too_large
    # The upload's own limit, not the app-wide one, for every later read (the CSRF check parses the
    # form before the view does).
    request.max_content_length = limit
    if declared is None and not wsgi_env.get("wsgi.input_terminated"):
        return  # no body
    buffer = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - closed at teardown
    g.upload_buffer = buffer
    stream, size = wsgi_env["wsgi.input"], 0
    while declared is None or size < declared:
        want = 64 * 1024 if declared is None else min(64 * 1024, declared - size)
        chunk = stream.read(min(want, limit + 1 - size))
        if not chunk:
            break
        buffer.write(chunk)
        size += len(chunk)
        if size > limit:
            raise too_large
    buffer.seek(0)
    wsgi_env["wsgi.input"] = buffer
    wsgi_env["CONTENT_LENGTH"] = str(size)
    wsgi_env.pop("HTTP_TRANSFER_ENCODING", None)
    wsgi_env.pop("wsgi.input_terminated", None)


def close_upload_buffer(_exc: BaseException | None) -> None:
    """Teardown: close the buffered upload body, if any."""
    buffer = g.pop("upload_buffer", None)
    if buffer is not None:
        buffer.close()


def _read_capped(stream: Any, limit: int) -> bytes | None:
    """Up to ``limit`` bytes of ``stream``; ``None`` as soon as it has more."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(64 * 1024, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None


def json_body() -> dict[str, Any]:
    """The request's JSON object, as :func:`read_json_body` parsed it.

    Raises:
        ApiError: 400 when the body is not a JSON object.
    """
    if "json_body" not in g:
        read_json_body()
    body = g.get("json_body")
    if not isinstance(body, dict):
        raise ApiError(400, ErrorCode.INVALID_PAYLOAD, "the body must be a JSON object")
    return body


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


def csrf_header_valid(
    config: Mapping[str, Any], session_data: Mapping[str, Any], wsgi_environ: Mapping[str, Any], host: str
) -> bool:
    """Whether Flask-WTF's check (:func:`csrf_guard`) passes a JSON request, from explicit values.

    The express lane (:mod:`webapp.agent.express`) asks this without a request context: the token
    from the first ``WTF_CSRF_HEADERS`` header that has one, signed with ``WTF_CSRF_SECRET_KEY`` or
    ``SECRET_KEY`` (salt ``wtf-csrf-token``), within ``WTF_CSRF_TIME_LIMIT``, equal to the session's;
    over HTTPS with ``WTF_CSRF_SSL_STRICT``, a ``Referer`` of this host. (A JSON body has no form
    field to carry the token.) ``tests/unit/webapp/test_express.py`` holds it to Flask-WTF's own
    answers.
    """
    token = next(
        (
            value
            for name in config.get("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
            if (value := wsgi_environ.get("HTTP_" + name.upper().replace("-", "_")))
        ),
        None,
    )
    field_name = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    secret = config.get("WTF_CSRF_SECRET_KEY") or config.get("SECRET_KEY")
    if not token or not secret or field_name not in session_data:
        return False
    try:
        signed = URLSafeTimedSerializer(secret, salt="wtf-csrf-token").loads(
            token, max_age=config.get("WTF_CSRF_TIME_LIMIT", 3600)
        )
    except BadData:
        return False
    if not isinstance(signed, str) or not hmac.compare_digest(str(session_data[field_name]), signed):
        return False
    if wsgi_environ.get("wsgi.url_scheme") == "https" and config.get("WTF_CSRF_SSL_STRICT", True):
        referrer = wsgi_environ.get("HTTP_REFERER")
        return bool(referrer) and same_origin(referrer, f"https://{host}/")
    return True


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


SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
"""Set on every response that does not set them itself."""


def security_headers(response: Response) -> Response:
    """The headers every response carries (:func:`add_security_headers`)."""
    add_security_headers(response.headers, current_app.config)
    return response


def add_security_headers(headers: Headers, config: Mapping[str, Any]) -> None:
    """Add :data:`SECURITY_HEADERS` (and HSTS in production) to a response's ``headers``.

    One pass over the headers (every request pays for this, the stream path too): a view that set
    one of them keeps its own value.
    """
    present = {key.lower() for key in headers.keys()}
    for name, value in SECURITY_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)

    hsts = int(config.get("HSTS_SECONDS", 0) or 0)
    if is_production(config) and hsts > 0:
        headers.setdefault("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")


def no_store(response: Response) -> Response:
    """API answers are never cached."""
    if request.path.startswith(JSON_PREFIXES) and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response
