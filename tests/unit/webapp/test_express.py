"""The express lane for stream openings (webapp/agent/express.py).

A plain opening (a chat turn without files, ``watch``, ``stop``, ``reset``) is served without Flask's
request machinery; whatever the lane does not take on, Flask answers. Each request here is sent
twice, once with the lane and once with ``EXPRESS_OPENINGS = False`` (every opening through
Flask): the status, the headers, the JSON envelope and what reached the runtime must be the same,
and the lane must have been taken where it should.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, request, session
from flask_wtf.csrf import CSRFError, generate_csrf
from itsdangerous import TimestampSigner

from tests.support.runtime_stub import StubRuntime
from tests.support.webapp_harness import Browser, add_user, chat_body
from tests.unit.webapp.test_webapp_proxy import REFUSALS
from webapp.extensions import csrf
from webapp.security import csrf_header_valid

Send = Callable[[Browser, dict[str, Any]], Any]


def flask_requests(app: Flask) -> list[str]:
    """Paths of the requests Flask itself handled from now on (its before_request hooks ran)."""
    seen: list[str] = []
    app.before_request_funcs.setdefault(None, []).append(lambda: seen.append(request.path))
    return seen


def both_lanes(app: Flask, stub: StubRuntime, send: Callable[[], Any]) -> tuple[dict, dict]:
    """``send()`` through the express lane, then through Flask: what each answered and forwarded."""
    answers = []
    for express in (True, False):
        app.config["EXPRESS_OPENINGS"] = express
        before = len(stub.invocations)
        response = send()
        body = response.get_data()
        response.close()
        forwarded = [json.loads(r.body) for r in stub.invocations[before:]]
        answers.append(
            {
                "status": response.status_code,
                "headers": sorted(
                    (k, v)
                    for k, v in response.headers.items()
                    if (k, response.status_code < 400) != ("Vary", False)
                ),
                "json": response.get_json(silent=True) if response.status_code >= 400 else None,
                "frames": body.count(b"\n\n") if response.status_code == 200 else None,
                "forwarded": forwarded,
            }
        )
    app.config["EXPRESS_OPENINGS"] = True
    return answers[0], answers[1]


ACCEPTED: dict[str, Send] = {
    "a chat turn": lambda b, s: b.post_json("/api/agent/run", chat_body(s, "frames=2")),
    "a chat turn with ui_context": lambda b, s: b.post_json(
        "/api/agent/run", chat_body(s, "frames=1", ui_context={"selection": ["m1"]})
    ),
    "a watch": lambda b, s: b.post_json(f"/api/agent/run/{s['session_id']}/watch", {"token": s["token"]}),
    "a watch resumed by Last-Event-ID": lambda b, s: b.post_json(
        f"/api/agent/run/{s['session_id']}/watch", {"token": s["token"]}, **{"Last-Event-ID": "7"}
    ),
    "a stop": lambda b, s: b.post_json(
        f"/api/agent/run/{s['session_id']}/stop", {"token": s["token"], "session_id": s["session_id"]}
    ),
    "a reset": lambda b, s: b.post_json(f"/api/agent/run/{s['session_id']}/reset", {"token": s["token"]}),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_a_plain_opening_takes_the_express_lane_and_answers_as_flask_would(
    app: Flask, browser: Browser, stub: StubRuntime, case: str
) -> None:
    minted = browser.mint()
    handled = flask_requests(app)
    express, through_flask = both_lanes(app, stub, lambda: ACCEPTED[case](browser, minted))
    assert handled == [handled[-1]] and len(handled) == 1  # only the second (Flask) sending
    assert express["status"] == 200
    assert express == through_flask
    assert len(express["forwarded"]) == 1


@pytest.mark.parametrize("case", list(REFUSALS))
def test_every_refusal_is_the_same_through_either_lane(
    app: Flask, browser: Browser, stub: StubRuntime, case: str
) -> None:
    other = Browser(app.test_client())
    other_user = add_user(app)
    assert other.login(other_user["email"], other_user["password"]).status_code == 302
    minted, others = browser.mint(), other.mint()
    send, status, code = REFUSALS[case]
    express, through_flask = both_lanes(app, stub, lambda: send(browser, minted, others))
    assert express["status"] == status and express["json"]["error"]["code"] == code
    assert express == through_flask
    assert express["forwarded"] == []


def _busy(b: Browser, s: dict[str, Any]) -> Any:
    held = b.post_json("/api/agent/run", chat_body(s, "frames=3"))  # unread: it holds the lease
    try:
        return b.post_json("/api/agent/run", chat_body(s, "frames=1"))
    finally:
        held.get_data()
        held.close()


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("runtime 503", 503, "RUNTIME_UNAVAILABLE"),
        ("runtime refuses the token", 403, "TOKEN_INVALID"),
        ("runtime down", 503, "RUNTIME_RESTARTING"),
        ("a turn already running", 409, "SESSION_BUSY"),
        ("signed out elsewhere", 401, "UNAUTHENTICATED"),
        ("a token of another session", 403, "SESSION_MISMATCH"),
    ],
)
def test_a_refusal_after_the_checks_is_answered_by_flask(
    app: Flask, browser: Browser, user: dict[str, Any], stub: StubRuntime, case: str, status: int, code: str
) -> None:
    minted, second = browser.mint(), browser.mint()
    if case == "runtime down":
        app.extensions["agent_transport"].urls = ["http://127.0.0.1:9"]
    if case == "signed out elsewhere":
        from webapp.extensions import db
        from webapp.models import User

        with app.app_context(), db.engine.begin() as conn:
            table = User.__table__
            conn.execute(table.update().where(table.c.id == user["id"]).values(login_generation=99))
    sends: dict[str, Callable[[], Any]] = {
        "runtime 503": lambda: browser.post_json("/api/agent/run", chat_body(minted, "status=503")),
        "runtime refuses the token": lambda: browser.post_json(
            "/api/agent/run", chat_body(minted, "status=403 refuse=TOKEN_INVALID")
        ),
        "runtime down": lambda: browser.post_json("/api/agent/run", chat_body(minted)),
        "a turn already running": lambda: _busy(browser, minted),
        "signed out elsewhere": lambda: browser.post_json("/api/agent/run", chat_body(minted)),
        "a token of another session": lambda: browser.post_json(
            f"/api/agent/run/{minted['session_id']}/watch", {"token": second["token"]}
        ),
    }
    express, through_flask = both_lanes(app, stub, sends[case])
    assert (express["status"], express["json"]["error"]["code"]) == (status, code)
    assert express == through_flask
    # The lease of a refused turn was given back: the next turn streams.
    if case not in {"signed out elsewhere", "runtime down"}:
        ok = browser.post_json("/api/agent/run", chat_body(minted, "frames=1"))
        assert ok.status_code == 200
        ok.get_data()
        ok.close()


def test_what_the_lane_does_not_take_on_goes_to_flask(
    app: Flask, browser: Browser, stub: StubRuntime
) -> None:
    minted = browser.mint()
    handled = flask_requests(app)
    sid = minted["session_id"]
    sends = [
        lambda: browser.post_json("/api/agent/run?debug=1", chat_body(minted, "frames=1")),  # a query
        lambda: browser.post_json(f"/api/agent/run/{sid}/resume_interrupt", {"token": minted["token"]}),
        lambda: browser.post_json(f"/api/agent/run/{sid}/undo", {"token": minted["token"]}),
        lambda: browser.client.post(  # a chunked body: no declared length
            "/api/agent/run",
            input_stream=io.BytesIO(json.dumps(chat_body(minted, "frames=1")).encode()),
            headers=browser.headers(**{"Content-Type": "application/json"}),
            environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
        ),
    ]
    passed = []
    for send in sends:
        response = send()
        response.get_data()
        response.close()
        passed.append(response)
    assert len(handled) == len(passed)
    assert [r.status_code for r in passed] == [200, 400, 200, 200]  # Flask answered each as before


# -- CSRF: the lane's check gives Flask-WTF's answer ------------------------------------------------


def _flask_wtf_accepts(app: Flask) -> bool:
    try:
        csrf.protect()
    except CSRFError:
        return False
    return True


@pytest.mark.parametrize(
    "case",
    [
        "valid",
        "the other header name",
        "missing",
        "tampered",
        "another session's",
        "expired",
        "https without referrer",
        "https with a foreign referrer",
        "https with this host as referrer",
    ],
)
def test_the_csrf_check_gives_flask_wtfs_answer(
    app: Flask, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    https = case.startswith("https")
    base = "https://localhost" if https else "http://localhost"
    with app.test_request_context("/api/agent/run", method="POST", base_url=base):
        if case == "expired":
            monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: 1_000_000_000)
        token = generate_csrf()
        monkeypatch.undo()
        data = dict(session)
    if case == "another session's":
        with app.test_request_context("/", base_url=base):
            token = generate_csrf()
    headers = {
        "valid": {"X-CSRFToken": token},
        "the other header name": {"X-CSRF-Token": token},
        "missing": {},
        "tampered": {"X-CSRFToken": token[:-3] + "abc"},
        "another session's": {"X-CSRFToken": token},
        "expired": {"X-CSRFToken": token},
        "https without referrer": {"X-CSRFToken": token},
        "https with a foreign referrer": {"X-CSRFToken": token, "Referer": "https://evil.example/"},
        "https with this host as referrer": {"X-CSRFToken": token, "Referer": "https://localhost/builder"},
    }[case]
    with app.test_request_context("/api/agent/run", method="POST", base_url=base, headers=headers):
        session.update(data)
        flask_wtf = _flask_wtf_accepts(app)
        ours = csrf_header_valid(app.config, data, request.environ, request.host)
    assert ours == flask_wtf
    assert ours == (case in {"valid", "the other header name", "https with this host as referrer"})
