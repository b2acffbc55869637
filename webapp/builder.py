"""``/builder``: the Vue app that ``make`` builds into ``webapp/static/builder``.

``index.html`` is served with a ``<meta name="csrf-token">`` injected, so the page can send the
token in ``X-CSRFToken`` on its JSON calls; ``GET /api/csrf`` returns the same token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, send_from_directory
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import escape

from .auth import storage_key

bp = Blueprint("builder", __name__)

BUILD_DIR = Path(__file__).resolve().parent / "static" / "builder"


def _index() -> Response:
    index = BUILD_DIR / "index.html"
    if not index.is_file():
        return Response(render_template("builder_missing.html"), status=503)
    html = index.read_text(encoding="utf-8")
    meta = f'<meta name="csrf-token" content="{escape(generate_csrf())}">'
    # The key the page keeps this user's tab state under (lib/storage.js; webapp.auth.storage_key).
    meta += f'\n<meta name="pb-storage-key" content="{escape(storage_key(current_user))}">'
    html = html.replace("</head>", meta + "\n</head>", 1) if "</head>" in html else meta + html
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/builder")
@bp.get("/builder/")
@login_required
def index() -> Response:
    """The builder page."""
    return _index()


@bp.get("/builder/<path:filename>")
@login_required
def asset(filename: str) -> Any:
    """Built assets; unknown paths without an extension get the app (client-side routes)."""
    if (BUILD_DIR / filename).is_file():
        response = send_from_directory(BUILD_DIR, filename)
        if filename.startswith("assets/"):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
    if "." not in filename.rsplit("/", 1)[-1]:
        return _index()
    abort(404)


@bp.get("/api/csrf")
@login_required
def csrf_token() -> Any:
    """The CSRF token for ``X-CSRFToken`` (also in the builder page's meta tag)."""
    response = jsonify({"csrf_token": generate_csrf()})
    response.headers["Cache-Control"] = "no-store"
    return response
