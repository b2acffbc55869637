"""Sign-in and sign-out pages (Flask-Login)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from agent_runtime.contract import ErrorCode

from .accounts import authenticate
from .errors import error_response, wants_json
from .extensions import db, login_manager
from .models import User

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    try:
        user = db.session.get(User, int(user_id))
    except ValueError:
        return None
    return user if user is not None and user.is_active else None


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


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "")
        user = authenticate(db.session, email, request.form.get("password", ""))
        if user is None:
            flash("That email and password do not match.", "error")
            return render_template("auth/login.html", email=email), 401
        login_user(user, remember=bool(request.form.get("remember")))
        return redirect(_safe_next(request.form.get("next") or request.args.get("next")))
    return render_template("auth/login.html", email=email)


@bp.post("/logout")
@login_required
def logout() -> Any:
    """Sign out (POST only, CSRF-protected)."""
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
