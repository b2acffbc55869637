"""What opening a stream skips and what it never skips: the rate limiter's bookkeeping is not run
for the streaming endpoints (they carry no limit), CSRF and the session token still are; the GIL
switch interval of ``python -m webapp`` is configurable."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask_limiter import Limiter

from tests.support.runtime_stub import StubRuntime
from tests.support.webapp_harness import Browser, add_user, app_config
from webapp import create_app
from webapp.__main__ import DEFAULT_SWITCH_INTERVAL_MS, apply_switch_interval


@pytest.fixture()
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Endpoints the limiter's per-request check ran for (patched before the app is built)."""
    seen: list[str] = []
    original = Limiter._check_request_limit

    def check(self: Limiter, *args: Any, **kwargs: Any) -> None:
        from flask import request

        seen.append(str(request.endpoint))
        original(self, *args, **kwargs)

    monkeypatch.setattr(Limiter, "_check_request_limit", check)
    return seen


@pytest.fixture()
def counted_app(counted: list[str], sqlite_url: str, stub: StubRuntime, tmp_path: Any) -> Iterator[Flask]:
    stub.reset()
    application = create_app(app_config(sqlite_url, stub.url, ATTACHMENT_STORE=str(tmp_path / "files")))
    yield application
    application.extensions["database"].dispose()
    application.extensions["agent_transport"].close()


def test_a_stream_skips_the_limiter_and_sign_in_still_counts(counted_app: Flask, counted: list[str]) -> None:
    user = add_user(counted_app)
    browser = Browser(counted_app.test_client())
    assert browser.login(user["email"], user["password"]).status_code == 302
    assert "auth.login" in counted  # the sign-in form is still throttled
    session = browser.mint()
    counted.clear()
    turn = {"session_id": session["session_id"], "token": session["token"], "prompt": "hello"}
    response = browser.post_json("/api/agent/run", turn)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("data: ") == 3  # the stub's three frames
    watch = browser.post_json(f"/api/agent/run/{session['session_id']}/watch", {"token": session["token"]})
    assert watch.status_code == 200
    assert counted == []  # neither stream ran the limiter's check
    assert browser.client.get("/api/csrf").status_code == 200
    assert len(counted) == 1  # any other request still runs it


def test_a_stream_without_its_csrf_header_or_with_a_bad_token_is_still_refused(counted_app: Flask) -> None:
    user = add_user(counted_app)
    browser = Browser(counted_app.test_client())
    assert browser.login(user["email"], user["password"]).status_code == 302
    session = browser.mint()
    turn = {"session_id": session["session_id"], "token": session["token"], "prompt": "hello"}
    no_csrf = browser.client.post(
        "/api/agent/run", json=turn, headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    )
    assert no_csrf.status_code == 403
    assert no_csrf.get_json()["error"]["code"] == "CSRF_FAILED"
    forged = browser.post_json("/api/agent/run", {**turn, "token": session["token"][:-4] + "AAAA"})
    assert forged.status_code == 401
    assert forged.get_json()["error"]["code"] == "TOKEN_INVALID"


@pytest.fixture()
def restore_switch_interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("restore_switch_interval")
def test_the_switch_interval_is_applied_from_the_environment() -> None:
    assert apply_switch_interval({"WEB_SWITCH_INTERVAL_MS": "0.5"}) == pytest.approx(0.0005)
    assert sys.getswitchinterval() == pytest.approx(0.0005)
    assert apply_switch_interval({}) == pytest.approx(DEFAULT_SWITCH_INTERVAL_MS / 1000)
    sys.setswitchinterval(0.002)
    assert apply_switch_interval({"WEB_SWITCH_INTERVAL_MS": "0"}) == pytest.approx(0.002)  # 0: Python's own
    for bad in ("-1", "fast", "nan"):
        with pytest.raises(ValueError, match="WEB_SWITCH_INTERVAL_MS"):
            apply_switch_interval({"WEB_SWITCH_INTERVAL_MS": bad})


def test_importing_the_server_module_patches_nothing() -> None:
    """Only ``python -m webapp`` patches for gevent (the default class); an import — a test's, a
    tool's — leaves the importing process alone."""
    from gevent import monkey

    import webapp.__main__ as server

    assert server.WORKER_CLASS == "gevent" or "WEB_WORKER_CLASS" in os.environ
    assert not monkey.is_module_patched("socket") and not monkey.is_module_patched("ssl")


def test_serving_patches_before_flask_ssl_or_threading_load() -> None:
    """``python -m webapp`` imports the package first: it must bring in nothing gevent patches, so
    the patch in ``__main__`` comes before Flask, ssl, socket or threading are imported."""
    import subprocess
    import sys

    patched = ("flask", "ssl", "socket", "threading")
    probe = f"import sys, webapp; print(sorted(m for m in {patched!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("worker_class", ["gevent", "gthread", "uvicorn"])
def test_a_worker_serves_with_its_startup_heap_out_of_the_collectors_way(
    worker_class: str, tmp_path: Any
) -> None:
    """``python -m webapp``'s worker builds its app, collects once and freezes what it built: a full
    collection afterwards walks only what serving makes, not the ~100,000 objects of the app (walking
    those stopped every open stream for ~100 ms). Garbage made before is collected, not frozen."""
    import subprocess
    import textwrap

    probe = textwrap.dedent(
        """
        import gc, weakref
        from webapp.__main__ import worker_app

        class Node:
            pass

        cycle = Node(); cycle.me = cycle
        collected = []
        weakref.finalize(cycle, collected.append, True)
        del cycle
        gc.disable()  # only the worker's own collection may free the cycle
        app = worker_app(2)
        print(gc.get_freeze_count(), len(gc.get_objects()), collected == [True], callable(app))
        """
    )
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "ATTACHMENT_STORE": str(tmp_path / "files"),
        "WEB_WORKER_CLASS": worker_class,
    }
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env, timeout=120
    ).stdout.split()
    frozen, tracked, cycle_freed, served = int(out[0]), int(out[1]), out[2], out[3]
    assert frozen > 50_000  # the app, its libraries and their modules
    assert tracked < frozen // 10  # what a full collection still walks
    assert cycle_freed == "True" and served == "True"
