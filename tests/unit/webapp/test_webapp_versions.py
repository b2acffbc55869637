"""A saved playbook as a versioned document (issue 11): saving again from the same builder session
makes a new version (never a duplicate), versions are listed with who and where, a readable diff,
restore as a new version, edits on the edit page are versions, and a Markdown export."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.support.runtime_stub import StubRuntime
from tests.support.webapp_harness import Browser, add_user
from webapp.extensions import db
from webapp.models import AuditEvent, Playbook, PlaybookVersion


def playbook(
    title: str = "Client Onboarding", modules: list[tuple[str, list[str]]] | None = None
) -> dict[str, Any]:
    modules = modules or [
        ("Kickoff", ["Book the call", "Send the agenda"]),
        ("Paperwork", ["Collect contract"]),
    ]
    return {
        "title": title,
        "description": "How we onboard clients.",
        "modules": [
            {
                "title": m,
                "description": f"About {m}",
                "status": "built",
                "tasks": [
                    {"title": t, "description": "", "steps": [{"title": f"Do: {t}", "description": ""}]}
                    for t in tasks
                ],
            }
            for m, tasks in modules
        ],
    }


_STUB: list[StubRuntime] = []


@pytest.fixture(autouse=True)
def _session_canvases(stub: StubRuntime) -> None:
    _STUB[:] = [stub]


def save(browser: Browser, body: dict[str, Any], key: str, session_id: str | None = None) -> Any:
    payload: dict[str, Any] = {"playbook": body, "idempotency_key": key}
    if session_id:
        payload["session_id"] = session_id
        # A save from a session stores that session's canvas (read from the runtime, issue 10):
        # the stub runtime holds what the page shows.
        _STUB[0].canvases[session_id] = body
    return browser.post_json("/agent/save-playbook", payload)


def test_saving_again_from_the_same_session_makes_versions_not_duplicates(
    app: Flask, browser: Browser
) -> None:
    sid = browser.mint()["session_id"]
    first = save(browser, playbook(), "k1", sid)
    assert first.status_code == 201 and first.get_json()["version"] == 1
    edited = playbook(
        modules=[("Kickoff call", ["Book the call", "Send the agenda"]), ("Paperwork", ["Collect contract"])]
    )
    second = save(browser, edited, "k2", sid).get_json()
    third_content = copy.deepcopy(edited)
    third_content["modules"].append(
        playbook(modules=[("Security review", ["Run the questionnaire"])])["modules"][0]
    )
    third = save(browser, third_content, "k3", sid).get_json()
    assert second["playbook_id"] == third["playbook_id"] == first.get_json()["playbook_id"]
    assert (second["version"], third["version"]) == (2, 3)
    assert save(browser, third_content, "k3", sid).get_json()["playbook_id"] == third["playbook_id"]  # replay
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Playbook)) == 1

    pid = third["playbook_id"]
    versions = browser.client.get(f"/api/playbooks/{pid}/versions").get_json()
    assert [v["version"] for v in versions["versions"]] == [3, 2, 1] and versions["current"] == 3
    assert all(v["source_session_id"] == sid and "@" in v["created_by"] for v in versions["versions"])

    changes = browser.client.get(f"/api/playbooks/{pid}/diff?from=1").get_json()["changes"]
    assert {c["kind"] for c in changes} == {"module_renamed", "module_added"}
    assert any("“Kickoff” → “Kickoff call”" in c["text"] for c in changes)
    assert any("Security review" in c["text"] for c in changes)

    restored = browser.post_json(f"/api/playbooks/{pid}/versions/1/restore", {}).get_json()
    assert restored["version"] == 4
    current = browser.client.get(f"/api/playbooks/{pid}").get_json()["playbook"]
    assert [m["title"] for m in current["modules"]] == ["Kickoff", "Paperwork"]
    assert browser.client.get(f"/api/playbooks/{pid}/diff?from=1").get_json()["changes"] == []
    with app.app_context():
        note = db.session.scalar(select(PlaybookVersion.note).where(PlaybookVersion.version == 4))
        assert note == "restored from version 1"
        updates = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "playbook.update")).all()
        assert [u.detail.get("version") for u in updates] == [2, 3, 4]
        assert updates[-1].detail["note"] == "restored from version 1"


def test_a_new_session_creates_a_new_playbook(browser: Browser) -> None:
    one = save(browser, playbook(), "a", browser.mint()["session_id"]).get_json()
    two = save(browser, playbook(), "b", browser.mint()["session_id"]).get_json()
    assert one["playbook_id"] != two["playbook_id"] and one["version"] == two["version"] == 1


def test_edits_on_the_edit_page_are_versions_and_the_page_shows_the_history(browser: Browser) -> None:
    pid = save(browser, playbook(), "k").get_json()["playbook_id"]
    changed = playbook(
        modules=[("Kickoff", ["Book the call"]), ("Paperwork", ["Collect contract"]), ("Review", ["Hold it"])]
    )
    response = browser.put_json(f"/api/playbooks/{pid}", {"playbook": changed})
    assert response.status_code == 200 and response.get_json()["version"] == 2
    page = browser.client.get(f"/playbooks/{pid}").get_data(as_text=True)
    assert "Version 2 is current" in page and 'data-version="1"' in page
    assert "Module 3 “Review” added" in page and "Task “Send the agenda” removed from “Kickoff”" in page
    assert "Restore this version" in page and "Download .md" in page


def test_export_md_matches_the_saved_rows(browser: Browser) -> None:
    pid = save(browser, playbook(), "k").get_json()["playbook_id"]
    response = browser.client.get(f"/playbooks/{pid}/export.md")
    assert response.status_code == 200 and response.mimetype == "text/markdown"
    assert response.headers["Content-Disposition"] == 'attachment; filename="client-onboarding.md"'
    text = response.get_data(as_text=True)
    assert text.startswith("# Client Onboarding\n\n_Version 1 · updated ")
    assert (
        "## 1. Kickoff\n\nAbout Kickoff\n\n1. **Book the call**\n   - Do: Book the call\n"
        "2. **Send the agenda**" in text
    )
    assert "## 2. Paperwork" in text


def test_other_vendors_cannot_see_or_restore_versions(app: Flask, browser: Browser) -> None:
    pid = save(browser, playbook(), "k").get_json()["playbook_id"]
    other = add_user(app)
    intruder = Browser(app.test_client())
    assert intruder.login(other["email"], other["password"]).status_code == 302
    for path in (
        f"/api/playbooks/{pid}/versions",
        f"/api/playbooks/{pid}/diff?from=1",
        f"/playbooks/{pid}/export.md",
    ):
        assert intruder.client.get(path).status_code == 404, path
    assert intruder.post_json(f"/api/playbooks/{pid}/versions/1/restore", {}).status_code == 404
    sid = intruder.mint()["session_id"]
    # Saving from another vendor's session id is refused, never a new version of their playbook.
    assert save(intruder, playbook(), "x", browser.mint()["session_id"]).status_code == 403
    assert save(intruder, playbook(), "y", sid).get_json()["playbook_id"] != pid
