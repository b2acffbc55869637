"""Playbook Builder web app ("MWA"): sign-in, agent session minting, the streaming run proxy,
saving playbooks and the playbook pages. See ``../shared/DESIGN.md`` §3–§5 and §9."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when an app is built: ``python -m webapp`` patches for gevent first
    from flask import Flask

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app.

    Args:
        config: Settings that win over the environment and the defaults (tests pass one).

    Raises:
        ConfigError: the configuration is unusable (e.g. production without real secrets).
    """
    from .application import PlaybookFlask

    app = PlaybookFlask(__name__)
    configure(app, config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def configure(app: Flask, config: Mapping[str, Any] | None) -> None:
    """Defaults, then the environment (plain names, then ``FLASK_*``), then ``config``."""
    from .config import build_config, finalize

    merged = build_config(config)
    app.config.update(merged)
    app.config.from_prefixed_env()
    app.config.update(config or {})
    finalize(app.config)  # type: ignore[arg-type]


def register_extensions(app: Flask) -> None:
    """Database, login, CSRF, request hygiene, the token codec and the runtime transport."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from agent_runtime.contract import TokenCodec

    from . import security
    from .agent.disconnect import monitor
    from .agent.express import ExpressOpenings, raise_express_refusal
    from .agent.principal import STREAM_ENDPOINTS
    from .extensions import csrf, db, login_manager
    from .throttle import limiter, skip_check_for
    from .transports import make_transport

    # Plain stream openings take the express lane (it hands every other request to Flask), behind
    # ProxyFix so it sees the client's scheme and host.
    app.wsgi_app = ExpressOpenings(app, app.wsgi_app)  # type: ignore[method-assign,assignment]
    app.before_request(raise_express_refusal)  # a refusal it hands over is answered by Flask
    trusted = int(app.config.get("TRUSTED_PROXIES", 0))
    if trusted:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted, x_host=trusted)  # type: ignore[method-assign]
    app.session_interface = security.SessionInterface()
    # Same-origin and content-type checks run before CSRF and before any view.
    app.before_request(security.check_same_origin)
    app.before_request(security.check_query_text)
    app.before_request(security.check_json_body)
    # The body is read and parsed before anything below takes a database connection.
    app.before_request(security.read_json_body)
    app.teardown_request(security.close_upload_buffer)
    db.init_app(app)
    # after_request hooks run in reverse: this one must be registered before Flask-Login's,
    # which sets the remember cookie, so that it runs after it.
    app.after_request(security.secure_remember_cookie)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "basic"
    limiter.init_app(app)
    skip_check_for(app, STREAM_ENDPOINTS)  # no limits there; opening a stream is the hot path
    # CSRF runs from our own hook so an anonymous API call gets its 401 (from the view) first.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    app.before_request(security.csrf_guard)
    app.after_request(security.no_store)
    app.after_request(security.security_headers)
    app.extensions["token_codec"] = TokenCodec.from_setting(
        str(app.config["AGENT_SIGNING_SECRET"]), max_age=int(app.config["AGENT_TOKEN_TTL_SECONDS"])
    )
    app.extensions["agent_transport"] = app.config.get("AGENT_TRANSPORT_INSTANCE") or make_transport(
        app.config
    )
    from attachments.store import open_store

    app.extensions["attachment_store"] = open_store(str(app.config["ATTACHMENT_STORE"]))
    monitor.interval = float(app.config["DISCONNECT_POLL_SECONDS"])
    interval = float(app.config.get("APPROVAL_WORKER_SECONDS") or 0)
    if interval > 0 and app.config.get("BACKGROUND_WORKERS"):
        from .approvals.worker import ApprovalWorker

        app.extensions["approval_worker"] = ApprovalWorker(app, interval).start()
    import logging

    logging.getLogger("webapp").setLevel(str(app.config["LOG_LEVEL"]).upper())


def register_blueprints(app: Flask) -> None:
    """Pages and APIs."""
    from . import auth, builder, health
    from .agent import drafts as draft_views
    from .agent import views as agent_views
    from .approvals import views as approval_views
    from .audit import views as audit_views
    from .files import views as file_views
    from .playbooks import views as playbook_views

    for module in (
        auth,
        builder,
        health,
        agent_views,
        playbook_views,
        audit_views,
        file_views,
        approval_views,
        draft_views,
    ):
        app.register_blueprint(module.bp)

    @app.get("/")
    def _home() -> Any:
        from flask import redirect, url_for

        return redirect(url_for("playbooks.index"))


def register_errorhandlers(app: Flask) -> None:
    """The JSON error envelope for APIs, an error page for pages."""
    from flask_wtf.csrf import CSRFError

    from agent_runtime.contract import ErrorCode

    from .errors import error_response, wants_json
    from .errors import register_errorhandlers as register

    register(app)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        if wants_json():
            return error_response(
                403, ErrorCode.CSRF_FAILED, exc.description or "the CSRF token is missing or invalid"
            )
        from flask import render_template

        return render_template(
            "error.html",
            status=403,
            title="Session expired",
            message="The form expired. Go back, reload the page and try again.",
        ), 403


def register_commands(app: Flask) -> None:
    """``flask --app webapp create-user`` and friends."""
    from .commands import register_commands as register

    register(app)
