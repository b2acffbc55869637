"""Drafts that follow the user and saved playbooks reopened with the assistant (issue 11), in a
real browser against the real web app, runtime and database.

Screenshots of the drafts list and the version diff go to ``test-results/e2e/`` (the issue asks for
them to be looked at).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.e2e.accessibility import PHONE, audit
from tests.e2e.conftest import ONBOARDING, login, shot
from tests.e2e.test_builder import (
    BUILD_TIMEOUT_MS,
    READ_CANVAS,
    hold_after_first_builder_call,
    send,
    wait_idle,
)

STORED = (
    "(name) => JSON.parse(sessionStorage.getItem(Object.keys(sessionStorage)"
    ".find((k) => k.startsWith('playbookBuilder.' + name + '.')) || '') || '{}')"
)
SAVED = {
    "title": "Vendor onboarding",
    "description": "Bring a new vendor on board.",
    "modules": [
        {"title": "Kickoff", "tasks": [{"title": "Book the call", "steps": [{"title": "Send the invite"}]}]},
        {"title": "Contracts", "tasks": [{"title": "Collect the NDA", "steps": [{"title": "Email legal"}]}]},
        {"title": "Security Review", "tasks": [{"title": "Run the questionnaire"}]},
    ],
}
API = """async ([method, url, body]) => {
  const csrf = await (await fetch('/api/csrf')).json();
  const res = await fetch(url, {
    method,
    headers: {'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrf.csrf_token},
    body: body === null ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  return {status: res.status, data};
}"""


def _shot(page: Any, name: str) -> None:
    shot(page, name)


def _api(page: Any, method: str, url: str, body: Any = None) -> dict[str, Any]:
    return page.evaluate(API, [method, url, body])  # type: ignore[no-any-return]


_MESSAGE_TEXT = """(el) => {
  const copy = el.cloneNode(true);
  // What changed is this page's own view (since it joined), not part of the transcript.
  copy.querySelectorAll('[data-testid="change-summary"]').forEach((s) => s.remove());
  return copy.textContent.trim();
}"""


def _transcript(page: Any) -> list[tuple[str, str]]:
    rows = page.locator('[data-testid="msg-user"], [data-testid="msg-assistant"]')
    return [
        (str(rows.nth(i).get_attribute("data-testid")), str(rows.nth(i).evaluate(_MESSAGE_TEXT)))
        for i in range(rows.count())
    ]


def test_a_draft_reopens_in_another_browser_with_canvas_transcript_and_a_running_build(
    new_page: Any, user: dict[str, Any], build_hold: Path
) -> None:
    first = new_page(label="first")
    second = new_page(label="second")  # another browser (its own context), the same person
    login(first, user)
    login(second, user)
    send(first, ONBOARDING)
    wait_idle(first)
    count = first.locator('[data-testid^="module-"]').count()
    # The build is held after its first builder call until the second browser has re-attached to
    # it: it surely still runs then, whatever the machine's load (the re-attach is then checked in
    # the watch's own bytes, not assumed).
    hold_after_first_builder_call(build_hold)
    send(first, "Build it")
    expect(first.get_by_test_id("phase")).to_have_text("Building", timeout=BUILD_TIMEOUT_MS)
    sid = first.evaluate(STORED, "session")["session_id"]

    # The draft is listed (newest first) and opens in the second browser while it builds.
    # (The list records a stream's last snapshot when that stream ends: the turn's, just after the
    # page shows "Building".)
    drafts = _api(second, "GET", "/api/drafts")
    for _ in range(100):
        if drafts["data"]["drafts"] and drafts["data"]["drafts"][0]["phase"] == "building":
            break
        second.wait_for_timeout(50)
        drafts = _api(second, "GET", "/api/drafts")
    assert drafts["status"] == 200 and drafts["data"]["drafts"][0]["session_id"] == sid
    second.get_by_test_id("drafts").click()
    row = second.locator(f'[data-testid="draft"][data-session-id="{sid}"]')
    expect(row.locator(".draft-title")).to_have_text(drafts["data"]["drafts"][0]["title"])
    expect(row.locator(".draft-phase")).to_have_text("Building")
    _shot(second, "drafts-list")
    with second.expect_response(lambda r: r.url.endswith(f"/{sid}/watch")) as joined:
        row.get_by_test_id("draft-open").click()
    expect(second.get_by_test_id("drafts-panel")).to_have_count(0)

    # The transcript and canvas came back, and the running build re-attached: it streams on.
    expect(second.get_by_test_id("msg-user")).to_have_count(2)
    expect(second.locator('[data-testid^="module-"]')).to_have_count(count)
    expect(second.get_by_test_id("phase")).to_have_text("Building")
    build_hold.unlink()  # let the build go on
    progress = second.get_by_test_id("build-progress")
    expect(progress).to_contain_text(f"{count} of {count} modules built", timeout=BUILD_TIMEOUT_MS)
    expect(second.get_by_test_id("phase")).to_have_text("Ready for review", timeout=BUILD_TIMEOUT_MS)
    expect(first.get_by_test_id("phase")).to_have_text("Ready for review", timeout=BUILD_TIMEOUT_MS)
    wait_idle(second)
    wait_idle(first)
    body = joined.value.text()
    assert joined.value.request.post_data_json.get("last_event_id") is None  # it joined
    assert body.index('"MESSAGES_SNAPSHOT"') < body.index('"STATE_SNAPSHOT"')
    assert '"SUBAGENT_STARTED"' in body and '"add_tasks"' in body, "the build was not re-attached"
    expect(second.get_by_test_id("msg-assistant").filter(has_text="Done!")).to_have_count(1)

    # Same canvas, same transcript, same version in both.
    assert second.evaluate(READ_CANVAS) == first.evaluate(READ_CANVAS)
    assert _transcript(second) == _transcript(first)
    assert _transcript(second)[0] == ("msg-user", ONBOARDING)
    assert second.evaluate(STORED, "canvas")["version"] == first.evaluate(STORED, "canvas")["version"]
    [listed] = [d for d in _api(second, "GET", "/api/drafts")["data"]["drafts"] if d["session_id"] == sid]
    assert listed["version"] == first.evaluate(STORED, "canvas")["version"]
    # The second browser's page reloaded after the build: the same again.
    second.reload()
    expect(second.get_by_test_id("phase")).to_have_text("Ready for review")
    assert second.evaluate(READ_CANVAS) == first.evaluate(READ_CANVAS)
    assert first.problems.errors == [] and second.problems.errors == []


def _saved_playbook(e2e_webapp: Any, user: dict[str, Any]) -> str:
    from agent_runtime.contract import PlaybookSpec
    from webapp.extensions import db
    from webapp.playbooks.ids import encode_id
    from webapp.playbooks.service import save_playbook

    app = e2e_webapp[1]
    with app.app_context():
        result = save_playbook(
            db.engine,
            spec=PlaybookSpec.model_validate(SAVED),
            vendor_id=user["vendor_id"],
            user_id=user["id"],
            idempotency_key=f"e2e-{user['id']}",
        )
        return encode_id(result.playbook_id)


def test_a_saved_playbook_refined_with_the_assistant_keeps_one_id_and_its_versions(
    page: Any, user: dict[str, Any], e2e_webapp: Any, new_page: Any
) -> None:
    playbook_id = _saved_playbook(e2e_webapp, user)
    login(page, user)
    page.goto("/playbooks")
    card = page.get_by_role("listitem").filter(has=page.get_by_role("link", name="Vendor onboarding"))
    card.get_by_role("link", name="Refine with the assistant").click()
    page.wait_for_url(re.compile(r"/builder/?$"))  # the address no longer asks to open it
    expect(page.locator('[data-testid^="module-"]')).to_have_count(3)
    expect(page.get_by_test_id("phase")).to_have_text("Ready for review")
    canvas = page.evaluate(READ_CANVAS)
    assert [m["title"] for m in canvas["modules"]] == ["Kickoff", "Contracts", "Security Review"]
    assert canvas["modules"][0]["tasks"] == [{"title": "Book the call", "steps": ["Send the invite"]}]
    expect(page.get_by_test_id("msg-notice")).to_contain_text("Opened “Vendor onboarding” (version 1)")
    expect(page.locator(".save-hint")).to_have_count(0)  # not "Not saved yet": it is the saved one
    _shot(page, "refine-opened")

    send(page, "add a module about customer notification")
    expect(page.locator('[data-testid^="module-"]')).to_have_count(4, timeout=30_000)
    wait_idle(page)
    page.get_by_test_id("save").click()
    page.wait_for_url(re.compile(rf"/playbooks/{playbook_id}$"))  # the same playbook, a new version
    expect(page.locator('[data-testid="version"]')).to_have_count(2)

    page.goto("/builder")  # the same tab re-attaches to the same draft
    expect(page.locator('[data-testid^="module-"]')).to_have_count(4)
    send(page, "rename module 2 to Paperwork")
    expect(page.locator('[data-testid^="module-"]').nth(1)).to_contain_text("Paperwork", timeout=30_000)
    wait_idle(page)
    page.get_by_test_id("save").click()
    page.wait_for_url(re.compile(rf"/playbooks/{playbook_id}$"))

    versions = page.locator('[data-testid="version"]')
    expect(versions).to_have_count(3)
    assert [versions.nth(i).get_attribute("data-version") for i in range(3)] == ["3", "2", "1"]
    first_version = page.locator('[data-testid="version"][data-version="1"]')
    first_version.locator("summary").click()
    diff = first_version.get_by_test_id("version-diff")
    expect(diff.locator("li")).to_have_text(
        ["Module 2 renamed “Contracts” → “Paperwork”", "Module 4 “Customer Notification” added"]
    )
    first_version.scroll_into_view_if_needed()
    _shot(page, "version-diff")

    first_version.get_by_test_id("restore").click()
    expect(page.locator('[data-testid="version"]')).to_have_count(4)
    assert _api(page, "GET", f"/api/playbooks/{playbook_id}")["data"]["playbook"]["modules"][1]["title"] == (
        "Contracts"
    )
    page.goto("/playbooks")
    expect(page.get_by_role("link", name="Vendor onboarding", exact=True)).to_have_count(
        1
    )  # never a duplicate
    [draft] = [
        d for d in _api(page, "GET", "/api/drafts")["data"]["drafts"] if d["playbook_id"] == playbook_id
    ]
    assert draft["phase"] == "refinement"

    # Other people: none of it is theirs to see or open.
    stranger = new_page(label="stranger")
    from tests.support.webapp_harness import add_user

    login(stranger, add_user(e2e_webapp[1]))
    stranger.problems.errors.clear()
    assert _api(stranger, "GET", "/api/drafts")["data"]["drafts"] == []
    assert (
        _api(stranger, "POST", "/api/agent/copilot/session", {"session_id": draft["session_id"]})["status"]
        == 403
    )
    refused = _api(stranger, "POST", "/api/agent/copilot/session", {"playbook_id": playbook_id})
    assert refused["status"] == 404 and refused["data"]["error"]["code"] == "NOT_FOUND"
    assert _api(stranger, "GET", f"/api/playbooks/{playbook_id}/versions")["status"] == 404
    assert _api(stranger, "DELETE", f"/api/drafts/{draft['session_id']}")["status"] == 404
    stranger.goto(f"/builder?playbook={playbook_id}")
    expect(stranger.get_by_test_id("banner")).to_be_visible()
    assert page.problems.errors == []


def test_a_draft_is_deleted_after_confirming(new_page: Any, user: dict[str, Any]) -> None:
    first = new_page(label="first")
    login(first, user)
    send(first, ONBOARDING)
    wait_idle(first)
    sid = first.evaluate(STORED, "session")["session_id"]
    first.get_by_test_id("drafts").click()
    here = first.locator(f'[data-testid="draft"][data-session-id="{sid}"]')
    expect(here).to_contain_text("Open here")
    expect(here.get_by_test_id("draft-delete")).to_have_count(0)  # "New playbook" discards this one
    problems = audit(first, "builder-drafts")  # axe: both sizes, both colour schemes

    page = new_page(label="second")  # the same person elsewhere
    login(page, user)
    page.get_by_test_id("drafts").click()
    row = page.locator(f'[data-testid="draft"][data-session-id="{sid}"]')
    row.get_by_test_id("draft-delete").click()
    expect(page.get_by_test_id("confirm-dialog")).to_contain_text("Delete this draft?")
    problems += audit(page, "builder-drafts-delete", variants=(("phone", PHONE, "light"),))
    assert problems == []
    page.get_by_role("button", name="Keep it").click()
    expect(row).to_be_visible()
    row.get_by_test_id("draft-delete").click()
    page.get_by_test_id("confirm").click()
    expect(row).to_have_count(0)
    expect(page.get_by_test_id("drafts-empty")).to_be_visible()
    assert _api(page, "GET", "/api/drafts")["data"]["drafts"] == []
    refused = _api(page, "POST", "/api/agent/copilot/session", {"session_id": sid})
    assert refused["status"] == 403  # a deleted draft cannot be reopened
