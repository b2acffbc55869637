"""Selection steers the edit, and the page shows what changed — in a real browser against the real
web app, runtime (offline model) and database."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import expect

from tests.e2e.accessibility import audit
from tests.e2e.conftest import RESULTS, login
from tests.e2e.test_builder import outline, send, wait_idle

READ_MODULES = """() => [...document.querySelectorAll('[data-testid^="module-"]')].map((m) => ({
  title: (m.querySelector('.module-title')?.childNodes[1]?.textContent ?? '').trim(),
  description: (m.querySelector('.module-desc')?.textContent ?? '').trim(),
  status: m.dataset.status,
  tasks: [...m.querySelectorAll('[data-testid="task"]')].map((t) => t.textContent.trim()),
}))"""


def picture(page: Any, name: str) -> None:
    """A screenshot with animations running (a highlight is an animation; disabling it ends it)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RESULTS / f"{name}.png"))


def test_select_module_3_edit_only_it_and_see_what_changed(page: Any, user: dict[str, Any]) -> None:
    login(page, user)
    outline(page)
    before = page.evaluate(READ_MODULES)
    assert len(before) >= 4
    third = page.get_by_test_id("module-2")
    chip = page.get_by_test_id("selection-chip")

    # A click on the card selects it; Escape clears it; the keyboard selects it again.
    third.locator(".module-desc").click()
    expect(chip).to_have_text(f"Editing: Module 3 — {before[2]['title']}")
    page.keyboard.press("Escape")
    expect(chip).to_have_count(0)
    toggle = third.get_by_test_id("select-module")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(chip).to_have_text(f"Editing: Module 3 — {before[2]['title']}")
    expect(third).to_have_class(re.compile(r"\bis-selected\b"))
    picture(page, "selection-chip")

    bodies: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda req: (
            bodies.append(json.loads(req.post_data or "{}")) if req.url.endswith("/api/agent/run") else None
        ),
    )
    send(page, "make this more detailed")
    wait_idle(page)
    assert bodies and bodies[-1]["ui_context"]["selected"] == {"module_index": 2}

    after = page.evaluate(READ_MODULES)
    assert [m for i, m in enumerate(after) if i != 2] == [m for i, m in enumerate(before) if i != 2]
    assert after[2]["title"] == before[2]["title"]
    assert after[2]["description"].startswith(before[2]["description"])
    assert len(after[2]["description"]) > len(before[2]["description"])

    expect(third).to_have_attribute("data-changed", "true")
    expect(page.locator('[data-changed="true"]')).to_have_count(1)
    assert "changed-glow" in third.evaluate("(el) => getComputedStyle(el).animationName")
    reply = page.get_by_test_id("msg-assistant").last
    summary = reply.get_by_test_id("change-summary")
    expect(summary.locator("summary")).to_have_text("1 change")
    summary.locator("summary").click()
    expect(summary.get_by_test_id("change-item")).to_have_text(
        [f"Updated module 3 — {before[2]['title']}: new description"]
    )
    picture(page, "change-highlight")
    expect(chip).to_have_text(f"Editing: Module 3 — {before[2]['title']}")  # the selection stays
    assert audit(page, "builder-selection") == []  # selected, highlighted, summary open; both schemes

    # The highlight fades after a few seconds.
    expect(third).not_to_have_attribute("data-changed", "true", timeout=10_000)

    # A module named in the message wins over the selection; far down the canvas, it is scrolled to.
    last = len(before) - 1
    page.get_by_test_id("canvas").evaluate("(el) => el.scrollTo(0, 0)")
    expect(page.get_by_test_id(f"module-{last}")).not_to_be_in_viewport()
    send(page, f"make module {last + 1} more detailed")
    wait_idle(page)
    expect(page.get_by_test_id(f"module-{last}")).to_have_attribute("data-changed", "true")
    expect(page.get_by_test_id(f"module-{last}")).to_be_in_viewport()
    expect(page.get_by_test_id("msg-assistant").last.get_by_test_id("change-summary")).to_contain_text(
        "1 change"
    )
    assert page.evaluate(READ_MODULES)[2] == after[2]

    page.get_by_test_id("selection-clear").click()
    expect(chip).to_have_count(0)
    assert page.problems.errors == []


def test_select_a_task_of_a_built_module_and_add_a_step_to_it(page: Any, user: dict[str, Any]) -> None:
    login(page, user)
    outline(page)
    send(page, "build it")
    expect(page.get_by_test_id("phase")).to_have_text("Ready for review", timeout=90_000)
    wait_idle(page)
    before = page.evaluate(READ_MODULES)

    second = page.get_by_test_id("module-1")
    task = second.get_by_test_id("task").nth(1)
    task.get_by_test_id("select-task").click()
    name = task.locator(".task-title span").text_content().strip()
    expect(page.get_by_test_id("selection-chip")).to_have_text(f"Editing: Task 2 of Module 2 — {name}")
    expect(task).to_have_class(re.compile(r"\bis-selected\b"))

    page.emulate_media(reduced_motion="reduce")
    send(page, "add a step about recording the call")
    wait_idle(page)
    after = page.evaluate(READ_MODULES)
    assert [m for i, m in enumerate(after) if i != 1] == [m for i, m in enumerate(before) if i != 1]
    assert after[1]["tasks"][0] == before[1]["tasks"][0] and after[1]["tasks"][2:] == before[1]["tasks"][2:]
    expect(task.get_by_test_id("step").last).to_have_text("Record the call")
    expect(task).to_have_attribute("data-changed", "true")
    # Reduced motion: no animation, a plain outline for the few seconds.
    assert task.evaluate("(el) => getComputedStyle(el).animationName") == "none"
    assert task.evaluate("(el) => getComputedStyle(el).outlineStyle") == "solid"
    summary = page.get_by_test_id("msg-assistant").last.get_by_test_id("change-summary")
    summary.locator("summary").click()
    expect(summary.get_by_test_id("change-item")).to_have_text(
        [f"Updated task 2 of module 2 — {name} (1 step added)"]
    )
    picture(page, "task-selection-highlight")
    assert page.problems.errors == []
