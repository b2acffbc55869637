"""Two people, two browsers (issue 13): the requester's 9+-module build waits for the ops-leads
desk; the approver sees it in /approvals and approves; the requester's page resumes and builds."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import login, shot
from tests.e2e.test_builder import BUILD_TIMEOUT_MS, outline, send, wait_idle


def test_the_desk_approves_in_its_queue_and_the_requesters_build_runs_live(
    new_page: Any, user: dict[str, Any], approver: dict[str, Any]
) -> None:
    requester_page = new_page(label="requester")
    login(requester_page, user)
    outline(requester_page)
    modules = requester_page.locator('[data-testid^="module-"]')
    count = modules.count()
    extra = ["security review", "billing setup", "executive sponsor check-in"][: max(0, 9 - count)]
    if extra:
        send(requester_page, " and ".join(f"add a module about {topic}" for topic in extra))
        expect(modules).to_have_count(count + len(extra), timeout=30_000)
        wait_idle(requester_page)
    total = modules.count()

    send(requester_page, "Build it")
    card = requester_page.get_by_test_id("approval-card")
    expect(card.get_by_test_id("approval-waiting")).to_contain_text("ops-leads", timeout=30_000)
    expect(card.get_by_role("button", name="Approve")).to_have_count(0)
    shot(requester_page, "approvals-requester-waiting")

    approver_page = new_page(label="approver")
    approver_page.goto("/login?next=/approvals")
    approver_page.get_by_label("Email").fill(approver["email"])
    approver_page.get_by_label("Password").fill(approver["password"])
    approver_page.get_by_role("button", name="Sign in").click()
    approver_page.wait_for_url(re.compile(r"/approvals$"))
    request = approver_page.get_by_test_id("approval-request").first
    expect(request).to_contain_text(re.compile(r"Build .*modules"), timeout=5_000)
    expect(request).to_contain_text(user["email"])
    shot(approver_page, "approvals-queue")
    request.get_by_test_id("approve").click()
    expect(approver_page.get_by_test_id("approvals-empty")).to_be_visible(timeout=10_000)

    expect(requester_page.get_by_test_id("build-progress")).to_contain_text(
        f"{total} of {total} modules built", timeout=BUILD_TIMEOUT_MS
    )
    shot(requester_page, "approvals-requester-built")
