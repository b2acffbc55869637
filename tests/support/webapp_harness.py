"""Helpers and fixtures for the web app's tests: apps on SQLite or Postgres, users, a live server,
and a browser-like HTTP client (cookies, CSRF token, same-origin headers).

Import the fixtures into a test module or conftest with
``from tests.support.webapp_harness import *  # noqa: F403``.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from webapp import create_app
from webapp.accounts import create_user
from webapp.extensions import db
from webapp.migrate import upgrade

from .runtime_process import READY_TIMEOUT
from .runtime_stub import StubRuntime
from .waiting import wait_until

SIGNING_SECRET = "test-signing-secret-" + "s" * 32
SECRET_KEY = "test-secret-key-" + "k" * 32
PASSWORD = "correct-horse-battery"

__all__ = [
    "ORIGIN",
    "PASSWORD",
    "SIGNING_SECRET",
    "Browser",
    "LiveServer",
    "WebClient",
    "add_user",
    "app_config",
    "signed_in",
    "postgres_url",
    "sqlite_url",
    "sqlite_template",
    "stub",
    "WebappProcess",
    "app_for_url",
    "chat_body",
    "fresh_postgres_database",
    "served_app",
]

T = TypeVar("T")


TEST_ATTACHMENTS = os.path.join(tempfile.gettempdir(), f"pb-test-attachments-{os.getpid()}")
"""Where tests' uploads go unless a test names its own store (never the repo's ``var/``)."""


def app_config(
    database_url: str, runtime_url: str = "http://127.0.0.1:9", **overrides: Any
) -> dict[str, Any]:
    """A test configuration (no environment involved)."""
    config = {
        "APP_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": SECRET_KEY,
        "AGENT_SIGNING_SECRET": SIGNING_SECRET,
        "DATABASE_URL": database_url,
        "AGENT_TRANSPORT": "http",
        "RUNTIME_URL": runtime_url,
        "RUNTIME_URLS": "",
        "RUNTIME_READ_TIMEOUT": 10.0,
        "DISCONNECT_POLL_SECONDS": 0.1,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast for tests; production uses scrypt
        "ATTACHMENT_STORE": TEST_ATTACHMENTS,
    }
    config.update(overrides)
    return config


def add_user(app: Any, *, vendor: str | None = None, email: str | None = None) -> dict[str, Any]:
    """Create a user (unique email and vendor by default); returns its ids and credentials."""
    vendor = vendor or f"vendor-{uuid.uuid4().hex[:8]}"
    email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
    with app.app_context():
        session = db.new_session(write=True)
        try:
            user = create_user(
                session,
                email=email,
                password=PASSWORD,
                vendor=vendor,
                hash_method=app.config["PASSWORD_HASH_METHOD"],
            )
            session.commit()
            return {
                "id": user.id,
                "vendor_id": user.vendor_id,
                "email": email,
                "password": PASSWORD,
                "vendor": vendor,
            }
        finally:
            session.close()


def signed_in(app: Any, user: dict[str, Any]) -> Browser:
    """A browser signed in to ``app`` (in-process) as ``user`` (from ``add_user``)."""
    browser = Browser(app.test_client())
    assert browser.login(user["email"], user["password"]).status_code == 302
    return browser


def fresh_postgres_database(server_url: str) -> tuple[str, Any]:
    """Create an empty database on the test server; returns its URL and a dropper."""
    url = make_url(server_url)
    name = f"pb_webapp_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


# -------------------------------------------------------------------------------------------------
# fixtures
# -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated, empty Postgres database for this test session.

    ``make test`` starts a Postgres server and sets ``TEST_DATABASE_URL``. In CI (``CI=true``) a
    missing server is a failure; locally the Postgres tests are skipped with the reason.
    """
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("TEST_DATABASE_URL is not set: CI must run the Postgres tests (make test starts one)")
        pytest.skip("TEST_DATABASE_URL is not set (run through `make test` or scripts/with-postgres.sh)")
    url, drop = fresh_postgres_database(server)
    upgrade(url)
    yield url
    drop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: Any) -> Any:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture()
def sqlite_url(tmp_path: Any, sqlite_template: Any) -> str:
    """A migrated SQLite database file for one test (a copy of one migrated at session start)."""
    import shutil

    path = tmp_path / "webapp.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgres"], name="database_url")
def both_database_urls(request: pytest.FixtureRequest) -> str:
    """``database_url``: each test once on SQLite and once on Postgres (import it by this name)."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url"))


@pytest.fixture(name="app")
def app_on_both_databases(database_url: str) -> Iterator[Any]:
    """``app``: the web app on ``database_url`` (import it by this name, with ``both_database_urls``)."""
    application = app_for_url(database_url)
    yield application
    application.extensions["database"].dispose()
    application.extensions["agent_transport"].close()


@pytest.fixture(scope="module")
def stub() -> Iterator[StubRuntime]:
    """A scripted runtime stub on loopback (requests recorded; ``stub.reset()`` between tests)."""
    runtime = StubRuntime().start()
    yield runtime
    runtime.stop()


# -------------------------------------------------------------------------------------------------
# a live server and a browser-like client
# -------------------------------------------------------------------------------------------------


class LiveServer:
    """The app on a threaded werkzeug server on loopback (real sockets, real streaming)."""

    def __init__(self, app: Any) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-webapp", daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._thread.join(5)


class AsgiLiveServer:
    """The app behind the ASGI edge (``webapp.edge``) on uvicorn in a thread, on loopback."""

    def __init__(self, app: Any) -> None:
        import socket

        import uvicorn

        from webapp.edge import create_asgi_app

        self.edge = create_asgi_app(app)
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(self.edge, lifespan="on", log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="live-edge", daemon=True
        )

    def __enter__(self) -> AsgiLiveServer:

        self._thread.start()
        wait_until(lambda: self._server.started, "uvicorn started")
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()


_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


ORIGIN = "http://localhost"


class Browser:
    """A Flask test client that behaves like the builder page: same-origin headers and CSRF."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf = ""

    def login(self, email: str, password: str) -> Any:
        page = self.client.get("/login")
        token = _CSRF_INPUT.search(page.get_data(as_text=True))
        assert token
        response = self.client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token.group(1)}
        )
        if response.status_code == 302:
            self.csrf = self.client.get("/api/csrf").get_json()["csrf_token"]
        return response

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin", "X-CSRFToken": self.csrf, **extra}

    def post_json(self, path: str, body: Any, **extra: str) -> Any:
        return self.client.post(path, json=body, headers=self.headers(**extra))

    def put_json(self, path: str, body: Any) -> Any:
        return self.client.put(path, json=body, headers=self.headers())

    def mint(self, agent_type: str = "copilot") -> dict[str, Any]:
        response = self.client.post(f"/api/agent/{agent_type}/session", headers=self.headers())
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()  # type: ignore[no-any-return]


class WebClient:
    """What a browser does: cookies, the CSRF header, ``Origin``/``Sec-Fetch-Site`` same-origin."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=False)
        self.csrf = ""
        self.database_url = ""  # the web app's database, for a test that checks rows behind it

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> WebClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def login(self, email: str, password: str) -> httpx.Response:
        page = self.http.get("/login")
        token = _CSRF_INPUT.search(page.text)
        assert token, "login page has no CSRF field"
        response = self.http.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token.group(1)},
            headers=self.same_origin(),
        )
        if response.status_code == 302:
            self.csrf = self.http.get("/api/csrf").json()["csrf_token"]
        return response

    def same_origin(self) -> dict[str, str]:
        return {"Origin": self.base_url, "Sec-Fetch-Site": "same-origin"}

    def headers(self, **extra: str) -> dict[str, str]:
        return {**self.same_origin(), "X-CSRFToken": self.csrf, **extra}

    def post_json(self, path: str, body: Any, **extra: str) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.headers(**extra))

    def mint(self, agent_type: str = "copilot") -> dict[str, Any]:
        response = self.http.post(f"/api/agent/{agent_type}/session", headers=self.headers())
        assert response.status_code == 201, response.text
        return response.json()

    def stream(self, path: str, body: Any, **extra: str) -> Any:
        """``with client.stream(...) as response:`` a streamed POST."""
        return self.http.stream("POST", path, json=body, headers=self.headers(**extra))


# -------------------------------------------------------------------------------------------------
# the real server: ``python -m webapp`` (gunicorn) as a subprocess
# -------------------------------------------------------------------------------------------------


class WebappProcess:
    """``python -m webapp`` on a free loopback port (gunicorn, the production server; its default
    worker class unless ``worker_class`` names one)."""

    def __init__(self, env: dict[str, str], *, worker_class: str | None = None, workers: int = 1) -> None:
        import socket
        import subprocess
        import sys
        import tempfile
        from pathlib import Path

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        root = Path(__file__).resolve().parents[2]
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "WEB_"))}
        full_env.update(
            {
                "APP_ENV": "development",
                "SECRET_KEY": SECRET_KEY,
                "WEBAPP_PORT": str(self.port),
                "WEBAPP_HOST": "127.0.0.1",
                "WEB_CONCURRENCY": str(workers),
                "WEB_ACCESS_LOG": "",
                "LOG_LEVEL": "warning",
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                "PYTHONPATH": str(root),
                "ATTACHMENT_STORE": TEST_ATTACHMENTS,
            }
        )
        if worker_class is not None:  # else the product's default, as a user gets it
            full_env["WEB_WORKER_CLASS"] = worker_class
        full_env.update(env)
        self._log = tempfile.NamedTemporaryFile(prefix="webapp-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "webapp"],
            cwd=root,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        with open(self._log.name, encoding="utf-8", errors="replace") as fh:
            return fh.read()

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> WebappProcess:
        """Block until ``/healthz`` answers; the process exiting fails at once.

        ``timeout`` bounds a hung start, as for the runtime; it is no speed check.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"webapp exited with {self.proc.returncode}: {self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code in (200, 503):
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"webapp did not start: {self.log()}")

    def __enter__(self) -> WebappProcess:
        try:
            return self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        import subprocess

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()
        os.unlink(self._log.name)


def wait_until_leases_free(database_url: str, timeout: float = 10.0) -> int:
    """Wait until no session holds a chat lease; how many still do when it returns (0: all free).

    A stream whose client hung up frees its lease only after its upstream has closed (so the runtime
    has stopped the turn before the next one may start): a test that saw the upstream close waits
    here for the release, rather than racing it.
    """
    from sqlalchemy import func, select

    from webapp.models import AgentSession

    held = select(func.count()).select_from(AgentSession).where(AgentSession.lease_holder.is_not(None))
    engine = create_engine(database_url)
    count = -1

    def free() -> bool:
        nonlocal count
        with engine.connect() as connection:
            count = int(connection.execute(held).scalar_one())
        return count == 0

    try:
        # On a timeout the caller's assertion on the count names how many are still held.
        with contextlib.suppress(AssertionError):
            wait_until(free, "no session holds a chat lease", timeout=timeout, interval=0.02)
    finally:
        engine.dispose()
    return count


def app_for_url(database_url: str, **overrides: Any) -> Any:
    """An app object only for seeding users into ``database_url``."""
    return create_app(app_config(database_url, **overrides))


@contextlib.contextmanager
def served_app(
    database_url: str,
    env: dict[str, str],
    *,
    seed: Callable[[Any], T] = add_user,  # type: ignore[assignment]
    worker_class: str | None = None,
    workers: int = 1,
) -> Iterator[tuple[WebappProcess, T]]:
    """``python -m webapp`` on a migrated ``database_url`` with what ``seed(app)`` added (a user).

    ``env`` adds to the database, the test signing secret and ``python -m webapp``'s test defaults
    (it names the runtime: ``RUNTIME_URL``). Yields the process and what ``seed`` returned.
    """
    upgrade(database_url)
    seeder = app_for_url(database_url)
    try:
        seeded = seed(seeder)
    finally:
        seeder.extensions["agent_transport"].close()
        seeder.extensions["database"].dispose()
    full_env = {"DATABASE_URL": database_url, "AGENT_SIGNING_SECRET": SIGNING_SECRET, **env}
    with WebappProcess(full_env, worker_class=worker_class, workers=workers) as process:
        yield process, seeded


def chat_body(session: dict[str, Any], prompt: str = "frames=3", **extra: Any) -> dict[str, Any]:
    """The body of a chat turn (``POST /api/agent/run``) in a minted ``session``."""
    return {
        "session_id": session["session_id"],
        "token": session["token"],
        "action": "chat",
        "prompt": prompt,
        **extra,
    }
