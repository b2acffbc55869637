"""Issue 10 against the real web app server (``python -m webapp``: gunicorn, its default worker
class) on SQLite: slow bodies cannot starve the database pool, chunked bodies meet the size limit,
and ``make run``'s SQLite holds 50 concurrent session mints."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.runtime_stub import StubRuntime
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import WebappProcess, WebClient, add_user, served_app

MB = 1024 * 1024


@pytest.fixture(scope="module")
def site(tmp_path_factory: Any, stub: StubRuntime) -> Iterator[tuple[WebappProcess, dict[str, Any]]]:
    """The web app with a deliberately small pool: 2 connections, no overflow, 3 s to get one."""
    url = f"sqlite:///{tmp_path_factory.mktemp('edge') / 'webapp.db'}"

    def users(app: Any) -> dict[str, Any]:
        return {"owner": add_user(app), "other": add_user(app), "many": [add_user(app) for _ in range(5)]}

    env = {"RUNTIME_URL": stub.url, "DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "0", "DB_POOL_TIMEOUT": "3"}
    with served_app(url, env, seed=users) as (process, seeded):
        yield process, seeded


def _cookie_header(web: WebClient) -> str:
    return "; ".join(f"{name}={value}" for name, value in web.http.cookies.items())


def _open_slow_body(web: WebClient, path: str) -> socket.socket:
    """Send a signed-in POST's headers and the first bytes of its body, then hold it open."""
    parts = urlsplit(web.base_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: 5000\r\nOrigin: {web.base_url}\r\nSec-Fetch-Site: same-origin\r\n"
        f"X-CSRFToken: {web.csrf}\r\nCookie: {_cookie_header(web)}\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"playbook": {"title": "')
    return sock


def test_slow_bodies_hold_no_database_connection(site: tuple[WebappProcess, dict[str, Any]]) -> None:
    """60 signed-in requests trickle their bodies in; other people still browse and save."""
    process, users = site
    with WebClient(process.url) as attacker, WebClient(process.url, timeout=10) as visitor:
        assert attacker.login(users["owner"]["email"], users["owner"]["password"]).status_code == 302
        assert visitor.login(users["other"]["email"], users["other"]["password"]).status_code == 302
        slow = [_open_slow_body(attacker, "/agent/save-playbook") for _ in range(60)]
        try:
            # The pool has 2 connections: had any slow request taken one, these would time out.
            for _ in range(3):
                assert visitor.http.get("/healthz").status_code == 200
                assert visitor.http.get("/playbooks").status_code == 200
            saved = visitor.post_json(
                "/agent/save-playbook",
                {"playbook": {"title": "Still saving", "modules": []}, "idempotency_key": "e-1"},
            )
            assert saved.status_code == 201, saved.text
        finally:
            for sock in slow:
                sock.close()


def test_a_chunked_body_over_the_limit_is_a_413(site: tuple[WebappProcess, dict[str, Any]]) -> None:
    process, users = site
    with WebClient(process.url) as web:
        assert web.login(users["owner"]["email"], users["owner"]["password"]).status_code == 302

        def body() -> Iterator[bytes]:
            yield b'{"playbook": {"title": "'
            for _ in range(40):
                yield b"x" * (256 * 1024)
            yield b'"}, "idempotency_key": "big"}'

        for path in ("/agent/save-playbook", "/api/agent/run"):
            try:
                response = web.http.post(
                    path, content=body(), headers=web.headers(**{"Content-Type": "application/json"})
                )
            except (httpx.WriteError, httpx.RemoteProtocolError) as exc:
                pytest.fail(f"{path}: the connection was dropped instead of a 413: {exc!r}")
            assert response.status_code == 413, (path, response.text)
            assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_fifty_concurrent_session_mints_on_sqlite(site: tuple[WebappProcess, dict[str, Any]]) -> None:
    """``make run``'s SQLite: 50 mints at once (5 people × 10 tabs) all succeed."""
    process, users = site
    clients = []
    for user in users["many"]:
        web = WebClient(process.url, timeout=60)
        assert web.login(user["email"], user["password"]).status_code == 302
        clients.append(web)
    barrier = threading.Barrier(50)
    statuses: list[int] = []
    lock = threading.Lock()

    def mint(web: WebClient) -> None:
        barrier.wait()
        response = web.http.post("/api/agent/copilot/session", headers=web.headers())
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=mint, args=(clients[i % 5],)) for i in range(50)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    finally:
        for web in clients:
            web.close()
    assert sorted(statuses) == [201] * 50, sorted(statuses)


def test_twenty_concurrent_chats_on_sqlite(site: tuple[WebappProcess, dict[str, Any]]) -> None:
    """Issue 10 saw 13–16 of 20 concurrent chats fail on SQLite: each mints and runs a turn."""
    process, users = site
    clients = []
    for user in users["many"]:
        web = WebClient(process.url, timeout=60)
        assert web.login(user["email"], user["password"]).status_code == 302
        clients.append(web)
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def chat(web: WebClient) -> None:
        barrier.wait()
        minted = web.http.post("/api/agent/copilot/session", headers=web.headers())
        if minted.status_code != 201:
            outcome = f"mint {minted.status_code}"
        else:
            session = minted.json()
            body = {"session_id": session["session_id"], "token": session["token"], "prompt": "hello"}
            with web.stream("/api/agent/run", body) as response:
                data = b"".join(response.iter_raw())
            outcome = "ok" if response.status_code == 200 and data else f"run {response.status_code}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=chat, args=(clients[i % 5],)) for i in range(20)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    finally:
        for web in clients:
            web.close()
    assert outcomes == ["ok"] * 20, outcomes
