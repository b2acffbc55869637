"""Sign-in and sign-out pages (Flask-Login), revocable logins and the login throttle.

Revocation uses Flask-Login's *alternative id*: the id a session or remember-me cookie carries is
``"<user id>:<login generation>"`` (:meth:`webapp.models.User.get_id`), and the loader accepts it
only while the user's ``login_generation`` is still that number. Sign-out and a password change
bump the generation, which ends every session and remember-me cookie of that user, on every
device and every worker, at the cost of one integer column: no session table to look up on each
request (the user row is loaded anyway) and nothing to clean up. Chosen over server-side sessions
for that reason; the price is that signing out ends the person's other sessions too, which on a
shared office computer is what one wants.

Sign-in starts a fresh session (the old one, with its CSRF token, is dropped), and refused
sign-ins are throttled per account and per address (:mod:`webapp.throttle`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import update

from agent_runtime.contract import ErrorCode, text_problem

from .accounts import authenticate
from .errors import error_response, wants_json
from .extensions import db, login_manager
from .models import User
from .throttle import account_key, address_key, limiter, login_refused

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

CLEAR_SITE_DATA = '"cache", "storage"'
"""Sent with the sign-out answer: the browser drops this site's storage (the builder's tab state)."""


def parse_login_id(login_id: str) -> tuple[int, int] | None:
    """``"<user id>:<generation>"`` → ``(user id, generation)``; ``None`` for anything else."""
    user_part, sep, generation_part = str(login_id).partition(":")
    if not sep:
        return None  # a cookie from before revocable logins: it no longer signs in
    try:
        return int(user_part), int(generation_part)
    except ValueError:
        return None


@login_manager.user_loader
def _load_user(login_id: str) -> User | None:
    parsed = parse_login_id(login_id)
    if parsed is None:
        return None
    user = db.session.get(User, parsed[0])
    if user is None or not user.is_active or (user.login_generation or 0) != parsed[1]:
        return None
    return user


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    if wants_json():
        return error_response(401, ErrorCode.UNAUTHENTICATED, "sign in first")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _safe_next(target: str | None) -> str:
    if not target:
        return url_for("playbooks.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("playbooks.index")
    return target


def _account_limit() -> str:
    return str(current_app.config["LOGIN_LIMIT_PER_ACCOUNT"])


def _address_limit() -> str:
    return str(current_app.config["LOGIN_LIMIT_PER_ADDRESS"])


def storage_key(user: User) -> str:
    """An opaque key the builder page stores its tab state under (``lib/storage.js``).

    Derived from the user and their login generation with the app's secret: another user, or
    the same user after signing out, gets another key, so the page discards what it finds.
    """
    message = f"builder-storage:{user.id}:{user.login_generation or 0}".encode()
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def revoke_logins(user_id: int) -> None:
    """End every session and remember-me cookie of ``user_id`` (bump its login generation)."""
    engine = db.engine
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        conn.execute(
            update(User).where(User.id == user_id).values(login_generation=User.login_generation + 1)
        )


@bp.errorhandler(RateLimitExceeded)
def _throttled(exc: RateLimitExceeded) -> Any:
    """The sign-in form again, saying why and for how long (``Retry-After`` is added by the limiter)."""
    flash(exc.description or "Too many failed sign-ins. Wait a minute and try again.", "error")
    return render_template("auth/login.html", email=request.form.get("email", "")), 429


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _account_limit,
    key_func=account_key,
    methods=["POST"],
    deduct_when=login_refused,
    scope="login-account",
    error_message="Too many failed sign-ins for this account. Wait a minute and try again.",
)
@limiter.limit(
    _address_limit,
    key_func=address_key,
    methods=["POST"],
    deduct_when=login_refused,
    scope="login-address",
    error_message="Too many failed sign-ins from this address. Wait a minute and try again.",
)
def login() -> Any:
    """The sign-in form."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "")
        password = request.form.get("password", "")
        if text_problem(email) or text_problem(password):
            # Never reaches the database (Postgres cannot compare text holding a NUL).
            flash("That email and password do not match.", "error")
            return render_template("auth/login.html", email=""), 401
        user = authenticate(db.session, email, password)
        if user is None:
            flash("That email and password do not match.", "error")
            return render_template("auth/login.html", email=email), 401
        target = _safe_next(request.form.get("next") or request.args.get("next"))
        # A fresh session: nothing from before sign-in (the CSRF token included) carries over.
        session.clear()
        g.pop("csrf_token", None)
        login_user(user, remember=bool(request.form.get("remember")))
        logger.info("user_id=<%s> | signed in", user.id)
        return redirect(target)
    return render_template("auth/login.html", email=email)


@bp.post("/logout")
@login_required
def logout() -> Any:
    """Sign out (POST only, CSRF-protected): ends this user's sessions and remember-me cookies."""
    user_id = current_user.id
    db.session.close()
    revoke_logins(user_id)
    session.clear()
    logout_user()  # after clear(): it leaves the note that deletes the remember-me cookie
    logger.info("user_id=<%s> | signed out; logins revoked", user_id)
    flash("You are signed out.", "info")
    response = redirect(url_for("auth.login"))
    response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response
