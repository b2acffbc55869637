"""The audit trail (webapp/audit): decision and save rows, refusals, the /audit page, append-only."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select, text, update

from agent_runtime.contract import TokenCodec
from tests.support.playbooks import make_playbook
from tests.support.runtime_stub import StubRuntime
from tests.support.webapp_harness import SIGNING_SECRET, Browser, add_user
from webapp.audit import views as audit_views
from webapp.errors import AppendOnlyError
from webapp.extensions import db
from webapp.models import AuditEvent

ROOT = Path(__file__).resolve().parents[3]
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def rows(app: Flask) -> list[AuditEvent]:
    """The decision trail (a new pause in a continuation also adds ``approval.*`` rows, issue 13)."""
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent).where(~AuditEvent.action.startswith("approval.")).order_by(AuditEvent.id)
            )
        )


def resume(
    browser: Browser,
    session: dict[str, Any],
    decision: str = "approve",
    interrupt_id: str = "int-1",
    context: str | None = None,
) -> Any:
    body = {"token": session["token"], "interrupt_id": interrupt_id, "decision": decision}
    if context is not None:
        body["context"] = context
    response = browser.post_json(f"/api/agent/run/{session['session_id']}/resume_interrupt", body)
    response.get_data()
    response.close()  # the WSGI close: the relay's on_finish and the audit outcome
    return response


def signed_in(app: Flask, **user_kwargs: Any) -> tuple[Browser, dict[str, Any]]:
    person = add_user(app, **user_kwargs)
    browser = Browser(app.test_client())
    assert browser.login(person["email"], person["password"]).status_code == 302
    return browser, person


# ------------------------------------------------------------------------------------------------
# decisions forwarded to the runtime
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["approve", "reject", "reroute", "add_context"])
def test_each_decision_is_a_decision_row_then_an_outcome_row(
    app: Flask, browser: Browser, user: dict, stub: StubRuntime, decision: str
) -> None:
    session = browser.mint()
    context = "only the first five modules, please" if decision == "add_context" else None
    extra = {"context": context} if context else {}
    body = {"token": session["token"], "interrupt_id": "int-42", "decision": decision, **extra}
    response = browser.post_json(
        f"/api/agent/run/{session['session_id']}/resume_interrupt",
        body,
        traceparent=TRACEPARENT,
        **{"X-Request-Id": "req-abc.123"},
    )
    relayed = response.get_data()
    response.close()
    assert response.status_code == 200
    [invocation] = stub.invocations
    assert hashlib.sha256(relayed).hexdigest() == invocation.sha256  # observed, not rewritten
    assert b'"RUN_FINISHED"' in relayed

    decided, outcome = rows(app)
    assert decided.action == "interrupt.decision" and outcome.action == "interrupt.outcome"
    for row in (decided, outcome):
        assert (row.user_id, row.vendor_id, row.user_email) == (user["id"], user["vendor_id"], user["email"])
        assert (row.session_id, row.interrupt_id, row.decision) == (session["session_id"], "int-42", decision)
        assert (row.request_id, row.trace_id) == ("req-abc.123", "0af7651916cd43dd8448eb211c80319c")
    assert decided.context == context and outcome.context is None
    assert decided.outcome == "forwarded" and decided.parent_id is None
    assert outcome.outcome == "accepted" and outcome.parent_id == decided.id
    assert outcome.detail["run_outcome"] == "success" and outcome.detail["bytes"] == len(relayed)
    assert decided.at.tzinfo is None or decided.at.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    ("interrupt_id", "outcome", "detail"),
    [
        ("refuse=INTERRUPT_EXPIRED", "refused:INTERRUPT_EXPIRED", {}),
        ("refuse=INTERRUPT_ANSWERED frames=0", "refused:INTERRUPT_ANSWERED", {}),
        ("agui=1 frames=3 fail=MODEL_ERROR", "failed:MODEL_ERROR", {}),
        ("agui=1 frames=1 interrupt=1", "accepted", {"run_outcome": "interrupt"}),
        ("frames=6 size=200 die_after=3 partial=1", "failed:UPSTREAM_FAILED", {}),
        ("agui=1 frames=40 size=90000", "accepted", {"run_outcome": "success"}),  # big frames skipped
    ],
)
def test_the_outcome_is_read_from_the_terminal_event(
    app: Flask, browser: Browser, stub: StubRuntime, interrupt_id: str, outcome: str, detail: dict
) -> None:
    session = browser.mint()
    response = resume(browser, session, interrupt_id=interrupt_id)
    assert response.status_code == 200
    decided, finished = rows(app)
    assert decided.outcome == "forwarded" and decided.interrupt_id == interrupt_id
    assert finished.outcome == outcome and finished.parent_id == decided.id
    assert detail.items() <= finished.detail.items()
    if detail.get("run_outcome") == "interrupt":
        assert finished.detail["interrupt_ids"][0].startswith("int-")


def test_a_runtime_refusal_before_the_stream_is_failed_with_its_status(
    app: Flask, browser: Browser, stub: StubRuntime
) -> None:
    session = browser.mint()
    response = resume(browser, session, interrupt_id="status=503")
    assert response.status_code == 503
    decided, finished = rows(app)
    assert (decided.outcome, finished.outcome, finished.parent_id) == ("forwarded", "failed:503", decided.id)
    # and the lease was released: the next decision goes through
    assert resume(browser, session).status_code == 200


def test_a_browser_that_leaves_early_is_failed_disconnected(app: Flask, browser: Browser, stub: StubRuntime):
    session = browser.mint()
    body = {"token": session["token"], "interrupt_id": "agui=1 frames=5", "decision": "approve"}
    response = browser.post_json(f"/api/agent/run/{session['session_id']}/resume_interrupt", body)
    response.close()  # never read
    assert [r.outcome for r in rows(app)] == ["forwarded", "failed:DISCONNECTED"]


def test_no_audit_no_decision(app: Flask, browser: Browser, stub: StubRuntime, monkeypatch) -> None:
    """If the decision row cannot be written the decision is not forwarded (and the lease is freed)."""
    from webapp.audit import _decisions

    def broken(*_a: Any, **_k: Any) -> int:
        raise RuntimeError("database is down")

    session = browser.mint()
    monkeypatch.setattr(_decisions, "append_now", broken)
    response = resume(browser, session)
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "AUDIT_UNAVAILABLE"
    assert stub.invocations == []
    monkeypatch.undo()
    assert resume(browser, session).status_code == 200


# ------------------------------------------------------------------------------------------------
# decisions the web app refuses
# ------------------------------------------------------------------------------------------------


def _foreign_token(session: dict[str, Any], person: dict[str, Any]) -> str:
    return TokenCodec([SIGNING_SECRET]).mint(
        sid=session["session_id"], uid=person["id"], vid=person["vendor_id"], typ="copilot"
    )


def test_a_decision_from_another_vendor_is_refused_and_recorded_for_the_actor(
    app: Flask, browser: Browser, user: dict, stub: StubRuntime
) -> None:
    victim = browser.mint()
    intruder, person = signed_in(app)
    own = intruder.mint()
    path = f"/api/agent/run/{victim['session_id']}/resume_interrupt"
    attempts = {
        # the victim's token (stolen): not the signed-in person's
        "IDENTITY_MISMATCH": {"token": victim["token"]},
        # the intruder's own token for their own session, aimed at the victim's session
        "SESSION_MISMATCH": {"token": own["token"]},
    }
    for code, body in attempts.items():
        response = intruder.post_json(path, {**body, "interrupt_id": "int-1", "decision": "approve"})
        assert response.status_code == 403 and response.get_json()["error"]["code"] == code
    # a correctly signed token naming the intruder on the victim's session: the session row says no
    forged = intruder.post_json(
        path, {"token": _foreign_token(victim, person), "interrupt_id": "int-1", "decision": "approve"}
    )
    assert forged.status_code == 403 and forged.get_json()["error"]["code"] == "SESSION_MISMATCH"
    assert stub.invocations == []

    recorded = rows(app)
    assert [r.outcome for r in recorded] == [
        "refused:IDENTITY_MISMATCH",
        "refused:SESSION_MISMATCH",
        "refused:SESSION_MISMATCH",
    ]
    for row in recorded:
        assert row.action == "interrupt.decision" and row.parent_id is None
        assert (row.user_id, row.vendor_id, row.user_email) == (
            person["id"],
            person["vendor_id"],
            person["email"],
        )
        assert (row.session_id, row.interrupt_id, row.decision) == (victim["session_id"], "int-1", "approve")
    # the victim's vendor sees none of it
    assert "int-1" not in browser.client.get("/audit").get_data(as_text=True)


def test_a_decision_from_another_user_of_the_same_vendor_is_refused(
    app: Flask, browser: Browser, user: dict, stub: StubRuntime
) -> None:
    session = browser.mint()
    colleague, person = signed_in(app, vendor=user["vendor"])
    response = colleague.post_json(
        f"/api/agent/run/{session['session_id']}/resume_interrupt",
        {"token": _foreign_token(session, person), "interrupt_id": "int-9", "decision": "reject"},
    )
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "SESSION_MISMATCH"
    assert stub.invocations == []
    [row] = rows(app)
    assert (row.user_id, row.outcome, row.decision) == (person["id"], "refused:SESSION_MISMATCH", "reject")


@pytest.mark.parametrize(
    ("send", "status", "code", "size"),
    [
        (
            lambda b, s, body: b.client.post(
                f"/api/agent/run/{s['session_id']}/resume_interrupt",
                json=body,
                headers={"Origin": "http://localhost"},
            ),
            403,
            "CSRF_FAILED",
            10_000,  # larger than the runtime accepts: capped in the row
        ),
        (
            lambda b, s, body: b.client.post(
                f"/api/agent/run/{s['session_id']}/resume_interrupt",
                json=body,
                headers={**b.headers(), "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
            ),
            403,
            "CROSS_SITE",
            10_000,
        ),
        (
            lambda b, s, body: b.post_json(
                f"/api/agent/run/{s['session_id']}/resume_interrupt",
                {**body, "token": s["token"][:-4] + "AAAA"},
            ),
            401,
            "TOKEN_INVALID",
            500,
        ),
    ],
    ids=["csrf", "cross-site", "bad-token"],
)
def test_refusals_before_the_runtime_are_recorded(
    app: Flask, browser: Browser, user: dict, stub: StubRuntime, send: Any, status: int, code: str, size: int
) -> None:
    session = browser.mint()
    context = "x" * size
    body = {"token": session["token"], "interrupt_id": "int-7", "decision": "add_context", "context": context}
    response = send(browser, session, body)
    assert response.status_code == status and response.get_json()["error"]["code"] == code
    assert stub.invocations == []
    [row] = rows(app)
    assert row.outcome == f"refused:{code}" and row.user_id == user["id"]
    assert (row.interrupt_id, row.decision, row.session_id) == ("int-7", "add_context", session["session_id"])
    assert (
        row.context == context if size <= 4000 else (len(row.context) == 4000 and row.context.endswith("…"))
    )


def test_a_decision_while_a_turn_runs_is_refused_busy_and_recorded(
    app: Flask, browser: Browser, stub: StubRuntime
) -> None:
    session = browser.mint()
    turn = browser.post_json(
        "/api/agent/run",
        {"session_id": session["session_id"], "token": session["token"], "prompt": "frames=2"},
    )  # open, unread: holds the lease
    response = resume(browser, session)
    assert response.status_code == 409
    turn.get_data()
    turn.close()
    [row] = rows(app)
    assert row.outcome == "refused:SESSION_BUSY" and row.decision == "approve"


def test_validation_noise_and_anonymous_calls_are_not_recorded(
    app: Flask, browser: Browser, anonymous: Browser, stub: StubRuntime
) -> None:
    session = browser.mint()
    path = f"/api/agent/run/{session['session_id']}/resume_interrupt"
    assert (
        browser.post_json(
            path, {"token": session["token"], "interrupt_id": "i", "decision": "maybe"}
        ).status_code
        == 400
    )
    assert browser.post_json(path, {"token": session["token"], "decision": "approve"}).status_code == 400
    anonymous_call = anonymous.client.post(
        path,
        json={"token": session["token"], "interrupt_id": "i", "decision": "approve"},
        headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
    )
    assert anonymous_call.status_code == 401
    # other actions are not decisions
    stop = browser.post_json(f"/api/agent/run/{session['session_id']}/stop", {"token": "nope"})
    assert stop.status_code == 401
    assert rows(app) == [] and stub.invocations == []


# ------------------------------------------------------------------------------------------------
# saves, edits, deletes
# ------------------------------------------------------------------------------------------------


def test_save_edit_and_delete_are_rows_with_who_and_request(
    app: Flask, browser: Browser, user: dict, stub: StubRuntime
) -> None:
    session = browser.mint()
    stub.canvases[session["session_id"]] = make_playbook(2, 1, 1)  # the session's canvas is what is saved
    extra = {"X-Request-Id": "save-1", "traceparent": TRACEPARENT}
    saved = browser.post_json(
        "/agent/save-playbook",
        {"playbook": make_playbook(2, 1, 1), "idempotency_key": "k1", "session_id": session["session_id"]},
        **extra,
    )
    assert saved.status_code == 201
    replay = browser.post_json(
        "/agent/save-playbook",
        {"playbook": make_playbook(2, 1, 1), "idempotency_key": "k1", "session_id": session["session_id"]},
    )
    assert replay.status_code == 200  # the same save: no second row
    opaque, decoded = saved.get_json()["playbook_id"], saved.get_json()["playbook_id_decoded"]
    edited = make_playbook(3, 1, 1)
    assert browser.put_json(f"/api/playbooks/{opaque}", {"playbook": edited}).status_code == 200
    gone = browser.client.delete(f"/api/playbooks/{opaque}", headers=browser.headers())
    assert gone.status_code == 200

    save, edit, remove = rows(app)
    assert [r.action for r in (save, edit, remove)] == ["playbook.save", "playbook.update", "playbook.delete"]
    for row in (save, edit, remove):
        assert (row.user_id, row.vendor_id, row.user_email) == (user["id"], user["vendor_id"], user["email"])
        assert (row.subject_type, row.subject_id) == ("playbook", str(decoded))
        assert row.request_id and row.decision is None and row.interrupt_id is None
    assert (save.request_id, save.trace_id) == ("save-1", "0af7651916cd43dd8448eb211c80319c")
    assert save.session_id == session["session_id"] == remove.session_id
    assert save.detail == {"title": make_playbook(2, 1, 1)["title"], "modules": 2}
    assert edit.detail["modules"] == 3 and remove.detail == {"title": edited["title"]}
    # each request got its own id when the browser sent none
    assert len({edit.request_id, remove.request_id}) == 2


def test_a_malformed_request_id_is_replaced(app: Flask, browser: Browser) -> None:
    browser.post_json(
        "/agent/save-playbook",
        {"playbook": make_playbook(1, 1, 1), "idempotency_key": "k"},
        **{"X-Request-Id": "<script>" + "x" * 100, "traceparent": "garbage"},
    )
    [row] = rows(app)
    assert re.fullmatch(r"[0-9a-f]{32}", row.request_id) and row.trace_id is None


# ------------------------------------------------------------------------------------------------
# the /audit page
# ------------------------------------------------------------------------------------------------


def _entries(html: str) -> list[str]:
    return re.findall(r'data-audit-id="(\d+)" data-action="([a-z._]+)"', html)


def test_audit_needs_login(anonymous: Browser) -> None:
    response = anonymous.client.get("/audit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_audit_shows_the_vendors_events_newest_first_with_outcomes(
    app: Flask, browser: Browser, user: dict, stub: StubRuntime
) -> None:
    session = browser.mint()
    resume(browser, session, decision="add_context", interrupt_id="int-a", context="use <b>bold</b> steps")
    resume(browser, session, decision="reject", interrupt_id="refuse=INTERRUPT_EXPIRED")
    browser.post_json("/agent/save-playbook", {"playbook": make_playbook(1, 1, 1), "idempotency_key": "k"})
    stranger, _ = signed_in(app)
    foreign = stranger.mint()
    resume(stranger, foreign, interrupt_id="int-foreign")
    stranger.post_json("/agent/save-playbook", {"playbook": make_playbook(1, 1, 1), "idempotency_key": "k"})

    page = browser.client.get("/audit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'href="/audit" aria-current="page">Audit</a>' in html
    listed = _entries(html)
    assert [action for _, action in listed] == ["playbook.save", "interrupt.decision", "interrupt.decision"]
    ids = [int(i) for i, _ in listed]
    assert ids == sorted(ids, reverse=True)
    assert "int-foreign" not in html and foreign["session_id"] not in html
    assert "accepted" in html and "refused:INTERRUPT_EXPIRED" in html and "interrupt.outcome" not in html
    assert "use &lt;b&gt;bold&lt;/b&gt; steps" in html  # the person's text, escaped
    assert user["email"] in html

    theirs = _entries(stranger.client.get("/audit").get_data(as_text=True))
    assert [action for _, action in theirs] == ["playbook.save", "interrupt.decision"]
    assert not {i for i, _ in theirs} & {i for i, _ in listed}


def test_audit_filters_by_session(app: Flask, browser: Browser, stub: StubRuntime) -> None:
    first, second = browser.mint(), browser.mint()
    resume(browser, first, interrupt_id="int-first")
    resume(browser, second, interrupt_id="int-second")
    html = browser.client.get(f"/audit?session={first['session_id']}").get_data(as_text=True)
    assert "int-first" in html and "int-second" not in html
    assert f'value="{first["session_id"]}"' in html
    nothing = browser.client.get("/audit?session=" + "0" * 36).get_data(as_text=True)
    assert _entries(nothing) == [] and "Nothing recorded for this session" in nothing


@pytest.mark.parametrize(
    "query", ["session=%3Cscript%3E", "session=" + "a" * 101, "before=abc", "after=-1", "before=0"]
)
def test_audit_refuses_bad_filters(browser: Browser, query: str) -> None:
    response = browser.client.get(f"/audit?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<script>" not in html and 'class="banner banner-error flash"' in html


def test_audit_pages_by_id(app: Flask, browser: Browser, user: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_views, "PAGE_SIZE", 3)
    for i in range(7):
        browser.post_json(
            "/agent/save-playbook", {"playbook": make_playbook(1, 1, 1), "idempotency_key": f"k{i}"}
        )
    all_ids = sorted((r.id for r in rows(app)), reverse=True)

    first = browser.client.get("/audit").get_data(as_text=True)
    assert [int(i) for i, _ in _entries(first)] == all_ids[:3]
    assert "Newer" not in first
    older = re.search(r'href="(/audit\?before=\d+)"', first)
    assert older
    second = browser.client.get(older.group(1)).get_data(as_text=True)
    assert [int(i) for i, _ in _entries(second)] == all_ids[3:6]
    third = browser.client.get(re.search(r'href="(/audit\?before=\d+)"', second).group(1)).get_data(
        as_text=True
    )
    assert [int(i) for i, _ in _entries(third)] == all_ids[6:]
    assert "Older" not in third
    back = re.search(r'href="(/audit\?after=\d+)"', third)
    assert back
    assert [int(i) for i, _ in _entries(browser.client.get(back.group(1)).get_data(as_text=True))] == all_ids[
        3:6
    ]


# ------------------------------------------------------------------------------------------------
# append-only inside the application
# ------------------------------------------------------------------------------------------------

_WRITE_PATTERNS = [
    re.compile(r"\b(update|delete)\(\s*AuditEvent\b"),
    re.compile(r"AuditEvent\.__table__\s*\.\s*(update|delete)\b"),
    re.compile(r"\b(UPDATE|DELETE\s+FROM|TRUNCATE)\s+(TABLE\s+)?\"?audit_event\b", re.IGNORECASE),
    re.compile(r"\b(update|delete)\(\s*[\"']?audit_event\b"),
]


def _writes_to_audit(source: str) -> list[str]:
    return [m.group(0) for pattern in _WRITE_PATTERNS for m in pattern.finditer(source)]


def test_the_application_has_no_update_or_delete_path_for_audit_rows() -> None:
    # the patterns do catch the ways one would write it
    for sample in (
        "conn.execute(update(AuditEvent).values(outcome='x'))",
        "session.execute(delete( AuditEvent ))",
        "AuditEvent.__table__.delete()",
        'conn.exec_driver_sql("UPDATE audit_event SET outcome = 1")',
        "text('delete from \"audit_event\"')",
    ):
        assert _writes_to_audit(sample), sample
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in (ROOT / "webapp").rglob("*.py")
        if (found := _writes_to_audit(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
    # and the model carries no behaviour of its own that could change a row
    own = {name for name, value in vars(AuditEvent).items() if callable(value) and not name.startswith("__")}
    assert own == set()


def test_the_orm_refuses_to_change_or_delete_an_audit_row(app: Flask, browser: Browser) -> None:
    browser.post_json("/agent/save-playbook", {"playbook": make_playbook(1, 1, 1), "idempotency_key": "k"})
    with app.app_context():
        session = db.new_session()
        try:
            row = session.scalars(select(AuditEvent)).one()
            row.outcome = "rewritten"
            with pytest.raises(AppendOnlyError):
                session.flush()
            session.rollback()
            session.delete(session.scalars(select(AuditEvent)).one())
            with pytest.raises(AppendOnlyError):
                session.flush()
            session.rollback()
            with pytest.raises(AppendOnlyError):
                session.execute(update(AuditEvent).values(outcome="rewritten"))
            with pytest.raises(AppendOnlyError):
                session.execute(delete(AuditEvent))
        finally:
            session.close()
    [row] = rows(app)
    assert row.outcome is None and row.action == "playbook.save"


def test_the_database_refuses_what_slips_past_the_orm(app: Flask, browser: Browser) -> None:
    from sqlalchemy.exc import IntegrityError

    browser.post_json("/agent/save-playbook", {"playbook": make_playbook(1, 1, 1), "idempotency_key": "k"})
    engine = app.extensions["database"].engine
    for statement in ("UPDATE audit_event SET outcome = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(IntegrityError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert len(rows(app)) == 1
