"""Decisions through the web app to the REAL runtime (interrupts), on Postgres and a live server:
each decision is audited with what the runtime answered, and /audit shows it to the vendor only."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.support.runtime_process import RUNTIME_SECRET, RuntimeProcess, start_runtime
from tests.support.sse import Frame, check_stream, parse_frames, text_of, tool_calls
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import LiveServer, WebClient, add_user, app_config
from webapp import create_app
from webapp.accounts import set_desks
from webapp.extensions import db
from webapp.models import AuditEvent, User

TWELVE = (
    "Create a playbook with 12 modules: intake, kickoff, discovery, design, build, test, train, launch, "
    "support, review, audit, close"
)


@pytest.fixture(scope="module")
def own_runtime() -> Iterator[RuntimeProcess]:
    """A runtime of this module's own (approvals start builders; nobody else should see them)."""
    with start_runtime() as process:
        yield process


@pytest.fixture(scope="module")
def server(postgres_url: str, own_runtime: RuntimeProcess) -> Iterator[tuple[LiveServer, Any]]:
    app = create_app(app_config(postgres_url, own_runtime.url, AGENT_SIGNING_SECRET=RUNTIME_SECRET))
    with LiveServer(app) as live:
        yield live, app
    app.extensions["database"].dispose()
    app.extensions["agent_transport"].close()


def _stream(client: WebClient, path: str, body: dict[str, Any]) -> list[Frame]:
    with client.stream(path, body) as response:
        assert response.status_code == 200, response.read()
        frames = parse_frames(b"".join(response.iter_raw()))
    check_stream(frames)
    return frames


def _paused(client: WebClient) -> tuple[dict[str, Any], str]:
    """A session whose orchestrator waits for approval of a 12-module build."""
    session = client.mint()
    for prompt in (TWELVE, "build it"):
        frames = _stream(
            client,
            "/api/agent/run",
            {"session_id": session["session_id"], "token": session["token"], "prompt": prompt},
        )
    outcome = frames[-1].event["outcome"]
    assert outcome["type"] == "interrupt", outcome
    return session, outcome["interrupts"][0]["id"]


def _decide(
    client: WebClient, session: dict[str, Any], interrupt_id: str, decision: str, **extra: Any
) -> list[Frame]:
    body = {"token": session["token"], "interrupt_id": interrupt_id, "decision": decision, **extra}
    return _stream(client, f"/api/agent/run/{session['session_id']}/resume_interrupt", body)


def _audit(app: Any, user_id: int, count: int, timeout: float = 15.0) -> list[AuditEvent]:
    """The user's audit rows once there are ``count`` (outcome rows land as each response closes)."""
    engine = app.extensions["database"].engine
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while True:
        with engine.connect() as conn:
            found = list(
                conn.execute(select(AuditEvent).where(AuditEvent.user_id == user_id).order_by(AuditEvent.id))
            )
        if len(found) >= count or time.monotonic() > deadline:
            return found  # type: ignore[return-value]
        tick.wait(0.02)


def _pairs(found: list[Any]) -> list[tuple[str, str, str]]:
    """(decision, interrupt id, outcome of the outcome row) per decision row, in order."""
    outcomes = {row.parent_id: row.outcome for row in found if row.action == "interrupt.outcome"}
    return [
        (row.decision, row.interrupt_id, outcomes.get(row.id, row.outcome))
        for row in found
        if row.action == "interrupt.decision"
    ]


def test_every_decision_to_the_real_runtime_is_audited_with_its_outcome(
    server: tuple[LiveServer, Any],
) -> None:
    live, app = server
    user = add_user(app)
    with app.app_context():  # the person chatting answers for the desk, so decides on their card
        set_desks(db.session, db.session.get(User, user["id"]), ["ops-leads"])
        db.session.commit()
    with WebClient(live.url, timeout=120) as client:
        assert client.login(user["email"], user["password"]).status_code == 302

        approved, first = _paused(client)
        frames = _decide(client, approved, first, "approve")
        assert tool_calls(frames)[0][0] == "build_modules"

        rejected, second = _paused(client)
        assert "rejected" in text_of(_decide(client, rejected, second, "reject"))
        replay = _decide(client, rejected, second, "approve")
        assert [f.event["code"] for f in replay] == ["INTERRUPT_ANSWERED"]
        unknown = _decide(client, rejected, "int_nope", "approve")
        assert [f.event["code"] for f in unknown] == ["INTERRUPT_UNKNOWN"]

        # Reroute is a transfer to another desk's queue (issue 13), never a question to the router.
        rerouted, third = _paused(client)
        moved = client.post_json(
            f"/api/approvals/{third}/decision", {"decision": "reroute", "desk": "security"}
        )
        assert moved.status_code == 200 and moved.json()["desk"] == "security"
        waiting = client.post_json(
            f"/api/agent/run/{rerouted['session_id']}/resume_interrupt",
            {"token": rerouted["token"], "interrupt_id": third, "decision": "approve"},
        )
        assert waiting.status_code == 403 and waiting.json()["error"]["code"] == "APPROVAL_WAITING"

        instructed, fourth = _paused(client)
        frames = _decide(client, instructed, fourth, "add_context", context="only build the first 5 modules")
        assert tool_calls(frames) == [("build_modules", {"module_indices": [0, 1, 2, 3, 4]})]

        found = [r for r in _audit(app, user["id"], 24) if r.action.startswith("interrupt.")]
        # A replay carries the recorded decision (reject), which the runtime refuses as answered.
        assert _pairs(found) == [
            ("approve", first, "accepted"),
            ("reject", second, "accepted"),
            ("reject", second, "refused:INTERRUPT_ANSWERED"),
            ("approve", "int_nope", "refused:INTERRUPT_UNKNOWN"),
            ("approve", third, "refused:APPROVAL_WAITING"),
            ("add_context", fourth, "accepted"),
        ]
        with app.app_context():
            transfer = db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "approval.rerouted", AuditEvent.interrupt_id == third
                )
            ).one()
            assert "from ops-leads to security" in (transfer.context or "")
        instruction = next(r for r in found if r.action == "interrupt.decision" and r.interrupt_id == fourth)
        assert instruction.context == "only build the first 5 modules"
        assert all(r.user_email == user["email"] and r.vendor_id == user["vendor_id"] for r in found)

        page = client.http.get("/audit")
        assert page.status_code == 200
        for interrupt_id in (first, second, third, fourth, "int_nope"):  # third: its transfer
            assert interrupt_id in page.text
        assert "refused:INTERRUPT_ANSWERED" in page.text
        only_rejected = client.http.get("/audit", params={"session": rejected["session_id"]}).text
        assert second in only_rejected and first not in only_rejected and fourth not in only_rejected

    # someone from another vendor cannot decide on that session, and never sees its trail
    intruder = add_user(app)
    with WebClient(live.url, timeout=60) as other:
        assert other.login(intruder["email"], intruder["password"]).status_code == 302
        own = other.mint()
        refused = other.post_json(
            f"/api/agent/run/{rejected['session_id']}/resume_interrupt",
            {"token": own["token"], "interrupt_id": second, "decision": "approve"},
        )
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "SESSION_MISMATCH"
        [row] = _audit(app, intruder["id"], 1)
        assert (row.outcome, row.vendor_id, row.session_id) == (
            "refused:SESSION_MISMATCH",
            intruder["vendor_id"],
            rejected["session_id"],
        )
        theirs = other.http.get("/audit").text
        assert second in theirs  # their own attempt
        assert first not in theirs and fourth not in theirs and user["email"] not in theirs
