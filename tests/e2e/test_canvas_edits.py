"""Direct edits, undo and redo on the canvas (issue 11) in a real browser against the real web app,
runtime and database: rename in place, undo, redo, Ctrl+Z, reorder, add and rename a task, delete —
each an ``edit`` on the current version, the canvas always the runtime's answer."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.e2e.accessibility import LAPTOP, PHONE, VARIANTS, audit
from tests.e2e.conftest import login, shot
from tests.e2e.test_builder import BUILD_TIMEOUT_MS, outline, send, wait_idle


def titles(page: Any) -> list[str]:
    return [
        t.strip()
        for t in page.locator(".module-title").evaluate_all(
            "(els) => els.map((e) => e.childNodes[1].textContent)"
        )
    ]


def test_rename_undo_redo_keyboard_reorder_tasks_and_delete(page: Any, user: dict[str, Any]) -> None:
    login(page, user)
    outline(page)
    undo, redo = page.get_by_test_id("undo"), page.get_by_test_id("redo")
    notice = page.get_by_test_id("edit-notice")
    expect(undo).to_be_enabled()
    expect(redo).to_be_disabled()
    before = titles(page)
    assert len(before) >= 3

    # Undo the outline itself: the empty canvas keeps Redo (and drops the outline's suggestions).
    undo.click()
    expect(page.get_by_text("Your playbook will appear here")).to_be_visible()
    expect(page.get_by_test_id("suggestions")).to_have_count(0)
    shot(page, "canvas-empty-after-undo")
    redo.click()
    expect(page.locator(".module-title")).to_have_count(len(before))
    assert titles(page) == before

    # Rename module 2 in place: the pencil opens a field; Enter saves.
    second = page.get_by_test_id("module-1")
    second.get_by_test_id("rename-module").click()
    field = second.get_by_test_id("rename-module-input")
    expect(field).to_be_focused()
    field.fill("Kickoff call")
    field.press("Enter")
    expect(notice).to_have_text("Renamed module 2.")
    expect(second.locator(".module-title")).to_contain_text("Kickoff call")
    expect(second.get_by_test_id("rename-module")).to_be_focused()  # the keyboard stays where it was
    renamed = titles(page)

    undo.click()
    expect(notice).to_have_text("Undone.")
    assert titles(page) == before
    expect(redo).to_be_enabled()
    redo.click()
    expect(notice).to_have_text("Redone.")
    assert titles(page) == renamed

    # Ctrl+Z outside a text field undoes the canvas; inside the composer it is the text's own.
    page.get_by_test_id("composer").fill("draft text")
    page.get_by_test_id("composer").press("Control+z")
    expect(page.get_by_test_id("composer")).not_to_have_value("draft text")  # the field's own undo
    assert titles(page) == renamed
    page.get_by_test_id("playbook-title").click()
    page.keyboard.press("Control+z")
    expect(notice).to_have_text("Undone.")
    assert titles(page) == before
    page.keyboard.press("Control+Shift+Z")
    expect(notice).to_have_text("Redone.")
    assert titles(page) == renamed

    # Reorder with the keyboard: focus follows the module that moved.
    first = page.get_by_test_id("module-0")
    first.get_by_test_id("move-down").focus()
    page.keyboard.press("Enter")
    expect(notice).to_have_text("Moved module 1 to position 2.")
    assert titles(page)[:2] == [renamed[1], renamed[0]]
    expect(page.get_by_test_id("module-1").get_by_test_id("move-down")).to_be_focused()

    # Building: the controls wait, and Ctrl+Z says why (the build's stream is held at its start).
    held: list[Any] = []
    page.route("**/watch", lambda route: held.append(route))
    with page.expect_request("**/watch", timeout=BUILD_TIMEOUT_MS):  # the turn ended; its watch waits here
        send(page, "Build it")
    expect(page.get_by_test_id("phase")).to_have_text(re.compile("Building"))
    expect(undo).to_be_disabled()
    expect(page.get_by_test_id("module-0").get_by_test_id("move-down")).to_be_disabled()
    page.get_by_test_id("playbook-title").click()
    page.keyboard.press("Control+z")
    expect(notice).to_have_text("Wait for the build to finish (or stop it).")
    assert held, "the build's stream was not opened"
    for route in held:
        route.continue_()
    page.unroute("**/watch")
    wait_idle(page)
    expect(page.get_by_test_id("phase")).to_have_text("Ready for review", timeout=BUILD_TIMEOUT_MS)

    # One undo takes back the whole build; redo brings it back.
    tasks = page.locator('[data-testid="task"]')
    built = tasks.count()
    assert built > 0
    undo.click()
    expect(notice).to_have_text("Undone.")
    expect(tasks).to_have_count(0)
    redo.click()
    expect(tasks).to_have_count(built)

    # Add a task to a built module, then rename it in place.
    target = page.get_by_test_id("module-0")
    own = target.get_by_test_id("task")
    had = own.count()
    target.get_by_test_id("add-task").click()
    target.get_by_test_id("add-task-input").fill("Send the agenda")
    target.get_by_test_id("add-task-input").press("Enter")
    expect(notice).to_have_text("Added a task to module 1.")
    expect(own).to_have_count(had + 1)
    last = own.nth(had)
    last.get_by_test_id("rename-task").click()
    last.get_by_test_id("rename-task-input").fill("Send the agenda a day before")
    last.get_by_test_id("rename-task-input").press("Enter")
    expect(last.locator(".task-title")).to_have_text("Send the agenda a day before")
    expect(last.get_by_test_id("rename-task")).to_be_focused()
    expect(page.get_by_test_id("selection-chip")).to_have_count(0)  # edit controls do not select

    shot(page, "canvas-task-renamed")
    page.get_by_test_id("canvas").evaluate("(el) => { el.scrollTop = 0 }")
    shot(page, "canvas-edit-controls")
    problems = audit(page, "canvas-edits", variants=VARIANTS)
    page.set_viewport_size(PHONE)  # on a phone, on the Canvas tab
    page.get_by_role("tab", name=re.compile("Canvas")).click()
    shot(page, "canvas-edit-controls-phone")
    problems += audit(page, "canvas-edits-canvas-tab", variants=VARIANTS[2:])
    page.get_by_role("tab", name=re.compile("Chat")).click()
    page.set_viewport_size(LAPTOP)

    # Delete module 3 after confirming; "Keep it" first changes nothing.
    count = len(titles(page))
    third = page.get_by_test_id("module-2")
    third.get_by_test_id("delete-module").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_contain_text("Delete module 3?")
    shot(page, "canvas-delete-confirm")
    problems += audit(page, "canvas-delete-confirm", variants=VARIANTS[:1])
    dialog.get_by_role("button", name="Keep it").click()
    assert len(titles(page)) == count
    third.get_by_test_id("delete-module").click()
    page.get_by_test_id("confirm-dialog").get_by_role("button", name="Delete module").click()
    expect(notice).to_have_text("Deleted module 3.")
    assert len(titles(page)) == count - 1

    # Ctrl+Z brings it back, and the canvas is the runtime's (a reload shows the same).
    after_delete = titles(page)
    page.keyboard.press("Control+z")
    expect(notice).to_have_text("Undone.")
    assert len(titles(page)) == count
    page.reload()
    expect(page.locator(".module-title").first).to_be_visible()
    expect(page.get_by_test_id("redo")).to_be_enabled()
    assert len(titles(page)) == count and titles(page) != after_delete

    # The words work too: "redo" in the chat deletes it again, "revert that" brings it back.
    send(page, "redo")
    wait_idle(page)
    expect(page.locator(".module-title")).to_have_count(count - 1)
    assert titles(page) == after_delete
    send(page, "revert that")
    wait_idle(page)
    expect(page.locator(".module-title")).to_have_count(count)
    expect(page.get_by_test_id("msg-assistant").last).to_contain_text("undid the last change")
    assert problems == [], "\n".join(problems)
