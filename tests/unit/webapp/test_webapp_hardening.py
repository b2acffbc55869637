"""Issue 10, re-run as an attacker would: revocable logins, CSRF rotation, login throttling,
security headers, the Origin scheme, the text rule, JSON depth, database trouble and /healthz."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest
from flask import Flask

from tests.support.webapp_harness import ORIGIN, Browser, add_user
from webapp.accounts import create_user
from webapp.extensions import db

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def _cookie_value(client: Any, name: str) -> str | None:
    cookie = client.get_cookie(name)
    return cookie.value if cookie is not None else None


def _login_form(client: Any, email: str, password: str, **extra: str) -> Any:
    page = client.get("/login")
    token = CSRF_INPUT.search(page.get_data(as_text=True))
    assert token
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token.group(1), **extra}
    )


# ---------------------------------------------------------------- logins that end


def test_a_session_cookie_replayed_after_logout_signs_nobody_in(app: Flask, user: dict) -> None:
    browser = Browser(app.test_client())
    assert browser.login(user["email"], user["password"]).status_code == 302
    stolen = _cookie_value(browser.client, "pb_session")
    assert stolen
    response = browser.client.post("/logout", data={"csrf_token": browser.csrf})
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'

    replay = app.test_client()
    replay.set_cookie("pb_session", stolen)
    assert replay.get("/api/csrf").status_code == 401
    assert replay.get("/playbooks").status_code == 302


def test_remember_me_cookie_is_revoked_at_logout_and_short_lived(app: Flask, user: dict) -> None:
    client = app.test_client()
    response = _login_form(client, user["email"], user["password"], remember="1")
    assert response.status_code == 302
    remember = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("pb_remember="))
    expires = re.search(r"Expires=([^;]+)", remember)
    assert expires
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    lifetime = parsedate_to_datetime(expires.group(1)) - datetime.now(UTC)
    assert lifetime.days <= 14
    token = _cookie_value(client, "pb_remember")
    assert token

    # The remember-me cookie alone signs in (a new browser session) ...
    fresh = app.test_client()
    fresh.set_cookie("pb_remember", token)
    assert fresh.get("/api/csrf").status_code == 200

    # ... until the person signs out anywhere.
    csrf = client.get("/api/csrf").get_json()["csrf_token"]
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("pb_remember", token)
    assert replay.get("/api/csrf").status_code == 401

    # A new login gets a different remember-me value.
    again = app.test_client()
    assert _login_form(again, user["email"], user["password"], remember="1").status_code == 302
    assert _cookie_value(again, "pb_remember") != token


def test_a_password_change_ends_existing_sessions(app: Flask, user: dict) -> None:
    browser = Browser(app.test_client())
    assert browser.login(user["email"], user["password"]).status_code == 302
    assert browser.client.get("/api/csrf").status_code == 200
    with app.app_context():
        session = db.new_session()
        create_user(
            session,
            email=user["email"],
            password="a-brand-new-password",
            vendor=user["vendor"],
            update_existing=True,
            hash_method="pbkdf2:sha256:1000",
        )
        session.commit()
        session.close()
    assert browser.client.get("/api/csrf").status_code == 401


def test_the_csrf_token_changes_at_login(app: Flask, user: dict) -> None:
    client = app.test_client()
    page = client.get("/login")
    before = CSRF_INPUT.search(page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login", data={"email": user["email"], "password": user["password"], "csrf_token": before}
    )
    assert response.status_code == 302
    after = client.get("/api/csrf").get_json()["csrf_token"]
    # A token planted before sign-in (session fixation of the CSRF secret) is no longer valid.
    refused = client.post(
        "/api/agent/copilot/session",
        headers={"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin", "X-CSRFToken": before},
    )
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "CSRF_FAILED"
    ok = client.post(
        "/api/agent/copilot/session",
        headers={"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin", "X-CSRFToken": after},
    )
    assert ok.status_code == 201


def test_thirty_wrong_passwords_are_throttled_per_account(app: Flask, user: dict) -> None:
    client = app.test_client()
    statuses = [_login_form(client, user["email"], "wrong-password").status_code for _ in range(30)]
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {429}
    throttled = _login_form(client, user["email"], "wrong-password")
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in throttled.get_data(as_text=True)
    # Even the right password waits out the window (no oracle for the guesser) ...
    assert _login_form(client, user["email"], user["password"]).status_code == 429
    # ... while another account from elsewhere is unaffected.
    other = add_user(app)
    elsewhere = app.test_client()
    page = elsewhere.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    token = CSRF_INPUT.search(page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    response = elsewhere.post(
        "/login",
        data={"email": other["email"], "password": other["password"], "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert response.status_code == 302


def test_wrong_passwords_across_accounts_are_throttled_per_address(app: Flask) -> None:
    client = app.test_client()
    statuses = [
        _login_form(client, f"nobody-{i}@example.com", "wrong-password").status_code for i in range(25)
    ]
    assert statuses[:20] == [401] * 20 and set(statuses[20:]) == {429}


def test_the_throttle_is_shared_through_the_database(app: Flask, user: dict, sqlite_url: str) -> None:
    """Two app instances (two gunicorn workers) on one database count together."""
    from tests.support.webapp_harness import app_config
    from webapp import create_app

    second = create_app(app_config(sqlite_url))
    try:
        first_client, second_client = app.test_client(), second.test_client()
        for i in range(5):
            client = first_client if i % 2 else second_client
            assert _login_form(client, user["email"], "wrong-password").status_code == 401
        assert _login_form(first_client, user["email"], "wrong-password").status_code == 429
        assert _login_form(second_client, user["email"], "wrong-password").status_code == 429
    finally:
        second.extensions["database"].dispose()


# ---------------------------------------------------------------- headers and origins


@pytest.mark.parametrize(
    "path", ["/login", "/playbooks", "/audit", "/api/csrf", "/healthz", "/builder", "/nope"]
)
def test_every_response_carries_the_security_headers(browser: Browser, path: str) -> None:
    response = browser.client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # not in development/testing


def test_production_sends_hsts_and_secure_cookies_over_plain_http(sqlite_url: str, user: dict) -> None:
    from tests.support.webapp_harness import app_config
    from webapp import create_app

    app = create_app(
        app_config(
            sqlite_url,
            APP_ENV="production",
            SECRET_KEY="p7Qm2LxV9sKd4RtY8wNc1HbZ6fJe3GaU5oTi0EvWkXy",
            AGENT_SIGNING_SECRET="Zr4Tq8Wm1Ys6Kp3Hd9Lx2Nc7Vb5Jf0Gu4Ea8Qo1Ri6St",
        )
    )
    try:
        client = app.test_client()
        page = client.get("/login")
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        token = CSRF_INPUT.search(page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        response = client.post(
            "/login",
            data={"email": user["email"], "password": user["password"], "csrf_token": token, "remember": "1"},
            headers={"Origin": "http://localhost"},
        )
        assert response.status_code == 302
        for cookie in response.headers.getlist("Set-Cookie"):
            assert "; Secure" in cookie, cookie
    finally:
        app.extensions["database"].dispose()


def test_the_origin_check_compares_the_scheme(browser: Browser) -> None:
    response = browser.client.post(
        "/api/agent/copilot/session", headers={**browser.headers(), "Origin": "https://localhost"}
    )
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "CROSS_SITE"
    assert browser.client.post("/api/agent/copilot/session", headers=browser.headers()).status_code == 201


# ---------------------------------------------------------------- the text rule and JSON depth


BAD_TEXT = [("nul", "Kick\u0000off"), ("lone surrogate", "Kick\ud800off")]


@pytest.mark.parametrize(("what", "bad"), BAD_TEXT)
def test_bad_text_in_a_save_is_a_clear_400(browser: Browser, what: str, bad: str) -> None:
    import json

    for body in (
        {"playbook": {"title": bad, "modules": []}, "idempotency_key": "k-1"},
        {"playbook": {"title": "ok", "modules": []}, "idempotency_key": bad},
        {"playbook": {"title": "ok", "modules": []}, "idempotency_key": "k-2", "session_id": bad},
    ):
        raw = json.dumps(body)  # NUL as \u0000, a lone surrogate as \ud800: what a client can send
        response = browser.client.post(
            "/agent/save-playbook", data=raw, content_type="application/json", headers=browser.headers()
        )
        assert response.status_code == 400, (what, response.get_data(as_text=True))
        error = response.get_json()["error"]
        assert error["code"] == "INVALID_PAYLOAD" and "NUL" in error["message"]


@pytest.mark.parametrize(("what", "bad"), BAD_TEXT)
def test_bad_text_in_a_prompt_or_decision_is_a_clear_400(browser: Browser, what: str, bad: str) -> None:
    import json

    session = browser.mint()
    for path, body in (
        ("/api/agent/run", {"session_id": session["session_id"], "token": session["token"], "prompt": bad}),
        (
            f"/api/agent/run/{session['session_id']}/resume_interrupt",
            {"token": session["token"], "interrupt_id": "i-1", "decision": "add_context", "context": bad},
        ),
    ):
        response = browser.client.post(
            path, data=json.dumps(body), content_type="application/json", headers=browser.headers()
        )
        assert response.status_code == 400, (what, response.get_data(as_text=True))
        assert "NUL" in response.get_json()["error"]["message"]


def test_deep_json_is_a_400_not_a_500(browser: Browser) -> None:
    for depth in (40, 1_000, 100_000):
        raw = "[" * depth + "]" * depth
        for path in ("/agent/save-playbook", "/api/agent/run"):
            response = browser.client.post(
                path, data=raw, content_type="application/json", headers=browser.headers()
            )
            assert response.status_code == 400, (path, depth)
            assert "nested deeper than 32" in response.get_json()["error"]["message"]


def test_a_nul_in_the_login_form_is_a_plain_refusal(anonymous: Browser, user: dict) -> None:
    assert anonymous.login(user["email"] + "\u0000", user["password"]).status_code == 401


# ---------------------------------------------------------------- database trouble


def _lock_sqlite(url: str) -> sqlite3.Connection:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_a_write_locked_database_is_a_503_and_healthz_says_so(
    app: Flask, browser: Browser, sqlite_url: str
) -> None:
    app.config["DB_BUSY_TIMEOUT_MS"] = 200
    with app.app_context():
        db.dispose()
    from webapp.db import make_engine

    db.bind(app, make_engine(app.config["SQLALCHEMY_URL"], busy_timeout_ms=200))
    assert browser.client.get("/healthz").get_json()["database"]["ok"] is True
    lock = _lock_sqlite(sqlite_url)
    try:
        health = browser.client.get("/healthz")
        assert health.status_code == 503 and health.get_json()["status"] == "down"
        save = browser.post_json(
            "/agent/save-playbook", {"playbook": {"title": "T", "modules": []}, "idempotency_key": "lock-1"}
        )
        assert save.status_code == 503
        assert save.get_json()["error"]["code"] == "DATABASE_UNAVAILABLE"
        assert save.headers["Retry-After"]
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert browser.client.get("/healthz").status_code == 200


def test_a_database_that_is_gone_gives_a_friendly_page_and_json(app: Flask, browser: Browser) -> None:
    from webapp.db import make_engine

    db.bind(app, make_engine("sqlite:////nonexistent-dir/for/sure/x.db"))
    page = browser.client.get("/playbooks")
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert "Temporarily unavailable" in text and "Internal Server Error" not in text
    api = browser.client.get("/api/csrf")
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "DATABASE_UNAVAILABLE"
    health = browser.client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"] == {"ok": False}


def test_healthz_shows_no_internal_address_to_anonymous_callers(anonymous: Browser, stub: Any) -> None:
    response = anonymous.client.get("/healthz")
    assert response.status_code == 200
    assert "127.0.0.1" not in response.get_data(as_text=True)
    assert response.get_json()["runtime"]["ok"] is True


def test_postgres_that_refuses_connections_is_a_503_not_a_500(stub: Any) -> None:
    """The database stopped: sign-in and /healthz say so plainly (nothing listens on port 1)."""
    from tests.support.webapp_harness import app_config
    from webapp import create_app

    app = create_app(app_config("postgresql+psycopg://pb:pb@127.0.0.1:1/pb", stub.url, DB_POOL_TIMEOUT=2.0))
    try:
        client = app.test_client()
        page = client.get("/login")
        assert page.status_code == 200
        token = CSRF_INPUT.search(page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        response = client.post(
            "/login", data={"email": "someone@example.com", "password": "whatever-1", "csrf_token": token}
        )
        assert response.status_code == 503
        assert "Temporarily unavailable" in response.get_data(as_text=True)
        health = client.get("/healthz")
        assert health.status_code == 503 and health.get_json() == {
            "status": "down",
            "database": {"ok": False},
            "runtime": {"ok": True, "transport": "http"},
        }
    finally:
        app.extensions["database"].dispose()
        app.extensions["agent_transport"].close()


def test_a_session_cookie_replayed_after_logout_cannot_open_a_stream(app: Flask, user: dict) -> None:
    """The streaming endpoints skip loading the user (one statement): that statement checks the
    login generation, so a revoked cookie gets 401 there too."""
    browser = Browser(app.test_client())
    assert browser.login(user["email"], user["password"]).status_code == 302
    session = browser.mint()
    stolen = _cookie_value(browser.client, "pb_session")
    assert stolen
    assert browser.client.post("/logout", data={"csrf_token": browser.csrf}).status_code == 302
    replay = Browser(app.test_client())
    replay.client.set_cookie("pb_session", stolen)
    replay.csrf = browser.csrf
    for path, body in (
        ("/api/agent/run", {"session_id": session["session_id"], "token": session["token"], "prompt": "hi"}),
        (f"/api/agent/run/{session['session_id']}/watch", {"token": session["token"]}),
    ):
        response = replay.post_json(path, body)
        assert response.status_code == 401, (path, response.get_data(as_text=True))
