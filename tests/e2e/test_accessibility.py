"""WCAG 2.2 AA in a real browser: every page state, at 1440×900 and 390×844, light and dark.

Each state is reached once, then looked at four ways (``audit``): axe-core must find no serious
or critical violation, and a screenshot of each is kept under ``test-results/screenshots/``.
Along the way the tests use the keyboard paths and the phone layout the way a person would.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.accessibility import PHONE, VARIANTS, audit
from tests.e2e.conftest import LAPTOP, ONBOARDING, give_desks, login
from tests.e2e.test_builder import BUILD_TIMEOUT_MS, outline, send, wait_idle

PHONE_ONLY = (("phone", PHONE, "light"), ("phone", PHONE, "dark"))


# About 20 page states, each audited four ways (80 axe runs and screenshots): on a 2-core machine running five
# suites at once (load 18) it took longer than the suite's 120 s default, so it has its own bound.
@pytest.mark.timeout(360)
def test_every_page_state_passes_axe_at_both_sizes_in_both_schemes(
    new_page: Any, user: dict[str, Any]
) -> None:
    page = new_page(label="a11y")
    problems: list[str] = []

    # The login page, then a wrong password: the message sits in the sign-in card.
    page.goto("/login?next=/builder")
    problems += audit(page, "login")
    page.get_by_label("Email").fill(user["email"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    alert = page.locator(".auth-card").get_by_role("alert")
    expect(alert).to_contain_text("do not match")
    problems += audit(page, "login-error")

    login(page, user)
    expect(page.get_by_role("heading", level=1)).to_have_text("Playbook Builder")
    problems += audit(page, "builder-empty")

    # On a phone, the menu reaches My playbooks and Sign out from the builder.
    page.set_viewport_size(PHONE)
    menu = page.get_by_test_id("menu")
    menu.get_by_label("Menu").click()
    expect(menu.get_by_role("link", name="My playbooks")).to_be_visible()
    expect(menu.get_by_role("button", name="Sign out")).to_be_visible()
    problems += audit(page, "builder-menu", variants=PHONE_ONLY)
    page.keyboard.press("Escape")
    expect(menu.get_by_role("link", name="My playbooks")).to_be_hidden()
    page.set_viewport_size(LAPTOP)

    outline(page)
    problems += audit(page, "builder-outline")

    # The build, held at its start: the page waits for the build's stream, which is paused here.
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    page.route("**/watch", hold)
    send(page, "Build it")
    expect(page.get_by_test_id("phase")).to_have_text("Building", timeout=BUILD_TIMEOUT_MS)
    expect(page.get_by_test_id("build-progress")).to_contain_text(re.compile(r"0 of \d+ modules built"))
    expect(page.get_by_test_id("stop")).to_be_visible()
    problems += audit(page, "builder-building")
    # On a phone, Stop and the build status are in view on either tab.
    page.set_viewport_size(PHONE)
    bar = page.get_by_test_id("status-bar")
    for tab in ("Canvas", "Chat"):
        page.get_by_role("tab", name=re.compile(tab)).click()
        expect(bar.get_by_test_id("stop")).to_be_visible()
        expect(bar).to_contain_text(re.compile(r"Building · 0 of \d+"))
        if tab == "Canvas":
            problems += audit(page, "builder-building-canvas-tab", variants=PHONE_ONLY)
    page.set_viewport_size(LAPTOP)
    assert held, "the build's stream was not opened"
    for route in held:
        route.continue_()
    page.unroute("**/watch")

    count = page.locator('[data-testid^="module-"]').count()
    expect(page.get_by_test_id("build-progress")).to_contain_text(
        f"{count} of {count} modules built", timeout=BUILD_TIMEOUT_MS
    )
    expect(page.get_by_test_id("phase")).to_have_text("Ready for review", timeout=BUILD_TIMEOUT_MS)
    wait_idle(page)
    # The bar is drawn in step with its label: no animated catch-up behind the text.
    segment = page.get_by_test_id("build-progress").locator(".seg-built")
    assert segment.evaluate("(el) => getComputedStyle(el).transitionDuration") == "0s"
    assert segment.evaluate("(el) => el.style.width") == "100%"
    problems += audit(page, "builder-built")

    # The saved playbook's edit page.
    page.get_by_test_id("save").click()
    page.wait_for_url(re.compile(r"/playbooks/[^/]+$"))
    problems += audit(page, "edit")

    # "+ Add task" puts the keyboard in the new task's title.
    first = page.locator("#modules > .module").first
    tasks_before = first.locator(".task").count()
    first.get_by_role("button", name="+ Add task").click()
    focused = page.evaluate("() => document.activeElement.dataset.focusKey")
    assert focused == f"m0-t{tasks_before}-title", focused
    page.keyboard.type("Collect the signed contract")
    expect(first.locator(".task").last.get_by_role("textbox").first).to_have_value(
        "Collect the signed contract"
    )

    # A blank title is named in words, and the keyboard goes to it.
    page.locator("#pb-title").fill("")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#save-state")).to_have_text("Give the playbook a title before saving.")
    assert page.evaluate("() => document.activeElement.id") == "pb-title"
    page.locator("#pb-title").fill("Client onboarding")

    # Deleting asks in the app's own dialog (never the browser's confirm()); Escape keeps it.
    page.on("dialog", lambda d: problems.append(f"a browser dialog was opened: {d.message}"))
    page.get_by_role("button", name="Delete", exact=True).click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Delete this playbook?")
    expect(dialog.get_by_role("button", name="Keep it")).to_be_focused()
    problems += audit(page, "edit-confirm")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("button", name="Delete", exact=True)).to_be_focused()
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#save-state")).to_have_text("All changes saved")

    page.goto("/playbooks")
    expect(page.get_by_role("link", name="Client onboarding")).to_be_visible()
    problems += audit(page, "playbooks")

    page.goto("/playbooks/not-a-playbook")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    problems += audit(page, "error-page", variants=(VARIANTS[0], VARIANTS[3]))

    page.goto("/approvals")
    expect(page.get_by_role("heading", level=1)).to_have_text("Approvals")
    problems += audit(page, "approvals")

    page.goto("/audit")
    expect(page.locator("tr[data-audit-id]").first).to_be_visible()
    problems += audit(page, "audit")
    # On a phone the audit trail is stacked rows: every column is on screen, nothing scrolls sideways.
    page.set_viewport_size(PHONE)
    row = page.locator("tr[data-audit-id]").first
    for column in ("What", "Outcome"):
        expect(row.locator(f'td[data-label="{column}"]')).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # The server pages' menu works the same way: open, reach Sign out, Escape closes it.
    menu = page.get_by_test_id("menu")
    menu.get_by_label("Menu").click()
    expect(menu.get_by_role("button", name="Sign out")).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu.get_by_role("button", name="Sign out")).to_be_hidden()
    page.set_viewport_size(LAPTOP)

    # The colour scheme follows the system until chosen; the choice is remembered on every page.
    html = page.locator("html")
    expect(html).not_to_have_attribute("data-theme", re.compile("."))
    page.get_by_role("button", name="Dark mode").click()
    expect(html).to_have_attribute("data-theme", "dark")
    page.goto("/builder")
    expect(html).to_have_attribute("data-theme", "dark")
    toggle = page.get_by_test_id("theme-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(html).to_have_attribute("data-theme", "light")
    page.goto("/playbooks")
    expect(html).to_have_attribute("data-theme", "light")
    expect(page.get_by_role("button", name="Dark mode")).to_have_attribute("aria-pressed", "false")

    assert problems == [], "\n".join(problems)


def test_approval_stop_and_dialog_states_pass_axe_and_tell_the_truth(
    new_page: Any, user: dict[str, Any], e2e_webapp: Any
) -> None:
    page = new_page(label="a11y-approval")
    problems: list[str] = []
    give_desks(e2e_webapp[1], user, "ops-leads")
    login(page, user)
    send(page, ONBOARDING)
    modules = page.locator('[data-testid^="module-"]')
    expect(modules.first).to_be_visible()
    wait_idle(page)
    count = modules.count()
    extra = ["security review", "billing setup", "executive sponsor check-in"][: max(0, 9 - count)]
    if extra:
        send(page, " and ".join(f"add a module about {topic}" for topic in extra))
        expect(modules).to_have_count(count + len(extra), timeout=30_000)
        wait_idle(page)

    send(page, "Build it")
    card = page.get_by_test_id("approval-card")
    expect(card).to_contain_text(re.compile(r"Expires in \d+"), timeout=30_000)
    wait_idle(page)
    expect(page.get_by_test_id("phase")).to_have_text("Waiting for your approval")
    problems += audit(page, "builder-approval")

    # The same request in the operators' queue (a second tab of the same person, a desk member).
    queue = page.context.new_page()
    queue.goto("/approvals")
    expect(queue.get_by_test_id("approval-request").first).to_be_visible()
    problems += audit(queue, "approvals-queue")
    queue.close()

    # Keyboard only: Tab reaches Approve, Enter answers.
    approve = card.get_by_role("button", name="Approve")
    approve.focus()
    page.keyboard.press("Enter")
    expect(card).to_have_attribute("data-state", "answered", timeout=30_000)
    expect(page.locator('[data-testid="task"]').first).to_be_visible(timeout=BUILD_TIMEOUT_MS)

    page.get_by_test_id("stop").click()
    expect(page.get_by_test_id("msg-notice").filter(has_text="Stopped.")).to_have_count(1)
    wait_idle(page, 20_000)
    # A stopped build is never "Ready for review".
    phase = page.get_by_test_id("phase")
    expect(phase).not_to_have_text("Building")
    expect(phase).not_to_have_text("Ready for review")
    expect(phase).to_have_text(re.compile(r"Stopped|Partly built"))
    problems += audit(page, "builder-stopped")
    # On a phone the status bar says the same from the canvas tab.
    page.set_viewport_size(PHONE)
    page.get_by_role("tab", name=re.compile("Canvas")).click()
    expect(page.get_by_test_id("status-bar")).to_contain_text(re.compile(r"Stopped|Partly built"))
    problems += audit(page, "builder-stopped-canvas-tab", variants=PHONE_ONLY)
    page.get_by_role("tab", name=re.compile("Chat")).click()
    page.set_viewport_size(LAPTOP)

    page.get_by_test_id("new-playbook").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog.get_by_role("button", name="Keep working")).to_be_focused()
    problems += audit(page, "builder-confirm")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    # Offline is said, not a green "Ready"; back online, it is ready again.
    status = page.get_by_test_id("chat-status")
    page.context.set_offline(True)
    expect(status).to_have_text("Offline")
    page.context.set_offline(False)
    expect(status).to_have_text("Ready")

    assert problems == [], "\n".join(problems)


def test_the_scan_itself_catches_a_violation(new_page: Any) -> None:
    """The scan can fail: low-contrast text and an unlabelled field are reported, both schemes."""
    page = new_page(label="a11y-self-test")
    page.set_content(
        "<!doctype html><html lang='en'><head><title>t</title></head><body><main>"
        "<p style='color:#aaaaaa;background:#ffffff'>Hard to read</p><input type='text'>"
        "</main></body></html>"
    )
    found = audit(page, "self-test", variants=(("desktop", LAPTOP, "light"), ("phone", PHONE, "dark")))
    assert any("self-test-desktop-light: color-contrast" in f for f in found), found
    assert any("self-test-phone-dark: label" in f for f in found), found
