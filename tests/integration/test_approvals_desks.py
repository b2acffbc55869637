"""Approvals that reach the right person (issue 13), through the web app and the REAL runtime:
a requester's build pauses, the desk's approver sees it in the queue, one decision wins, the
requester's page resumes with it and the build runs; transfers, escalation with e-mail (a real SMTP
server on loopback, aiosmtpd) and SNS (moto), expiry, vendor isolation and the audit trail."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from moto import mock_aws
from sqlalchemy import select

from tests.support.runtime_process import RUNTIME_SECRET, RuntimeProcess, free_port, start_runtime
from tests.support.sse import Frame, parse_frames
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import Browser, add_user, app_config
from webapp import create_app
from webapp.accounts import set_desks
from webapp.approvals.service import Policy
from webapp.approvals.sla import expire_due
from webapp.approvals.worker import tick
from webapp.extensions import db
from webapp.models import AuditEvent, User, utcnow

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"


class Inbox:
    """A real SMTP server on loopback that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(envelope)
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture(scope="module")
def approvals_runtime() -> Iterator[RuntimeProcess]:
    with start_runtime({"APPROVAL_BUILD_THRESHOLD": "2"}) as process:
        yield process


@pytest.fixture()
def sns() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        client = boto3.client("sns", region_name="us-east-1")
        topic = client.create_topic(Name="approvals")["TopicArn"]
        yield client, topic


@pytest.fixture()
def app(
    sqlite_url: str, approvals_runtime: RuntimeProcess, smtp: tuple[Inbox, int], sns: Any
) -> Iterator[Flask]:
    inbox, port = smtp
    inbox.messages.clear()
    application = create_app(
        app_config(
            sqlite_url,
            approvals_runtime.url,
            AGENT_SIGNING_SECRET=RUNTIME_SECRET,
            RUNTIME_READ_TIMEOUT=60.0,
            SMTP_URL=f"smtp://127.0.0.1:{port}",
            NOTIFY_FROM="approvals@example.com",
            APPROVAL_SNS_TOPIC_ARN=sns[1],
            APPROVAL_SLA_SECONDS=600,
            APPROVAL_ESCALATION_DESK="security",
            APPROVAL_DESKS="remove_module=playbook-owners",
        )
    )
    yield application
    application.extensions["database"].dispose()
    application.extensions["agent_transport"].close()


def person(app: Flask, vendor: str, *desks: str) -> Browser:
    user = add_user(app, vendor=vendor)
    if desks:
        with app.app_context():
            row = db.session.get(User, user["id"])
            set_desks(db.session, row, desks)
            db.session.commit()
    browser = Browser(app.test_client())
    assert browser.login(user["email"], user["password"]).status_code == 302
    browser.user = user  # type: ignore[attr-defined]
    return browser


def stream(browser: Browser, path: str, body: dict[str, Any]) -> list[Frame]:
    response = browser.post_json(path, body)
    assert response.status_code == 200, response.get_data()
    return parse_frames(response.get_data())


def paused_build(requester: Browser) -> tuple[dict[str, Any], str]:
    session = requester.mint()
    base = {"session_id": session["session_id"], "token": session["token"]}
    stream(requester, "/api/agent/run", {**base, "prompt": ONBOARDING})
    frames = stream(requester, "/api/agent/run", {**base, "prompt": "build it"})
    outcome = frames[-1].event["outcome"]
    assert outcome["type"] == "interrupt", frames[-1].event
    return session, outcome["interrupts"][0]["id"]


def test_a_paused_build_waits_for_the_desk_which_decides_once_and_the_requester_continues(app: Flask) -> None:
    requester = person(app, "acme")
    approver = person(app, "acme", "ops-leads")
    other_approver = person(app, "acme", "ops-leads")
    outsider = person(app, "globex", "ops-leads")
    session, request_id = paused_build(requester)

    listing = approver.client.get("/api/approvals")
    assert listing.status_code == 200, listing.get_data(as_text=True)
    [queued] = listing.get_json()["approvals"]
    assert queued["request_id"] == request_id and queued["desk"] == "ops-leads"
    assert queued["status"] == "open" and queued["can_decide"] is True
    assert queued["intent_summary"].startswith("Build") and queued["requested_by"] == requester.user["email"]
    assert queued["risk_level"] == "medium" and queued["canvas_summary"]["modules"]
    assert requester.client.get("/api/approvals").get_json()["approvals"] == []  # no desk
    assert outsider.client.get("/api/approvals").get_json()["approvals"] == []  # other vendor
    assert outsider.client.get(f"/api/approvals/{request_id}").status_code == 404
    refused = outsider.post_json(f"/api/approvals/{request_id}/decision", {"decision": "approve"})
    assert refused.status_code == 404

    # The requester holds no desk role: their card waits, their own decision is refused.
    mine = requester.client.get(f"/api/approvals/{request_id}").get_json()
    assert mine["can_decide"] is False and mine["status"] == "open"
    base = {"session_id": session["session_id"], "token": session["token"]}
    waiting = requester.post_json(
        f"/api/agent/run/{session['session_id']}/resume_interrupt",
        {**base, "interrupt_id": request_id, "decision": "approve"},
    )
    assert waiting.status_code == 403 and waiting.get_json()["error"]["code"] == "APPROVAL_WAITING"

    decided = approver.post_json(
        f"/api/approvals/{request_id}/decision", {"decision": "approve", "context": "go"}
    )
    assert decided.status_code == 200 and decided.get_json()["status"] == "approved"
    second = other_approver.post_json(f"/api/approvals/{request_id}/decision", {"decision": "reject"})
    assert second.status_code == 409
    assert second.get_json()["error"]["decision"] == {
        "status": "approved",
        "decided_by": approver.user["email"],
        "desk": "ops-leads",
    }

    # The requester's page resumes; whatever it says, the recorded decision is what runs.
    frames = stream(
        requester,
        f"/api/agent/run/{session['session_id']}/resume_interrupt",
        {**base, "interrupt_id": request_id, "decision": "reject"},
    )
    assert (
        frames[-1].type == "RUN_FINISHED" and frames[-1].event.get("outcome", {}).get("type") != "interrupt"
    )
    snapshot = [f for f in frames if f.type == "STATE_SNAPSHOT"][-1].event["snapshot"]
    assert snapshot["phase"] == "building"
    done = stream(requester, f"/api/agent/run/{session['session_id']}/watch", base)
    built = [f for f in done if f.type == "STATE_SNAPSHOT"][-1].event["snapshot"]["canvas"]["modules"]
    assert built and all(m["status"] == "built" for m in built)

    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.interrupt_id == request_id).order_by(AuditEvent.id)
        ).all()
        words = [r.context or "" for r in rows if r.action.startswith("approval.")]
    assert any("asked the ops-leads desk" in w for w in words)
    assert any(f"{approver.user['email']} (ops-leads) decided approve" in w for w in words)
    page = approver.client.get("/audit").get_data(as_text=True)
    assert "Approval requested" in page and "Approval decided" in page
    by_request = approver.client.get(f"/audit?request={request_id}").get_data(as_text=True)
    assert "asked the ops-leads desk" in by_request and "Playbook saved" not in by_request
    assert request_id in approver.client.get("/audit?desk=ops-leads").get_data(as_text=True)
    assert request_id not in approver.client.get("/audit?desk=finance").get_data(as_text=True)
    assert approver.client.get("/audit?desk=<script>").status_code == 400


def test_reroute_transfers_the_request_to_another_desk_only(app: Flask) -> None:
    requester = person(app, "initech")
    ops = person(app, "initech", "ops-leads")
    security = person(app, "initech", "security")
    _, request_id = paused_build(requester)
    assert security.client.get("/api/approvals").get_json()["approvals"] == []
    moved = ops.post_json(
        f"/api/approvals/{request_id}/decision",
        {"decision": "reroute", "desk": "security", "context": "needs infosec"},
    )
    assert moved.status_code == 200 and moved.get_json()["desk"] == "security"
    assert ops.client.get("/api/approvals").get_json()["approvals"] == []
    [seen] = security.client.get("/api/approvals").get_json()["approvals"]
    assert seen["request_id"] == request_id and seen["status"] == "open"
    assert requester.client.get(f"/api/approvals/{request_id}").get_json()["desk"] == "security"
    with app.app_context():
        row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "approval.rerouted")).one()
        assert "from ops-leads to security: needs infosec" in (row.context or "")


def test_an_unanswered_request_escalates_with_email_and_sns_then_expires(
    app: Flask, smtp: tuple[Inbox, int], sns: tuple[Any, str]
) -> None:
    inbox, _ = smtp
    client, topic = sns
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="approvals-test")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    client.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    requester = person(app, "umbrella")
    approver = person(app, "umbrella", "ops-leads")
    security = person(app, "umbrella", "security")
    _, request_id = paused_build(requester)
    first = tick(app)  # the request's own notifications
    assert first["sent"] >= 2
    recipients = {r for m in inbox.messages for r in m.rcpt_tos}
    assert approver.user["email"] in recipients

    app.config["APPROVAL_SLA_SECONDS"] = 0
    with app.app_context():
        from webapp.models import ApprovalRequest

        row = db.session.get(ApprovalRequest, request_id)
        row.required_by = utcnow() - timedelta(seconds=1)
        db.session.commit()
    inbox.messages.clear()
    escalated = tick(app)
    assert escalated["escalated"] == [request_id]
    [seen] = security.client.get("/api/approvals").get_json()["approvals"]
    assert seen["escalated"] is True and seen["can_decide"] is True
    assert approver.client.get("/api/approvals").get_json()["approvals"][0]["escalated"] is True
    assert security.user["email"] in {r for m in inbox.messages for r in m.rcpt_tos}
    subjects = [
        json.loads(m["Body"])["Subject"]
        for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    ]
    assert any("needs your approval" in s for s in subjects)

    with app.app_context():
        policy = Policy.from_config(app.config)
        assert expire_due(db.engine, policy, now=utcnow() + timedelta(days=2)) == [request_id]
    assert requester.client.get(f"/api/approvals/{request_id}").get_json()["status"] == "expired"
    assert security.client.get("/api/approvals").get_json()["approvals"] == []
    with app.app_context():
        actions = {
            r.action
            for r in db.session.scalars(select(AuditEvent).where(AuditEvent.interrupt_id == request_id))
        }
    assert {"approval.requested", "approval.escalated", "approval.expired"} <= actions


def test_a_failing_channel_is_retried_with_backoff_and_never_blocks_a_decision(app: Flask) -> None:
    app.config["SMTP_URL"] = "smtp://127.0.0.1:9"  # nothing listens there
    requester = person(app, "hooli")
    approver = person(app, "hooli", "ops-leads")
    _, request_id = paused_build(requester)
    result = tick(app)
    assert result["retry"] >= 1
    decided = approver.post_json(f"/api/approvals/{request_id}/decision", {"decision": "reject"})
    assert decided.status_code == 200 and decided.get_json()["status"] == "rejected"
    with app.app_context():
        from webapp.models import Notification

        failed = db.session.scalars(select(Notification).where(Notification.channel == "email")).all()
        assert failed and all(n.status == "pending" and n.last_error for n in failed if n.attempts)


def test_a_restarted_web_app_loses_nothing_and_the_webhook_hears_the_decision(
    app: Flask, sqlite_url: str, approvals_runtime: RuntimeProcess
) -> None:
    """The request is recorded by one app instance and decided through another (a restart), and a
    Slack-compatible webhook on loopback receives the notifications."""
    import http.server

    received: list[dict[str, Any]] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        requester = person(app, "piedpiper")
        _, request_id = paused_build(requester)
        restarted = create_app(
            app_config(
                sqlite_url,
                approvals_runtime.url,
                AGENT_SIGNING_SECRET=RUNTIME_SECRET,
                APPROVAL_WEBHOOK_URL=f"http://127.0.0.1:{server.server_port}/hook",
            )
        )
        approver = person(restarted, "piedpiper", "ops-leads")
        [queued] = approver.client.get("/api/approvals").get_json()["approvals"]
        assert queued["request_id"] == request_id
        assert (
            approver.post_json(f"/api/approvals/{request_id}/decision", {"decision": "approve"}).status_code
            == 200
        )
        tick(restarted)
        assert any("was decided: approve" in r["text"] for r in received), received
        restarted.extensions["database"].dispose()
        restarted.extensions["agent_transport"].close()
    finally:
        server.shutdown()
        server.server_close()
