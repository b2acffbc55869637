"""Drafts that follow the user (issue 11), through the web runtime_app and the REAL runtime: a draft started
in one browser is listed and reopens in another with the same canvas; nobody else can reopen or
see it; deleting it drops its stored state."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.support.sse import parse_frames
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import Browser, add_user, signed_in
from webapp.extensions import db
from webapp.models import AuditEvent

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"


def snapshot(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data()
    return [f for f in parse_frames(response.get_data()) if f.type == "STATE_SNAPSHOT"][-1].event["snapshot"]


def test_a_draft_is_listed_reopened_elsewhere_kept_private_and_deleted(runtime_app: Flask) -> None:
    user = add_user(runtime_app)
    first_tab = signed_in(runtime_app, user)
    session = first_tab.mint()
    base = {"session_id": session["session_id"], "token": session["token"]}
    outline = snapshot(first_tab.post_json("/api/agent/run", {**base, "prompt": ONBOARDING}))

    other_browser = signed_in(runtime_app, user)
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

    stranger = signed_in(runtime_app, add_user(runtime_app))
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
    with runtime_app.app_context():
        row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "draft.delete")).one()
        assert row.session_id == session["session_id"]


SAVED = {
    "title": "Vendor onboarding",
    "description": "Bring a new vendor on board.",
    "modules": [
        {"title": "Kickoff", "tasks": [{"title": "Book the call", "steps": [{"title": "Send the invite"}]}]},
        {"title": "Contracts", "tasks": [{"title": "Collect the NDA"}]},
        {"title": "Security Review", "tasks": [{"title": "Run the questionnaire"}]},
    ],
}


def _saved(browser: Browser, key: str = "first-save") -> str:
    response = browser.post_json("/agent/save-playbook", {"playbook": SAVED, "idempotency_key": key})
    assert response.status_code == 201, response.get_data()
    return str(response.get_json()["playbook_id"])


def test_a_saved_playbook_reopens_with_the_assistant_and_its_saves_are_versions(runtime_app: Flask) -> None:
    user = add_user(runtime_app)
    browser = signed_in(runtime_app, user)
    playbook_id = _saved(browser)

    opened = browser.post_json("/api/agent/copilot/session", {"playbook_id": playbook_id})
    assert opened.status_code == 201, opened.get_data()
    session = opened.get_json()
    assert session["playbook_id"] == playbook_id and session["version"] == 1 and session["token"]
    sid = session["session_id"]
    base = {"session_id": sid, "token": session["token"]}

    # Another browser lists the draft (linked to the playbook) and joins it: the saved playbook.
    other = signed_in(runtime_app, user)
    [draft] = other.client.get("/api/drafts").get_json()["drafts"]
    assert (draft["session_id"], draft["playbook_id"], draft["phase"]) == (sid, playbook_id, "refinement")
    assert draft["title"] == "Vendor onboarding"
    joined = snapshot(other.post_json(f"/api/agent/run/{sid}/watch", {"token": session["token"]}))
    assert joined["phase"] == "refinement"
    # Joining only looked: the draft's last change stays what it was.
    assert other.client.get("/api/drafts").get_json()["drafts"] == [draft]
    assert [m["title"] for m in joined["canvas"]["modules"]] == ["Kickoff", "Contracts", "Security Review"]
    assert {m["status"] for m in joined["canvas"]["modules"]} == {"built"}
    assert joined["canvas"]["modules"][0]["tasks"][0]["steps"][0]["title"] == "Send the invite"

    # Edited in chat and saved twice: one playbook, versions 2 and 3 (never a duplicate).
    edited = snapshot(
        browser.post_json("/api/agent/run", {**base, "prompt": "add a module about customer notification"})
    )
    assert len(edited["canvas"]["modules"]) == 4
    second = browser.post_json(
        "/agent/save-playbook", {"playbook": edited["canvas"], "idempotency_key": "second", "session_id": sid}
    )
    assert second.status_code == 200, second.get_data()
    assert (second.get_json()["playbook_id"], second.get_json()["version"]) == (playbook_id, 2)
    snapshot(browser.post_json("/api/agent/run", {**base, "prompt": "rename module 2 to Paperwork"}))
    third = browser.post_json(
        "/agent/save-playbook", {"playbook": edited["canvas"], "idempotency_key": "third", "session_id": sid}
    )
    assert (third.get_json()["playbook_id"], third.get_json()["version"]) == (playbook_id, 3)
    listed = browser.client.get("/playbooks").get_data(as_text=True)
    assert listed.count('pb-card"') == 1 and listed.count(">Vendor onboarding<") == 1

    versions = browser.client.get(f"/api/playbooks/{playbook_id}/versions").get_json()
    assert [v["version"] for v in versions["versions"]] == [3, 2, 1]
    assert [v["source_session_id"] for v in versions["versions"]] == [sid, sid, None]
    changes = browser.client.get(f"/api/playbooks/{playbook_id}/diff?from=1&to=3").get_json()["changes"]
    texts = " | ".join(c["text"] for c in changes)
    assert "Customer Notification" in texts and "Paperwork" in texts, texts
    assert changes == [
        {"kind": "module_renamed", "text": "Module 2 renamed “Contracts” → “Paperwork”"},
        {"kind": "module_added", "text": "Module 4 “Customer Notification” added"},
    ]

    restored = browser.post_json(f"/api/playbooks/{playbook_id}/versions/1/restore", {})
    assert restored.get_json()["version"] == 4
    now = browser.client.get(f"/api/playbooks/{playbook_id}").get_json()["playbook"]
    assert [m["title"] for m in now["modules"]] == ["Kickoff", "Contracts", "Security Review"]

    # Nobody else reaches the playbook, the session or the versions.
    stranger = signed_in(runtime_app, add_user(runtime_app))
    refused = stranger.post_json("/api/agent/copilot/session", {"playbook_id": playbook_id})
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "NOT_FOUND"
    assert stranger.post_json("/api/agent/copilot/session", {"session_id": sid}).status_code == 403
    assert stranger.client.get(f"/api/playbooks/{playbook_id}/versions").status_code == 404
    assert stranger.client.get("/api/drafts").get_json()["drafts"] == []
    cross = stranger.post_json(f"/api/agent/run/{sid}/watch", {"token": session["token"]})
    assert cross.status_code == 403
    with runtime_app.app_context():
        row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "playbook.reopen")).one()
        assert row.session_id == sid


def test_reopening_refuses_what_is_not_a_playbook_of_the_vendor_and_a_new_session_still_saves_new(
    runtime_app: Flask,
) -> None:
    user = add_user(runtime_app)
    browser = signed_in(runtime_app, user)
    playbook_id = _saved(browser)
    for bad in ("nope", 12, "", playbook_id + "x"):
        refused = browser.post_json("/api/agent/copilot/session", {"playbook_id": bad})
        assert refused.status_code == 404, (bad, refused.get_data())
        assert refused.get_json()["error"]["code"] == "NOT_FOUND"
    # A browser cannot send the seed itself: it is not an action of the proxy.
    session = browser.mint()
    seed = browser.post_json(
        f"/api/agent/run/{session['session_id']}/seed", {"token": session["token"], "playbook": SAVED}
    )
    assert seed.status_code == 404 and seed.get_json()["error"]["code"] == "UNKNOWN_ACTION"
    sneaky = browser.post_json(
        "/api/agent/run",
        {"session_id": session["session_id"], "token": session["token"], "action": "seed", "playbook": SAVED},
    )
    assert sneaky.status_code == 400

    base = {"session_id": session["session_id"], "token": session["token"]}
    outline = snapshot(browser.post_json("/api/agent/run", {**base, "prompt": ONBOARDING}))
    saved = browser.post_json(
        "/agent/save-playbook",
        {"playbook": outline["canvas"], "idempotency_key": "new-one", "session_id": session["session_id"]},
    )
    assert saved.status_code == 201 and saved.get_json()["playbook_id"] != playbook_id
    assert saved.get_json()["version"] == 1


def test_a_draft_reset_by_new_playbook_leaves_the_list(runtime_app: Flask) -> None:
    browser = signed_in(runtime_app, add_user(runtime_app))
    session = browser.mint()
    base = {"session_id": session["session_id"], "token": session["token"]}
    snapshot(browser.post_json("/api/agent/run", {**base, "prompt": ONBOARDING}))
    assert [d["session_id"] for d in browser.client.get("/api/drafts").get_json()["drafts"]] == [
        session["session_id"]
    ]
    reset = browser.post_json(f"/api/agent/run/{session['session_id']}/reset", {"token": session["token"]})
    assert snapshot(reset)["phase"] == "empty"
    assert browser.client.get("/api/drafts").get_json()["drafts"] == []  # nothing left to come back to
