"""Attach an SOP in a real browser (issue 12): the chip, the outline from the document's headings,
the build from its lists, and a refused file named on its chip while the text stays."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import login, shot
from tests.e2e.test_builder import BUILD_TIMEOUT_MS, READ_CANVAS, wait_idle
from tests.support import documents as docs

HEADINGS = [h for h, _ in docs.SOP]


def attach(page: Any, name: str, data: bytes, mime: str) -> None:
    page.get_by_test_id("file-input").set_input_files({"name": name, "mimeType": mime, "buffer": data})


def test_attach_a_word_sop_build_it_and_see_its_lists_as_tasks(page: Any, user: dict[str, Any]) -> None:
    login(page, user)
    expect(page.get_by_test_id("attachment-limits")).to_contain_text("up to 5 files")
    attach(
        page,
        "Client Onboarding SOP.docx",
        docs.docx_bytes("Client Onboarding SOP"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    chip = page.get_by_test_id("attachment")
    expect(chip).to_contain_text("Client Onboarding SOP.docx")
    expect(chip).to_have_attribute("data-status", "ready")
    shot(page, "attachments-chip")
    box = page.get_by_test_id("composer")
    box.fill("Here is our current onboarding SOP — turn it into a playbook")
    box.press("Enter")
    expect(page.get_by_test_id("msg-file")).to_have_text("Client Onboarding SOP.docx")
    expect(page.locator('[data-testid^="module-"]')).to_have_count(len(HEADINGS))
    wait_idle(page)
    canvas = page.evaluate(READ_CANVAS)
    assert canvas["title"] == "Client Onboarding SOP"
    assert [m["title"] for m in canvas["modules"]] == HEADINGS
    expect(page.get_by_test_id("msg-assistant").last).to_contain_text("Client Onboarding SOP.docx")

    box.fill("build it")
    box.press("Enter")
    for i in range(len(HEADINGS)):
        expect(page.locator(f'[data-testid="module-{i}"]')).to_have_attribute(
            "data-status", "built", timeout=BUILD_TIMEOUT_MS
        )
    wait_idle(page)
    canvas = page.evaluate(READ_CANVAS)
    welcome = canvas["modules"][0]
    assert [t["title"] for t in welcome["tasks"]] == ["Schedule the call", "Introduce the team"]
    assert welcome["tasks"][0]["steps"] == ["Send the invite", "Share the agenda"]
    shot(page, "attachments-built")


def test_a_refused_file_is_named_on_its_chip_and_the_message_is_kept(page: Any, user: dict[str, Any]) -> None:
    login(page, user)
    box = page.get_by_test_id("composer")
    box.fill("Use our runbook")
    attach(page, "runbook.pdf", docs.pdf_bytes("Runbook", password="secret"), "application/pdf")
    error = page.get_by_test_id("attachment-error")
    expect(error).to_contain_text(re.compile(r"runbook\.pdf.*password-protected"))
    expect(page.get_by_test_id("send")).to_be_disabled()
    shot(page, "attachments-refused")
    page.get_by_role("button", name="Remove runbook.pdf").click()
    expect(box).to_have_value("Use our runbook")
    expect(page.get_by_test_id("send")).to_be_enabled()
