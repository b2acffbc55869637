"""The express lane: a plain stream opening, accepted without Flask's request machinery.

Opening a stream is the web app's hot path (``make bench``: 250 streams opened at once wait for one
another's openings, so the last first byte comes after all of them). Through Flask an opening
builds a request and its context, runs eight ``before_request`` hooks, Flask-Login's and
Flask-WTF's machinery, six ``after_request`` hooks and the session's save: more CPU than the
checks themselves, the lease statement and the runtime request together.

This WSGI middleware sits in front of the Flask app (inside ``ProxyFix``, behind the opening
gate) and takes the common openings — a chat turn without files, ``watch``, ``stop``, ``reset`` —
straight through the same steps, in the same order, with the same functions:

1. same origin (:func:`~webapp.security.cross_site`), ``application/json``, no query string;
2. the body: a declared length within the path's limit, read whole, parsed by the contract's
   ``loads_json``, then :func:`~webapp.agent.views.chat_body` / ``action_body``;
3. the signed-in user: the Flask session cookie, verified by the app's own session serializer, its
   Flask-Login ``_user_id`` (user and login generation, as :mod:`webapp.agent.principal` reads it);
4. CSRF: :func:`~webapp.security.csrf_header_valid` (Flask-WTF's rule for a header token);
5. the view's own steps: :func:`~webapp.agent.views.check_opening` (payload, token, identity),
   :func:`~webapp.agent.views.take_lease` (the one statement), ``relay_response``;
6. the response carries the stream headers, the security headers and ``Vary: Cookie``, as
   Flask's would.

It only ever *accepts*. Whatever it does not take on — another endpoint or action, a query string,
a chunked or oversized body, a cookie that is missing, unsigned, permanent or names a user in
another form, a failed check — goes to the Flask app unchanged (the body it read is put back), and
Flask answers it as it always has. A refusal decided after the checks (the token, the lease, the
runtime) is answered by Flask too: the error is handed over in the WSGI environ and raised by the first
``before_request`` hook (:func:`raise_express_refusal`), so the envelope, its headers and its log
line are Flask's.

``EXPRESS_OPENINGS = False`` in the app's configuration sends every opening through Flask (the
tests compare both lanes on the same requests).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature
from werkzeug.http import parse_cookie, parse_options_header
from werkzeug.wsgi import get_host

from agent_runtime.contract import Action, PayloadError, loads_json

from ..audit import AuditContext, ids_from_headers
from ..errors import ApiError
from ..openings import STREAM_PREFIX, read_declared_body
from ..security import add_security_headers, body_limit, cross_site, csrf_header_valid

if TYPE_CHECKING:
    from flask import Flask

logger = logging.getLogger(__name__)

REFUSAL_KEY = "webapp.express_refusal"
"""The WSGI environ key of an error the express lane hands to Flask to answer."""

EXPRESS_ACTIONS = frozenset({Action.WATCH, Action.STOP, Action.RESET})
"""Out-of-band actions taken here; ``resume_interrupt``, ``edit``, ``undo`` and ``redo`` load the
person (their audit names them) and go through Flask."""

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ExpressOpenings:
    """WSGI middleware: plain stream openings accepted here, everything else passed to ``wsgi_app``."""

    def __init__(self, app: Flask, wsgi_app: WsgiApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(
        self, wsgi_environ: dict[str, Any], start_response: Callable[..., Any], /
    ) -> Iterable[bytes]:
        route = _route(wsgi_environ)
        if route is None or not self.app.config.get("EXPRESS_OPENINGS", True):
            return self.wsgi_app(wsgi_environ, start_response)
        raw = read_declared_body(wsgi_environ, body_limit(str(wsgi_environ["PATH_INFO"])))
        if raw is None:  # Flask reads the same bytes, if any were read
            return self.wsgi_app(wsgi_environ, start_response)
        opening = self._accept(wsgi_environ, route, raw)
        if opening is None:
            return self.wsgi_app(wsgi_environ, start_response)
        try:
            with self.app.app_context():
                response = _open(wsgi_environ, *opening)
        except Exception as exc:  # noqa: BLE001 - Flask answers (and logs) every failure
            wsgi_environ[REFUSAL_KEY] = exc
            return self.wsgi_app(wsgi_environ, start_response)
        add_security_headers(response.headers, self.app.config)
        response.headers.add("Vary", "Cookie")  # the session was read, as Flask marks it
        return response(wsgi_environ, start_response)

    def _accept(
        self, wsgi_environ: dict[str, Any], route: tuple[str | None, str], raw: bytes
    ) -> tuple[dict[str, Any], int, int] | None:
        """The body and the signed-in user (id, login generation) if every check before the view's
        passes; None to let Flask decide."""
        config = self.app.config
        if config.get("TRUSTED_HOSTS") or wsgi_environ.get("QUERY_STRING"):
            return None
        host = get_host(wsgi_environ)
        if cross_site(
            str(wsgi_environ.get("HTTP_SEC_FETCH_SITE", "")),
            wsgi_environ.get("HTTP_ORIGIN"),
            str(wsgi_environ.get("wsgi.url_scheme", "http")),
            host,
            str(config.get("ALLOWED_ORIGINS", "")),
        ):
            return None
        if parse_options_header(wsgi_environ.get("CONTENT_TYPE", ""))[0].lower() != "application/json":
            return None
        user = self._signed_in(wsgi_environ, host)
        if user is None:
            return None
        from .views import action_body, chat_body

        try:
            body = loads_json(raw) if raw.strip() else None
            if not isinstance(body, dict):
                return None
            sid, action = route
            if sid is None:
                body = chat_body(body, len(raw))
                if "files" in body:
                    return None  # attachments are linked as the loaded person: Flask's lane
            else:
                body = action_body(sid, action, body, wsgi_environ.get("HTTP_LAST_EVENT_ID"))
        except (PayloadError, ApiError):
            return None
        return body, *user

    def _signed_in(self, wsgi_environ: dict[str, Any], host: str) -> tuple[int, int] | None:
        """(user id, login generation) from a valid session cookie with a valid CSRF header."""
        from ..auth import parse_login_id

        app = self.app
        cookie = parse_cookie(wsgi_environ.get("HTTP_COOKIE", "")).get(str(app.config["SESSION_COOKIE_NAME"]))
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        if not cookie or serializer is None:
            return None
        try:
            session = serializer.loads(cookie, max_age=int(app.permanent_session_lifetime.total_seconds()))
        except BadSignature:
            return None
        if not isinstance(session, dict) or session.get("_permanent"):
            return None  # a permanent session's cookie is renewed on every response: Flask's lane
        raw_id = session.get("_user_id")
        user = parse_login_id(raw_id) if isinstance(raw_id, str) else None
        if user is None or not csrf_header_valid(app.config, session, wsgi_environ, host):
            return None
        return user


def raise_express_refusal() -> None:
    """``before_request`` (first of all): raise the error the express lane handed over, if any."""
    from flask import request

    refusal = request.environ.pop(REFUSAL_KEY, None)
    if refusal is not None:
        raise refusal


def _route(wsgi_environ: dict[str, Any]) -> tuple[str | None, str] | None:
    """(None, "chat") for ``POST /api/agent/run``, (sid, action) for an express action; else None."""
    if wsgi_environ.get("REQUEST_METHOD") != "POST":
        return None
    path = str(wsgi_environ.get("PATH_INFO", ""))
    if path == STREAM_PREFIX:
        return None, Action.CHAT
    parts = path[len(STREAM_PREFIX) :].split("/")
    if not path.startswith(STREAM_PREFIX + "/") or len(parts) != 3 or not parts[1]:
        return None
    return (parts[1], parts[2]) if parts[2] in EXPRESS_ACTIONS else None


def _open(wsgi_environ: dict[str, Any], body: dict[str, Any], user_id: int, login_generation: int) -> Any:
    """The view's steps (:func:`webapp.agent.views._proxy` for a plain opening); raises ApiError."""
    from .views import check_opening, relay_response, take_lease

    payload, claims = check_opening(body, user_id, None)
    finish = take_lease(payload, claims, login_generation)
    request_id, trace_id = ids_from_headers(
        str(wsgi_environ.get("HTTP_X_REQUEST_ID", "")), str(wsgi_environ.get("HTTP_TRACEPARENT", ""))
    )
    who = AuditContext(user_id=user_id, vendor_id=claims.vid, request_id=request_id, trace_id=trace_id)
    return relay_response(wsgi_environ, payload, who, finish)  # it frees the lease if it fails


__all__ = ["EXPRESS_ACTIONS", "REFUSAL_KEY", "ExpressOpenings", "raise_express_refusal"]
