"""The run proxy (webapp/agent/views.py): checks before the runtime, bytes unchanged after."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pytest
from itsdangerous import URLSafeTimedSerializer

from agent_runtime.contract import TOKEN_SALT, TokenCodec
from tests.support.runtime_stub import StubRuntime
from tests.support.webapp_harness import SIGNING_SECRET, Browser, add_user, chat_body


def test_mint_returns_uuid4_session_proxy_url_and_a_verifiable_token(
    browser: Browser, user: dict, stub: StubRuntime
):
    minted = browser.mint()
    assert minted["agent_url"] == "/api/agent"
    assert len(minted["session_id"]) == 36 and minted["session_id"][14] == "4"
    claims = TokenCodec([SIGNING_SECRET]).verify(minted["token"])
    assert (claims.sid, claims.uid, claims.vid, claims.typ) == (
        minted["session_id"],
        user["id"],
        user["vendor_id"],
        "copilot",
    )
    assert stub.invocations == []  # no runtime call at mint time


def test_mint_refuses_unknown_agent_type(browser: Browser):
    response = browser.client.post("/api/agent/hacker/session", headers=browser.headers())
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "UNKNOWN_AGENT_TYPE"


def test_chat_bytes_reach_the_client_unchanged_with_stream_headers(browser: Browser, stub: StubRuntime):
    session = browser.mint()
    response = browser.post_json("/api/agent/run", chat_body(session, "frames=25 size=300"))
    body = response.get_data()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Cache-Control"].startswith("no-cache")
    assert response.headers["X-Accel-Buffering"] == "no"
    assert "X-Stub-Secret" not in response.headers and "Content-Encoding" not in response.headers
    [invocation] = stub.invocations
    assert hashlib.sha256(body).hexdigest() == invocation.sha256
    assert body.count(b"\n\n") == 25


def test_forwarded_payload_and_headers(browser: Browser, stub: StubRuntime):
    session = browser.mint()
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    browser.post_json(
        "/api/agent/run", chat_body(session, ui_context={"page": "builder"}), traceparent=traceparent
    ).get_data()
    [invocation] = stub.invocations
    assert invocation.payload == {
        "session_id": session["session_id"],
        "token": session["token"],
        "action": "chat",
        "prompt": "frames=3",
        "ui_context": {"page": "builder"},
    }
    assert invocation.headers["x-amzn-bedrock-agentcore-runtime-session-id"] == session["session_id"]
    assert invocation.headers["traceparent"] == traceparent
    assert "cookie" not in invocation.headers


@pytest.mark.parametrize("action", ["stop", "reset", "watch"])
def test_out_of_band_actions_forward_the_path_session_and_action(
    browser: Browser, stub: StubRuntime, action: str
):
    session = browser.mint()
    response = browser.post_json(
        f"/api/agent/run/{session['session_id']}/{action}", {"token": session["token"]}
    )
    assert response.status_code == 200 and response.get_data()
    [invocation] = stub.invocations
    assert invocation.payload == {
        "session_id": session["session_id"],
        "token": session["token"],
        "action": action,
    }


def test_watch_maps_last_event_id_header(browser: Browser, stub: StubRuntime):
    session = browser.mint()
    browser.post_json(
        f"/api/agent/run/{session['session_id']}/watch",
        {"token": session["token"]},
        **{"Last-Event-ID": "41"},
    ).get_data()
    assert stub.invocations[0].payload["last_event_id"] == 41


def test_resume_interrupt_is_validated_and_forwarded(browser: Browser, stub: StubRuntime):
    session = browser.mint()
    body = {"token": session["token"], "interrupt_id": "int-1", "decision": "approve"}
    assert (
        browser.post_json(f"/api/agent/run/{session['session_id']}/resume_interrupt", body).status_code == 200
    )
    assert stub.invocations[0].payload["decision"] == "approve"
    bad = browser.post_json(
        f"/api/agent/run/{session['session_id']}/resume_interrupt",
        {"token": session["token"], "interrupt_id": "int-1", "decision": "maybe"},
    )
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "INVALID_PAYLOAD"


# ------------------------------------------------------------------------------------------------
# refusals: each has its status and never reaches the runtime
# ------------------------------------------------------------------------------------------------


def _forged(session: dict[str, Any], **claims: Any) -> str:
    real = TokenCodec([SIGNING_SECRET]).verify(session["token"]).model_dump()
    real.update(claims)
    return TokenCodec([SIGNING_SECRET]).mint(
        sid=real["sid"], uid=real["uid"], vid=real["vid"], typ=real["typ"]
    )


def _expired(session: dict[str, Any]) -> str:
    claims = TokenCodec([SIGNING_SECRET]).verify(session["token"]).model_dump()
    claims["exp"] = int(time.time()) - 10
    import hashlib as _h

    serializer = URLSafeTimedSerializer(
        [SIGNING_SECRET],
        salt=TOKEN_SALT,
        signer_kwargs={"key_derivation": "hmac", "digest_method": _h.sha256},
    )
    return str(serializer.dumps(claims))


REFUSALS = {
    "missing token": (
        lambda b, s, o: b.post_json("/api/agent/run", {**chat_body(s), "token": ""}),
        401,
        "TOKEN_MISSING",
    ),
    "forged token": (
        lambda b, s, o: b.post_json("/api/agent/run", {**chat_body(s), "token": s["token"][:-4] + "AAAA"}),
        401,
        "TOKEN_INVALID",
    ),
    "other secret": (
        lambda b, s, o: b.post_json(
            "/api/agent/run",
            {
                **chat_body(s),
                "token": TokenCodec(["z" * 40]).mint(sid=s["session_id"], uid=1, vid=1, typ="copilot"),
            },
        ),
        401,
        "TOKEN_INVALID",
    ),
    "expired token": (
        lambda b, s, o: b.post_json("/api/agent/run", {**chat_body(s), "token": _expired(s)}),
        401,
        "TOKEN_EXPIRED",
    ),
    "other user's token": (
        lambda b, s, o: b.post_json("/api/agent/run", chat_body(o)),
        403,
        "IDENTITY_MISMATCH",
    ),
    "token for another session": (
        lambda b, s, o: b.post_json(
            "/api/agent/run", {**chat_body(s), "session_id": "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"}
        ),
        403,
        "SESSION_MISMATCH",
    ),
    "unminted session": (
        lambda b, s, o: b.post_json(
            "/api/agent/run",
            {
                **chat_body(s),
                "session_id": "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
                "token": _forged(s, sid="6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"),
            },
        ),
        403,
        "SESSION_MISMATCH",
    ),
    "path session differs from token": (
        lambda b, s, o: b.post_json(f"/api/agent/run/{o['session_id']}/stop", {"token": s["token"]}),
        403,
        "SESSION_MISMATCH",
    ),
    "body session differs from path": (
        lambda b, s, o: b.post_json(
            f"/api/agent/run/{s['session_id']}/stop", {"token": s["token"], "session_id": o["session_id"]}
        ),
        403,
        "SESSION_MISMATCH",
    ),
    "unknown action": (
        lambda b, s, o: b.post_json(f"/api/agent/run/{s['session_id']}/explode", {"token": s["token"]}),
        404,
        "UNKNOWN_ACTION",
    ),
    "non-chat action on /run": (
        lambda b, s, o: b.post_json("/api/agent/run", {**chat_body(s), "action": "stop"}),
        400,
        "UNKNOWN_ACTION",
    ),
    "malformed json": (
        lambda b, s, o: b.client.post(
            "/api/agent/run", data=b"{not json", headers=b.headers(**{"Content-Type": "application/json"})
        ),
        400,
        "INVALID_PAYLOAD",
    ),
    "json array": (lambda b, s, o: b.post_json("/api/agent/run", [1, 2]), 400, "INVALID_PAYLOAD"),
    "extra field": (
        lambda b, s, o: b.post_json("/api/agent/run", {**chat_body(s), "admin": True}),
        400,
        "INVALID_PAYLOAD",
    ),
    "empty prompt": (
        lambda b, s, o: b.post_json("/api/agent/run", chat_body(s, "   ")),
        400,
        "INVALID_PAYLOAD",
    ),
    "oversized prompt": (
        lambda b, s, o: b.post_json("/api/agent/run", chat_body(s, "x" * (33 * 1024))),
        413,
        "PAYLOAD_TOO_LARGE",
    ),
    "oversized body": (
        lambda b, s, o: b.post_json("/api/agent/run", chat_body(s, ui_context={"x": "y" * 300_000})),
        413,
        "PAYLOAD_TOO_LARGE",
    ),
    "bad last-event-id": (
        lambda b, s, o: b.post_json(
            f"/api/agent/run/{s['session_id']}/watch", {"token": s["token"]}, **{"Last-Event-ID": "abc"}
        ),
        400,
        "INVALID_PAYLOAD",
    ),
    "text/plain body": (
        lambda b, s, o: b.client.post(
            "/api/agent/run",
            data=json.dumps(chat_body(s)),
            headers=b.headers(**{"Content-Type": "text/plain"}),
        ),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    "cross-site fetch": (
        lambda b, s, o: b.client.post(
            "/api/agent/run",
            json=chat_body(s),
            headers={**b.headers(), "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        ),
        403,
        "CROSS_SITE",
    ),
    "foreign origin": (
        lambda b, s, o: b.client.post(
            "/api/agent/run",
            json=chat_body(s),
            headers={**b.headers(), "Sec-Fetch-Site": "", "Origin": "https://evil.example"},
        ),
        403,
        "CROSS_SITE",
    ),
    "missing csrf token": (
        lambda b, s, o: b.client.post(
            "/api/agent/run", json=chat_body(s), headers={"Origin": "http://localhost"}
        ),
        403,
        "CSRF_FAILED",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_never_reach_the_runtime(app, browser: Browser, stub: StubRuntime, case: str):
    other = Browser(app.test_client())
    other_user = add_user(app, vendor=None)
    assert other.login(other_user["email"], other_user["password"]).status_code == 302
    session, others = browser.mint(), other.mint()
    send, status, code = REFUSALS[case]
    response = send(browser, session, others)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == code
    assert stub.invocations == []


def test_signed_out_run_is_401_and_never_reaches_the_runtime(
    browser: Browser, anonymous: Browser, stub: StubRuntime
):
    session = browser.mint()
    response = anonymous.client.post(
        "/api/agent/run",
        json=chat_body(session),
        headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "UNAUTHENTICATED"
    assert anonymous.client.post("/api/agent/copilot/session").status_code == 401
    assert stub.invocations == []


def test_another_vendors_session_is_refused(app, browser: Browser, stub: StubRuntime):
    """A token correctly signed for another vendor's session is refused by the session row check."""
    session = browser.mint()
    intruder_user = add_user(app)
    intruder = Browser(app.test_client())
    intruder.login(intruder_user["email"], intruder_user["password"])
    token = TokenCodec([SIGNING_SECRET]).mint(
        sid=session["session_id"], uid=intruder_user["id"], vid=intruder_user["vendor_id"], typ="copilot"
    )
    response = intruder.post_json("/api/agent/run", {**chat_body(session), "token": token})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "SESSION_MISMATCH"
    assert stub.invocations == []


def test_second_concurrent_turn_is_409_and_the_lease_is_released_after(browser: Browser, stub: StubRuntime):
    session = browser.mint()
    first = browser.post_json("/api/agent/run", chat_body(session, "frames=3"))
    # The first response is open (its body not yet read): the lease is held.
    second = browser.post_json("/api/agent/run", chat_body(session, "frames=1"))
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "SESSION_BUSY"
    stop = browser.post_json(f"/api/agent/run/{session['session_id']}/stop", {"token": session["token"]})
    assert stop.status_code == 200  # out-of-band actions take no lease
    stop.get_data()
    first.get_data()
    first.close()
    third = browser.post_json("/api/agent/run", chat_body(session, "frames=1"))
    assert third.status_code == 200
    third.get_data()
    third.close()
    assert [r.payload["action"] for r in stub.invocations] == ["chat", "stop", "chat"]


def test_an_edit_undo_or_redo_during_a_turn_is_409_busy_and_holds_the_lease_itself(
    browser: Browser, stub: StubRuntime
):
    session = browser.mint()
    sid, token = session["session_id"], session["token"]
    op = {"tool": "remove_module", "args": {"module_index": 0}}
    edit = {"token": token, "base_version": 3, "ops": [op]}
    turn = browser.post_json("/api/agent/run", chat_body(session, "frames=3"))  # open: the lease is held
    for action, body in (("edit", edit), ("undo", {"token": token}), ("redo", {"token": token})):
        busy = browser.post_json(f"/api/agent/run/{sid}/{action}", body)
        assert busy.status_code == 409 and busy.get_json()["error"]["code"] == "SESSION_BUSY", action
    turn.get_data()
    turn.close()
    change = browser.post_json(f"/api/agent/run/{sid}/edit", edit)  # open: now the edit holds it
    assert change.status_code == 200
    blocked = browser.post_json("/api/agent/run", chat_body(session, "frames=1"))
    assert blocked.status_code == 409 and blocked.get_json()["error"]["code"] == "SESSION_BUSY"
    change.get_data()
    change.close()
    assert [r.payload["action"] for r in stub.invocations] == ["chat", "edit"]
    assert stub.invocations[1].payload == {"session_id": sid, "action": "edit", **edit}


def test_lease_is_released_when_the_response_is_closed_unread(browser: Browser, stub: StubRuntime):
    session = browser.mint()
    first = browser.post_json("/api/agent/run", chat_body(session, "frames=2"))
    first.close()
    again = browser.post_json("/api/agent/run", chat_body(session, "frames=2"))
    assert again.status_code == 200
    again.get_data()
    again.close()


@pytest.mark.parametrize(
    ("script", "status", "code"),
    [
        ("status=503", 503, "RUNTIME_UNAVAILABLE"),
        ("status=500", 502, "UPSTREAM_FAILED"),
        ("status=429 refuse=SESSION_BUSY", 429, "SESSION_BUSY"),
        ("status=403 refuse=TOKEN_INVALID", 403, "TOKEN_INVALID"),
        # A code outside the contract's ErrorCode is never passed on to the browser.
        ("status=429", 429, "TOO_MANY_REQUESTS"),
        ("status=403", 403, "UPSTREAM_FAILED"),
    ],
)
def test_runtime_refusal_before_the_stream_is_json(
    browser: Browser, stub: StubRuntime, script: str, status: int, code: str
):
    session = browser.mint()
    response = browser.post_json("/api/agent/run", chat_body(session, script))
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    # and the lease was released
    ok = browser.post_json("/api/agent/run", chat_body(session, "frames=1"))
    assert ok.status_code == 200
    ok.get_data()
    ok.close()


def test_a_runtime_that_refuses_connections_is_503_restarting(app, browser: Browser):
    app.extensions["agent_transport"].urls = ["http://127.0.0.1:9"]
    session = browser.mint()
    response = browser.post_json("/api/agent/run", chat_body(session))
    assert response.status_code == 503
    assert response.get_json() == {
        "error": {
            "code": "RUNTIME_RESTARTING",
            "message": "the agent runtime refused the connection; it may be restarting",
        }
    }


def test_mid_stream_death_drops_the_cut_frame_and_appends_one_run_error(browser: Browser, stub: StubRuntime):
    from ag_ui.core import RunErrorEvent

    session = browser.mint()
    body = browser.post_json(
        "/api/agent/run", chat_body(session, "frames=10 die_after=4 partial=1")
    ).get_data()
    sent = bytes(stub.invocations[0].sent)
    whole = sent[: sent.rindex(b"\n\n") + 2]  # the frames before the cut one
    assert len(whole) < len(sent)  # the stub did die inside a frame
    assert body.startswith(whole)
    tail = body[len(whole) :]
    assert tail.startswith(b"data: ") and tail.count(b"RUN_ERROR") == 1 and tail.endswith(b"\n\n")
    assert tail.count(b"\n\n") == 1  # nothing of the cut frame: the RUN_ERROR frame is all that follows
    last = body.rstrip(b"\n").rsplit(b"\n\n", 1)[1]
    event = RunErrorEvent.model_validate_json(last.removeprefix(b"data: "))
    assert event.code == "UPSTREAM_FAILED"


def _statements(engine: Any) -> tuple[list[str], Any]:
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize(("path", "script"), [("chat", "frames=2"), ("watch", None)])
def test_one_database_statement_before_the_first_byte(
    app, browser: Browser, stub: StubRuntime, path: str, script: str | None
):
    session = browser.mint()
    seen, stop = _statements(app.extensions["database"].engine)
    try:
        if path == "chat":
            response = browser.post_json("/api/agent/run", chat_body(session, script))
        else:
            url = f"/api/agent/run/{session['session_id']}/watch"
            response = browser.post_json(url, {"token": session["token"]})
        before_body = list(seen)
        assert response.status_code == 200
        response.get_data()
        response.close()
    finally:
        stop()
    assert before_body == ["UPDATE"]  # ownership, user, lease and last_run_at in one statement
    assert seen == (["UPDATE", "UPDATE"] if path == "chat" else ["UPDATE"])  # + the release


def test_a_failing_lease_renewal_never_ends_a_working_stream(app, browser: Browser, stub: StubRuntime):
    import threading

    from sqlalchemy.exc import OperationalError

    from webapp.agent.leases import LeaseKeeper

    failed = threading.Event()

    class FailingRenewals(LeaseKeeper):
        def renew_all(self) -> int:
            self.attempts = getattr(self, "attempts", 0) + 1
            if self.attempts >= 2:
                failed.set()
            raise OperationalError("UPDATE agent_session", {}, Exception("pool exhausted"))

    keeper = FailingRenewals(app.extensions["database"].engine, seconds=60, renew_every=0.01)
    app.extensions["lease_keeper"] = keeper
    session = browser.mint()
    response = browser.post_json("/api/agent/run", chat_body(session, "frames=3"))
    chunks = iter(response.response)  # the relay, iterated as the server would
    first = next(chunks)
    assert failed.wait(10)  # renewals failed while the stream was open...
    body = first + b"".join(chunks)
    response.close()
    # ...and it went on to its end untouched
    assert hashlib.sha256(body).hexdigest() == stub.invocations[0].sha256 and b"RUN_ERROR" not in body
    assert keeper.renewal_failures >= 2 and keeper.live() == 0


def test_database_unavailable_is_503_before_the_stream(app, browser: Browser, stub: StubRuntime):
    from webapp.agent.leases import LeaseKeeper

    session = browser.mint()

    class Exhausted(LeaseKeeper):
        def _with_connection(self, work: Any) -> Any:
            from sqlalchemy.exc import TimeoutError as PoolTimeout

            raise PoolTimeout("QueuePool limit of size 4 overflow 16 reached")

    app.extensions["lease_keeper"] = Exhausted(app.extensions["database"].engine, seconds=60)
    response = browser.post_json("/api/agent/run", chat_body(session, "frames=2"))
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "DATABASE_UNAVAILABLE"
    assert stub.invocations == []


@pytest.mark.parametrize("path", ["chat", "watch"])
def test_a_deactivated_user_cannot_stream_with_a_still_valid_cookie(
    app, browser: Browser, user: dict, stub: StubRuntime, path: str
):
    # The stream path does not load the user row first; its one statement still checks the user.
    from webapp.extensions import db
    from webapp.models import User

    session = browser.mint()
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(User.__table__.update().where(User.id == user["id"]).values(active=False))
    if path == "chat":
        response = browser.post_json("/api/agent/run", chat_body(session))
    else:
        response = browser.post_json(
            f"/api/agent/run/{session['session_id']}/watch", {"token": session["token"]}
        )
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "UNAUTHENTICATED"
    assert stub.invocations == []
