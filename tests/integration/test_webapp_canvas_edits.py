"""Undo, redo and direct edits (issue 11) through the web runtime_app and the REAL runtime: they round-trip
the canvas exactly, a stale direct rename is refused with the current canvas, bad input is a JSON
400 before the runtime, someone else's session is 403, and each change is an audit row."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.support.sse import check_stream, parse_frames
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import add_user, signed_in
from webapp.extensions import db
from webapp.models import AuditEvent

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"


def frames_of(response: Any) -> list[Any]:
    assert response.status_code == 200, response.get_data()
    assert response.headers["Content-Type"] == "text/event-stream"
    frames = parse_frames(response.get_data())
    check_stream(frames)
    return frames


def state(frames: list[Any]) -> dict[str, Any]:
    snapshot = [f for f in frames if f.type == "STATE_SNAPSHOT"][-1].event["snapshot"]
    return {k: v for k, v in snapshot.items() if k != "usage"}


def test_undo_redo_and_a_stale_rename_through_the_web_app(runtime_app: Flask) -> None:
    user = add_user(runtime_app)
    browser = signed_in(runtime_app, user)
    session = browser.mint()
    sid, token = session["session_id"], session["token"]

    def act(action: str, **body: Any) -> list[Any]:
        return frames_of(browser.post_json(f"/api/agent/run/{sid}/{action}", {"token": token, **body}))

    outline = state(
        frames_of(
            browser.post_json("/api/agent/run", {"session_id": sid, "token": token, "prompt": ONBOARDING})
        )
    )
    rename = {"tool": "update_module", "args": {"module_index": 0, "title": "Welcome call"}}
    renamed = state(act("edit", base_version=outline["version"], ops=[rename]))
    assert renamed["canvas"]["modules"][0]["title"] == "Welcome call"
    assert renamed["history"] == {"can_undo": True, "can_redo": False}

    undone = state(act("undo"))
    assert undone["canvas"] == outline["canvas"] and undone["version"] > renamed["version"]
    redone = state(act("redo"))
    assert redone["canvas"] == renamed["canvas"] and redone["history"] == {
        "can_undo": True,
        "can_redo": False,
    }

    # A rename made on the canvas as it was before the undo/redo: refused, with the current canvas.
    stale = act(
        "edit", base_version=renamed["version"], ops=[{**rename, "args": {"module_index": 1, "title": "X"}}]
    )
    assert [f.type for f in stale] == ["RUN_STARTED", "STATE_SNAPSHOT", "RUN_ERROR"]
    assert stale[-1].event["code"] == "VERSION_CONFLICT"
    assert state(stale) == redone

    with runtime_app.app_context():
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.outcome, AuditEvent.user_email, AuditEvent.detail)
            .where(AuditEvent.session_id == sid)
            .order_by(AuditEvent.id)
        ).all()
    assert [(r.action, r.outcome) for r in rows] == [
        ("draft.edit", "accepted"),
        ("draft.undo", "accepted"),
        ("draft.redo", "accepted"),
        ("draft.edit", "refused:VERSION_CONFLICT"),
    ]
    assert {r.user_email for r in rows} == {user["email"]}
    assert rows[0].detail == {
        "base_version": outline["version"],
        "ops": [{"tool": "update_module", "module_index": 0, "title": "Welcome call"}],
    }


def test_bad_edits_are_refused_by_the_web_app_and_other_users_get_403(runtime_app: Flask) -> None:
    owner = signed_in(runtime_app, add_user(runtime_app))
    session = owner.mint()
    sid, token = session["session_id"], session["token"]
    path = f"/api/agent/run/{sid}/edit"
    op = {"tool": "update_module", "args": {"module_index": 0, "title": "X"}}
    for body, why in (
        ({"token": token, "base_version": 0, "ops": []}, "ops"),
        ({"token": token, "base_version": 0, "ops": [op] * 51}, "ops"),
        ({"token": token, "base_version": -1, "ops": [op]}, "base_version"),
        ({"token": token, "base_version": 0, "ops": [{"tool": "x" * 51, "args": {}}]}, "tool"),
        ({"token": token, "base_version": 0, "ops": [{"tool": "update_module", "args": []}]}, "args"),
    ):
        refused = owner.post_json(path, body)
        assert refused.status_code == 400, refused.get_data()
        error = refused.get_json()["error"]
        assert error["code"] == "INVALID_PAYLOAD" and why in error["message"]
    # An op the tool's own schema refuses: the runtime answers, with the current canvas.
    turn = owner.post_json("/api/agent/run", {"session_id": sid, "token": token, "prompt": ONBOARDING})
    outline = state(frames_of(turn))
    too_long = {**op, "args": {"module_index": 0, "title": "x" * 201}}
    for bad in ({"tool": "build_modules", "args": {}}, too_long):
        body = {"token": token, "base_version": outline["version"], "ops": [bad]}
        frames = frames_of(owner.post_json(path, body))
        assert frames[-1].type == "RUN_ERROR" and frames[-1].event["code"] == "INVALID_PAYLOAD"
        assert state(frames) == outline

    stranger = signed_in(runtime_app, add_user(runtime_app))
    for action, extra in (("edit", {"base_version": 0, "ops": [op]}), ("undo", {}), ("redo", {})):
        refused = stranger.post_json(f"/api/agent/run/{sid}/{action}", {"token": token, **extra})
        assert refused.status_code == 403, refused.get_data()
        assert refused.get_json()["error"]["code"] == "IDENTITY_MISMATCH"
        own = stranger.mint()  # their own token for someone else's session
        refused = stranger.post_json(f"/api/agent/run/{sid}/{action}", {"token": own["token"], **extra})
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "SESSION_MISMATCH"
