"""Sign-in, cookies, CSRF and same-origin checks (webapp/auth.py, webapp/security.py)."""

from __future__ import annotations

from typing import Any

from click.testing import Result
from flask import Flask

from tests.support.webapp_harness import Browser
from webapp.accounts import authenticate
from webapp.extensions import db


def _cookie(response: Any, name: str) -> str:
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(name + "="))


def test_login_sets_a_httponly_lax_cookie_and_redirects(anonymous: Browser, user: dict) -> None:
    response = anonymous.login(user["email"], user["password"])
    assert response.status_code == 302 and response.headers["Location"] == "/playbooks"
    cookie = _cookie(response, "pb_session")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_cookies_are_secure_over_https(app: Flask, user: dict) -> None:
    client = app.test_client()
    page = client.get("/login", base_url="https://pb.example")
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        base_url="https://pb.example",
        headers={"Referer": "https://pb.example/login"},
        data={"email": user["email"], "password": user["password"], "csrf_token": token, "remember": "1"},
    )
    assert response.status_code == 302
    for name in ("pb_session", "pb_remember"):
        cookie = _cookie(response, name)
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_bad_login_is_refused(anonymous: Browser, user: dict) -> None:
    response = anonymous.login(user["email"], "wrong-password")
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)
    assert anonymous.login("nobody@example.com", "whatever-pass").status_code == 401


def test_login_without_csrf_token_is_refused(anonymous: Browser, user: dict) -> None:
    response = anonymous.client.post("/login", data={"email": user["email"], "password": user["password"]})
    assert response.status_code == 403


def test_next_redirect_stays_on_site(anonymous: Browser, user: dict) -> None:
    import re

    page = anonymous.client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    response = anonymous.client.post(
        "/login?next=https://evil.example/x",
        data={"email": user["email"], "password": user["password"], "csrf_token": token},
    )
    assert response.headers["Location"] == "/playbooks"


def test_pages_redirect_to_login_and_apis_answer_401(anonymous: Browser) -> None:
    page = anonymous.client.get("/playbooks")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")
    api = anonymous.client.get("/api/csrf")
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "UNAUTHENTICATED"


def test_logout_is_a_csrf_protected_post(browser: Browser) -> None:
    assert browser.client.get("/logout").status_code == 405
    assert browser.client.post("/logout").status_code == 403  # no CSRF token
    response = browser.client.post("/logout", data={"csrf_token": browser.csrf})
    assert response.status_code == 302
    assert browser.client.get("/api/csrf").status_code == 401


def test_create_user_command(app: Flask) -> None:
    runner = app.test_cli_runner()
    result: Result = runner.invoke(
        args=["create-user", "--email", "New@Example.com", "--password", "password-123", "--vendor", "Acme"]
    )
    assert result.exit_code == 0, result.output
    again = runner.invoke(
        args=["create-user", "--email", "new@example.com", "--password", "password-123", "--vendor", "Acme"]
    )
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(
        args=["create-user", "--email", "x@example.com", "--password", "short", "--vendor", "Acme"]
    )
    assert short.exit_code != 0
    with app.app_context():
        user = authenticate(db.session, "new@example.com", "password-123")
        assert user is not None and user.vendor.name == "Acme"


def test_same_site_fetch_and_null_origin_are_refused(browser: Browser) -> None:
    for headers in ({"Sec-Fetch-Site": "same-site"}, {"Origin": "null", "Sec-Fetch-Site": ""}):
        response = browser.client.post("/api/agent/copilot/session", headers={**browser.headers(), **headers})
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "CROSS_SITE"


def test_allowed_origins_are_accepted(app: Flask, browser: Browser) -> None:
    app.config["ALLOWED_ORIGINS"] = "https://builder.example"
    response = browser.client.post(
        "/api/agent/copilot/session",
        headers={**browser.headers(), "Origin": "https://builder.example", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 201
