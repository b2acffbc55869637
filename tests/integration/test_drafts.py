"""Drafts that follow the user (issue 11), through the web app and the REAL runtime: a draft started
in one browser is listed and reopens in another with the same canvas; nobody else can reopen or
see it; deleting it drops its stored state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.runtime_process import RUNTIME_SECRET, RuntimeProcess
from tests.support.sse import parse_frames
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import Browser, add_user, app_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import AuditEvent

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"


@pytest.fixture()
def app(sqlite_url: str, runtime: RuntimeProcess) -> Iterator[Flask]:
    application = create_app(app_config(sqlite_url, runtime.url, AGENT_SIGNING_SECRET=RUNTIME_SECRET))
    yield application
    application.extensions["database"].dispose()
    application.extensions["agent_transport"].close()


def signed_in(app: Flask, user: dict[str, Any]) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(user["email"], user["password"]).status_code == 302
    return browser


def snapshot(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data()
    return [f for f in parse_frames(response.get_data()) if f.type == "STATE_SNAPSHOT"][-1].event["snapshot"]


def test_a_draft_is_listed_reopened_elsewhere_kept_private_and_deleted(app: Flask) -> None:
    user = add_user(app)
    first_tab = signed_in(app, user)
    session = first_tab.mint()
    base = {"session_id": session["session_id"], "token": session["token"]}
    outline = snapshot(first_tab.post_json("/api/agent/run", {**base, "prompt": ONBOARDING}))

    other_browser = signed_in(app, user)
    [draft] = other_browser.client.get("/api/drafts").get_json()["drafts"]
    assert draft["session_id"] == session["session_id"]
    assert (draft["title"], draft["phase"], draft["version"]) == (
        outline["canvas"]["title"],
        outline["phase"],
        outline["version"],
    )
    assert draft["updated_at"] and draft["playbook_id"] is None

    reopened = other_browser.post_json("/api/agent/copilot/session", {"session_id": session["session_id"]})
    assert reopened.status_code == 200
    again = reopened.get_json()
    assert again["session_id"] == session["session_id"] and again["token"]
    joined = snapshot(
        other_browser.post_json(f"/api/agent/run/{session['session_id']}/watch", {"token": again["token"]})
    )
    assert joined["canvas"] == outline["canvas"] and joined["version"] == outline["version"]

    stranger = signed_in(app, add_user(app))
    assert stranger.client.get("/api/drafts").get_json()["drafts"] == []
    refused = stranger.post_json("/api/agent/copilot/session", {"session_id": session["session_id"]})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "SESSION_MISMATCH"
    assert (
        stranger.client.delete(f"/api/drafts/{session['session_id']}", headers=stranger.headers()).status_code
        == 404
    )

    deleted = other_browser.client.delete(
        f"/api/drafts/{session['session_id']}", headers=other_browser.headers()
    )
    assert deleted.status_code == 200
    assert other_browser.client.get("/api/drafts").get_json()["drafts"] == []
    assert (
        other_browser.post_json(
            "/api/agent/copilot/session", {"session_id": session["session_id"]}
        ).status_code
        == 403
    )
    fresh = snapshot(
        first_tab.post_json(f"/api/agent/run/{session['session_id']}/watch", {"token": session["token"]})
    )
    assert fresh["canvas"]["modules"] == []  # the stored state is gone
    with app.app_context():
        row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "draft.delete")).one()
        assert row.session_id == session["session_id"]
