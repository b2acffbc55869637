"""The floor under the web app's stream opening: its server and runtime transport, without the app.

A WSGI app that forwards a run POST to the runtime with the web app's own transport
(:class:`webapp.transports.http.HttpTransport`) and streams the answer back, served by the web app's
server (gunicorn's gevent worker, one process). No sign-in, CSRF, session token, lease or
observers: the CPU it spends per stream opened is what serving and relaying alone cost, so the
web app's figure minus this one is what the app adds (``make bench``, the open-cost section,
target ``bare``). A measuring instrument, never a server to deploy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

from webapp.transports.base import UpstreamRequest
from webapp.transports.http import HttpTransport

_transport = HttpTransport([os.environ.get("RUNTIME_URL", "http://127.0.0.1:8080")])


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
    """POST: the body forwarded to the runtime, its stream relayed; anything else: ``ok``."""
    if environ.get("REQUEST_METHOD") != "POST":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"ok"])
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    sid = str(json.loads(body).get("session_id", ""))
    upstream = _transport.open(UpstreamRequest(session_id=sid, payload=body))
    start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])

    def relay() -> Iterator[bytes]:
        try:
            yield from upstream
        finally:
            upstream.close()

    return relay()
