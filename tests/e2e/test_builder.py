"""The builder page in a real browser against the real web app, runtime and database."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import ONBOARDING, give_desks, login, shot

BUILD_TIMEOUT_MS = 90_000
# The builder keeps its tab state per user: "playbookBuilder.session.<the user's storage key>".
SAVED_SESSION = (
    "JSON.parse(sessionStorage.getItem(Object.keys(sessionStorage)"
    ".find((k) => k.startsWith('playbookBuilder.session.')) || '') || '{}')"
)
SAVED_POSITION = SAVED_SESSION + ".lastEventId"

READ_CANVAS = """() => {
  const text = (el, sel) => (el.querySelector(sel)?.textContent ?? '').trim();
  return {
    title: text(document, '[data-testid="playbook-title"]'),
    modules: [...document.querySelectorAll('[data-testid^="module-"]')].map((m) => ({
      title: (m.querySelector('.module-title')?.childNodes[1]?.textContent ?? '').trim(),
      status: m.dataset.status,
      tasks: [...m.querySelectorAll('[data-testid="task"]')].map((t) => ({
        title: text(t, '.task-title'),
        steps: [...t.querySelectorAll('[data-testid="step"] .step-title')].map((s) => s.textContent.trim()),
      })),
    })),
  };
}"""


def send(page: Any, text: str) -> None:
    box = page.get_by_test_id("composer")
    box.fill(text)
    box.press("Enter")


def wait_idle(page: Any, timeout: int = BUILD_TIMEOUT_MS) -> None:
    expect(page.get_by_test_id("chat-status")).to_have_text(re.compile("Ready"), timeout=timeout)


def outline(page: Any) -> None:
    send(page, ONBOARDING)
    expect(page.locator('[data-testid^="module-"]').first).to_be_visible()
    wait_idle(page)


def hold_after_first_builder_call(hold: Path) -> None:
    """Hold the next build mid-way: its first builder call answers (tasks appear), the rest wait
    until the test removes the file — the build is still running whatever the machine's load."""
    hold.write_text("builder pass=1", encoding="utf-8")


def test_prompt_outline_build_save_and_edit_page(page: Any, user: dict[str, Any], build_hold: Path) -> None:
    login(page, user)
    expect(page.get_by_text("Your playbook will appear here")).to_be_visible()

    outline(page)
    expect(page.get_by_test_id("msg-user")).to_have_text(ONBOARDING)
    expect(page.get_by_test_id("msg-assistant").first).not_to_be_empty()
    modules = page.locator('[data-testid^="module-"]')
    count = modules.count()
    assert count >= 2
    expect(page.get_by_test_id("phase")).to_have_text("Outline")
    for i in range(count):
        expect(modules.nth(i)).to_have_attribute("data-status", "pending")
    expect(page.get_by_test_id("suggestions").get_by_role("button").first).to_be_visible()
    expect(page.get_by_test_id("save")).to_be_enabled()
    shot(page, "happy-1-outline")

    hold_after_first_builder_call(build_hold)
    send(page, "Build it")
    progress = page.get_by_test_id("build-progress")
    expect(progress).to_contain_text(re.compile(rf"\d+ of {count} modules built"), timeout=BUILD_TIMEOUT_MS)
    # Tasks stream in while the build is still running.
    expect(page.locator('[data-testid="task"]').first).to_be_visible(timeout=BUILD_TIMEOUT_MS)
    assert build_hold.read_text(encoding="utf-8").split() == ["builder", "pass=0"]  # the rest wait
    expect(page.get_by_test_id("save")).to_be_disabled()
    expect(page.get_by_test_id("stop")).to_be_visible()
    shot(page, "happy-2-building")
    build_hold.unlink()  # let the build go on

    expect(progress).to_contain_text(f"{count} of {count} modules built", timeout=BUILD_TIMEOUT_MS)
    expect(page.get_by_test_id("phase")).to_have_text("Ready for review", timeout=BUILD_TIMEOUT_MS)
    expect(page.get_by_test_id("msg-assistant").last).to_contain_text("Done!")
    wait_idle(page)
    for i in range(count):
        expect(modules.nth(i)).to_have_attribute("data-status", "built")
    canvas = page.evaluate(READ_CANVAS)
    assert all(m["tasks"] for m in canvas["modules"]), canvas
    shot(page, "happy-3-built")
    # The builder page itself logged no error and no failed request.
    assert page.problems.errors == []

    page.get_by_test_id("save").click()
    page.wait_for_url(re.compile(r"/playbooks/[^/]+$"))
    saved = json.loads(page.locator("#playbook-data").text_content() or "{}")
    assert saved["title"] == canvas["title"]
    assert [m["title"] for m in saved["modules"]] == [m["title"] for m in canvas["modules"]]
    for got, want in zip(saved["modules"], canvas["modules"], strict=True):
        assert [t["title"] for t in got["tasks"]] == [t["title"] for t in want["tasks"]]
        assert [[s["title"] for s in t["steps"]] for t in got["tasks"]] == [t["steps"] for t in want["tasks"]]
    expect(page.locator("#page-title")).to_have_text(canvas["title"])


def build_started(page: Any, hold: Path) -> int:
    """Outline, then "Build it" held after its first builder call (remove ``hold`` to let it go on);
    returns once the first task is on the canvas. Returns the module count."""
    outline(page)
    count = page.locator('[data-testid^="module-"]').count()
    hold_after_first_builder_call(hold)
    send(page, "Build it")
    expect(page.get_by_test_id("phase")).to_have_text("Building", timeout=BUILD_TIMEOUT_MS)
    expect(page.locator('[data-testid="task"]').first).to_be_visible(timeout=BUILD_TIMEOUT_MS)
    assert hold.read_text(encoding="utf-8").split() == ["builder", "pass=0"]  # the rest wait
    return count


def test_stop_mid_build_keeps_the_canvas_and_stays_usable(
    page: Any, user: dict[str, Any], build_hold: Path
) -> None:
    login(page, user)
    count = build_started(page, build_hold)
    page.get_by_test_id("stop").click()
    expect(page.get_by_test_id("msg-notice").filter(has_text="Stopped.")).to_have_count(1)
    expect(page.get_by_test_id("stop")).to_have_count(0)
    wait_idle(page, 20_000)
    expect(page.get_by_test_id("phase")).not_to_have_text("Building")
    canvas = page.evaluate(READ_CANVAS)
    built = [m for m in canvas["modules"] if m["status"] == "built"]
    tasks = sum(len(m["tasks"]) for m in canvas["modules"])
    assert tasks > 0 and len(built) < count, canvas
    # Nothing more arrives after the stop.
    page.wait_for_timeout(1500)
    assert page.evaluate(READ_CANVAS) == canvas
    expect(page.get_by_test_id("save")).to_be_enabled()
    shot(page, "stop-1-stopped")

    # Still usable: the next message gets an answer that changes the canvas.
    send(page, "Rename the playbook to Kickoff Essentials")
    expect(page.get_by_test_id("playbook-title")).to_have_text("Kickoff Essentials", timeout=30_000)
    wait_idle(page)
    assert page.problems.errors == []


def _assert_no_doubles(canvas: dict[str, Any]) -> None:
    for module in canvas["modules"]:
        titles = [t["title"] for t in module["tasks"]]
        assert len(titles) == len(set(titles)), f"doubled tasks in {module['title']}: {titles}"
        for task in module["tasks"]:
            assert len(task["steps"]) == len(set(task["steps"])), f"doubled steps in {task['title']}"


def test_reload_mid_build_reattaches_and_catches_up(
    page: Any, user: dict[str, Any], build_hold: Path
) -> None:
    login(page, user)
    count = build_started(page, build_hold)
    # The page keeps the build-log position its canvas is complete up to.
    page.wait_for_function(SAVED_POSITION + " > 0")
    before = page.evaluate(READ_CANVAS)
    stored = page.evaluate("() => " + SAVED_SESSION)
    assert stored["session_id"] and stored["token"] and stored["resumable"] is True

    with page.expect_request(lambda req: req.url.endswith("/watch")) as watch:
        page.reload()
    page.get_by_test_id("composer").wait_for()
    # It re-attached with watch, resuming right after the saved position (header and body).
    resumed_from = watch.value.post_data_json["last_event_id"]
    assert resumed_from >= stored["lastEventId"]
    assert watch.value.headers.get("last-event-id") == str(resumed_from)
    # The conversation is back and the canvas is caught up from the runtime: nothing missing.
    expect(page.get_by_test_id("msg-user")).to_have_count(2)
    expect(page.locator('[data-testid^="module-"]')).to_have_count(count)
    after = page.evaluate(READ_CANVAS)
    assert after["title"] == before["title"]
    for was, now in zip(before["modules"], after["modules"], strict=True):
        assert [t["title"] for t in now["tasks"][: len(was["tasks"])]] == [t["title"] for t in was["tasks"]]
    shot(page, "reload-1-after-reload")

    # Let the build go on and watch the rest arrive: never a doubled task or step along the way.
    build_hold.unlink()
    progress = page.get_by_test_id("build-progress")
    done = f"{count} of {count} modules built"
    for _ in range(600):
        _assert_no_doubles(page.evaluate(READ_CANVAS))
        if (
            done in (progress.text_content() or "")
            and page.get_by_test_id("phase").text_content() == "Ready for review"
        ):
            break
        page.wait_for_timeout(100)
    expect(progress).to_contain_text(done)
    final = page.evaluate(READ_CANVAS)
    _assert_no_doubles(final)
    assert all(m["status"] == "built" and m["tasks"] for m in final["modules"]), final
    # "Done!" arrives once.
    expect(page.get_by_test_id("msg-assistant").filter(has_text="Done!")).to_have_count(1)

    # A second reload after the build shows exactly the same playbook.
    page.reload()
    expect(page.get_by_test_id("phase")).to_have_text("Ready for review")
    assert page.evaluate(READ_CANVAS) == final
    assert page.problems.errors == []


def test_network_failure_is_shown_with_a_retry(page: Any, user: dict[str, Any]) -> None:
    login(page, user)
    page.route("**/api/agent/run", lambda route: route.abort("internetdisconnected"))
    send(page, ONBOARDING)
    error = page.get_by_test_id("msg-error")
    expect(error).to_contain_text("Can't reach Playbook Builder")
    expect(error).to_contain_text("Check your internet connection")
    # The status line tells the truth: not a green "Ready" while the assistant cannot be reached.
    expect(page.get_by_test_id("chat-status")).to_have_text("Can't reach the assistant")
    shot(page, "network-1-error")

    page.unroute("**/api/agent/run")
    error.get_by_role("button", name="Try again").click()
    expect(page.locator('[data-testid^="module-"]').first).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("msg-error")).to_have_count(0)
    expect(page.get_by_test_id("msg-user")).to_have_count(1)
    wait_idle(page)


def test_signed_out_session_goes_back_to_login(page: Any, user: dict[str, Any]) -> None:
    login(page, user)
    page.context.clear_cookies()
    send(page, ONBOARDING)
    page.wait_for_url(re.compile(r"/login\?next=(/|%2F)builder"))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_new_playbook_asks_before_discarding_unsaved_work(page: Any, user: dict[str, Any]) -> None:
    login(page, user)
    outline(page)
    page.get_by_test_id("new-playbook").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Start a new playbook?")
    shot(page, "new-1-confirm")
    dialog.get_by_role("button", name="Keep working").click()
    expect(page.locator('[data-testid^="module-"]').first).to_be_visible()

    page.get_by_test_id("new-playbook").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Discard and start over").click()
    expect(page.get_by_text("Your playbook will appear here")).to_be_visible()
    expect(page.get_by_test_id("msg-user")).to_have_count(0)
    # The fresh session works.
    outline(page)
    assert page.problems.errors == []


def test_narrow_screen_uses_tabs_and_the_keyboard(new_page: Any, user: dict[str, Any]) -> None:
    from tests.e2e.conftest import PHONE

    page = new_page(PHONE, label="phone")
    login(page, user)
    tabs = page.get_by_role("tab")
    expect(tabs).to_have_count(2)
    # Keyboard only: the composer is reachable and Enter sends.
    page.get_by_test_id("composer").focus()
    page.keyboard.type(ONBOARDING)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("msg-user")).to_have_text(ONBOARDING)
    wait_idle(page)
    shot(page, "phone-1-chat")
    canvas_tab = page.get_by_role("tab", name=re.compile("Canvas"))
    canvas_tab.focus()
    page.keyboard.press("Enter")
    expect(canvas_tab).to_have_attribute("aria-selected", "true")
    expect(page.locator('[data-testid^="module-"]').first).to_be_visible()
    expect(page.get_by_test_id("chat")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "phone-2-canvas")


def test_reload_right_after_asking_for_the_build_catches_up(page: Any, user: dict[str, Any]) -> None:
    login(page, user)
    outline(page)
    count = page.locator('[data-testid^="module-"]').count()
    send(page, "Build it")
    # Reload as soon as the build starts: the page has no resume position yet, so its watch asks
    # for the runtime's current canvas instead.
    expect(page.get_by_test_id("phase")).to_have_text("Building", timeout=BUILD_TIMEOUT_MS)
    page.reload()
    page.get_by_test_id("composer").wait_for()
    expect(page.get_by_test_id("build-progress")).to_contain_text(
        f"{count} of {count} modules built", timeout=BUILD_TIMEOUT_MS
    )
    final = page.evaluate(READ_CANVAS)
    _assert_no_doubles(final)
    assert all(m["status"] == "built" and m["tasks"] for m in final["modules"]), final
    assert page.problems.errors == []


def test_a_first_message_sent_before_the_page_has_its_session_stays_in_one_conversation(
    page: Any, user: dict[str, Any]
) -> None:
    """Under load the page's own session request (made on load) answers late, and the person has
    already sent their first message. The outline and the build that follows it happen in one
    conversation: one session is minted, and "Build it" builds that outline. (A fresh-clone run saw
    "Build it" land in a second, empty session and outline a playbook about "it".)"""
    session_requests: list[Any] = []
    held: list[Any] = []

    def hold_the_first(route: Any) -> None:
        session_requests.append(route.request)
        if held:
            route.continue_()
        else:
            held.append(route)  # the load's request: answered once the message is on its way

    page.route("**/api/agent/copilot/session", hold_the_first)
    login(page, user)
    send(page, ONBOARDING)
    expect(page.get_by_test_id("msg-user")).to_contain_text(ONBOARDING[:40])
    held[0].continue_()
    expect(page.locator('[data-testid^="module-"]').first).to_be_visible()
    wait_idle(page)
    assert len(session_requests) == 1, "the page minted a second session for the first message"
    title = page.get_by_test_id("playbook-title").inner_text()
    send(page, "Build it")
    expect(page.get_by_test_id("phase")).to_have_text("Building", timeout=BUILD_TIMEOUT_MS)
    expect(page.get_by_test_id("playbook-title")).to_have_text(title)
    assert len(session_requests) == 1


def test_an_approval_is_asked_and_answered(page: Any, user: dict[str, Any], e2e_webapp: Any) -> None:
    """Building more than APPROVAL_BUILD_THRESHOLD (8) modules waits for a person (DESIGN §8); one
    who answers for the desk decides on their own card."""
    give_desks(e2e_webapp[1], user, "ops-leads")
    login(page, user)
    outline(page)
    modules = page.locator('[data-testid^="module-"]')
    count = modules.count()
    extra = ["security review", "billing setup", "executive sponsor check-in"][: max(0, 9 - count)]
    if extra:
        send(page, " and ".join(f"add a module about {topic}" for topic in extra))
        expect(modules).to_have_count(count + len(extra), timeout=30_000)
        wait_idle(page)
    total = modules.count()
    assert total > 8

    send(page, "Build it")
    card = page.get_by_test_id("approval-card")
    expect(card).to_be_visible(timeout=30_000)
    expect(card).to_contain_text("Approval needed")
    expect(card).to_contain_text(re.compile(r"Expires in \d+"))
    expect(card.get_by_role("button", name="Reroute")).to_be_visible()
    expect(page.get_by_test_id("phase")).not_to_have_text("Building")
    wait_idle(page)
    shot(page, "approval-1-asked")

    card.get_by_role("button", name="Approve").click()
    expect(card).to_have_attribute("data-state", "answered", timeout=30_000)
    expect(card).to_contain_text("Approved")
    expect(page.get_by_test_id("msg-notice").filter(has_text="You approved.")).to_have_count(1)
    expect(page.get_by_test_id("build-progress")).to_contain_text(
        f"{total} of {total} modules built", timeout=BUILD_TIMEOUT_MS
    )
    shot(page, "approval-2-approved")
    assert page.problems.errors == []
