"""Issue 10 on both engines: bad text and deep JSON never reach the database, the login throttle
counts atomically in it, and sign-out revocation holds (SQLite and Postgres)."""

from __future__ import annotations

import json
import re
import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import (  # noqa: F401 (fixtures)
    Browser,
    add_user,
    app_for_url,
    app_on_both_databases,
    both_database_urls,
)
from webapp.extensions import db
from webapp.models import Playbook
from webapp.throttle import DatabaseStorage

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def _browser(app: Any, address: str) -> tuple[Browser, dict[str, Any]]:
    user = add_user(app)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    browser = Browser(client)
    assert browser.login(user["email"], user["password"]).status_code == 302
    return browser, user


def _playbooks(app: Any, vendor_id: int) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).where(Playbook.vendor_id == vendor_id)) or 0)


@pytest.mark.parametrize(
    "body",
    [
        {"playbook": {"title": "Kick\u0000off", "modules": []}, "idempotency_key": "k"},
        {"playbook": {"title": "Kick\ud800off", "modules": []}, "idempotency_key": "k"},
        {
            "playbook": {"title": "ok", "modules": [{"title": "m", "description": "\u0000"}]},
            "idempotency_key": "k",
        },
        {"playbook": {"title": "ok", "modules": []}, "idempotency_key": "k\udc00"},
        {"playbook": {"title": "ok", "modules": []}, "idempotency_key": "k", "session_id": "s\ud800"},
    ],
)
def test_bad_text_is_a_400_and_nothing_is_stored(app: Any, body: dict[str, Any]) -> None:
    browser, user = _browser(app, f"10.1.{uuid.uuid4().int % 250}.1")
    response = browser.client.post(
        "/agent/save-playbook",
        data=json.dumps(body),
        content_type="application/json",
        headers=browser.headers(),
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "NUL" in response.get_json()["error"]["message"]
    assert _playbooks(app, user["vendor_id"]) == 0


@pytest.mark.parametrize("path", ["/audit?session=%00", "/api/files?session_id=a%00b", "/playbooks?x=%00"])
def test_a_nul_in_a_query_string_is_a_400(app: Any, path: str) -> None:
    browser, _user = _browser(app, "10.5.0.1")
    response = browser.client.get(path)
    assert response.status_code == 400, response.get_data(as_text=True)[:200]


def test_deep_json_is_a_400(app: Any) -> None:
    browser, _user = _browser(app, "10.2.0.1")
    raw = "[" * 5000 + "]" * 5000
    response = browser.client.post(
        "/agent/save-playbook", data=raw, content_type="application/json", headers=browser.headers()
    )
    assert response.status_code == 400 and "nested deeper" in response.get_json()["error"]["message"]


def test_a_nul_in_the_sign_in_form_is_a_refusal_not_a_500(app: Any) -> None:
    user = add_user(app)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.3.{uuid.uuid4().int % 250}.1"
    token = CSRF_INPUT.search(client.get("/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login", data={"email": user["email"] + "\u0000", "password": user["password"], "csrf_token": token}
    )
    assert response.status_code == 401


def test_the_throttle_counts_atomically_in_the_database(app: Any) -> None:
    storage = DatabaseStorage()
    key = f"test/{uuid.uuid4().hex}"
    barrier = threading.Barrier(20)
    results: list[int] = []
    lock = threading.Lock()

    def hit() -> None:
        barrier.wait()
        with app.app_context():
            value = storage.incr(key, 60)
        with lock:
            results.append(value)

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == list(range(1, 21))
    with app.app_context():
        assert storage.get(key) == 20
        storage.clear(key)
        assert storage.get(key) == 0


def test_wrong_passwords_are_throttled_and_logout_revokes(app: Any) -> None:
    address = f"10.4.{uuid.uuid4().int % 250}.1"
    browser, user = _browser(app, address)
    stolen = browser.client.get_cookie("pb_session")
    assert stolen is not None
    assert browser.client.post("/logout", data={"csrf_token": browser.csrf}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("pb_session", stolen.value)
    assert replay.get("/api/csrf").status_code == 401

    attacker = Browser(app.test_client())
    attacker.client.environ_base["REMOTE_ADDR"] = address
    statuses = [attacker.login(user["email"], "wrong-password").status_code for _ in range(7)]
    assert statuses == [401] * 5 + [429] * 2
