"""Issue 10 in a real browser: a shared tab between two vendors, sign-out, framing and the CSP."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import ONBOARDING, login, shot
from tests.e2e.test_builder import outline, send, wait_idle

BUILDER_KEYS = "() => Object.keys(sessionStorage).filter((k) => k.startsWith('playbookBuilder.'))"


def _sign_out_from_the_playbooks_page(page: Any) -> None:
    """The server-rendered "Sign out" (the builder's own button is not the only way out)."""
    page.goto("/playbooks")
    page.locator("button:visible", has_text="Sign out").first.click()
    page.wait_for_url(re.compile(r"/login"))


def _second_vendor_in_the_same_tab(page: Any, other: dict[str, Any]) -> None:
    page.get_by_label("Email").fill(other["email"])
    page.get_by_label("Password").fill(other["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/playbooks"))
    page.goto("/builder")
    page.get_by_test_id("composer").wait_for()


def test_a_shared_tab_never_shows_or_saves_another_vendors_work(
    page: Any, user: dict[str, Any], e2e_webapp: tuple[Any, Any]
) -> None:
    from tests.support.webapp_harness import add_user

    other = add_user(e2e_webapp[1])  # another vendor
    login(page, user)
    outline(page)
    first_title = page.get_by_test_id("playbook-title").text_content()
    assert page.evaluate(BUILDER_KEYS)

    _sign_out_from_the_playbooks_page(page)
    # Nothing of the first vendor's is left in the tab once the sign-in page shows.
    assert page.evaluate(BUILDER_KEYS) == []

    _second_vendor_in_the_same_tab(page, other)
    expect(page.get_by_text("Your playbook will appear here")).to_be_visible()
    expect(page.get_by_test_id("msg-user")).to_have_count(0)
    assert first_title not in (page.locator("body").text_content() or "")
    shot(page, "shared-tab-second-vendor")

    # Saving from here stores the second vendor's own session canvas (read from the runtime):
    # tests/unit/webapp/test_webapp_save.py and tests/integration/test_webapp_runtime.py.


def test_state_planted_in_the_tab_is_discarded_on_load(page: Any, user: dict[str, Any]) -> None:
    """Another user's session token and canvas, left in sessionStorage, are not shown or used."""
    login(page, user)
    wait_idle(page)
    page.evaluate(
        """() => {
        const planted = {session_id: '00000000-0000-4000-8000-000000000000', token: 'someone-elses',
                         agent_url: '/api/agent', lastEventId: 1, resumable: true, user: 'another-user'};
        sessionStorage.setItem('playbookBuilder.session.another-user', JSON.stringify(planted));
        sessionStorage.setItem('playbookBuilder.canvas.another-user',
          JSON.stringify({canvas: {title: 'Planted plan', description: '', modules: [
            {title: 'Planted module', description: '', status: 'pending', tasks: []}]}, phase: 'outline'}));
        sessionStorage.setItem('playbookBuilder.transcript', JSON.stringify(
          {messages: [{id: 'x', role: 'user', text: 'planted words'}], suggestions: []}));
    }"""
    )
    page.reload()
    page.get_by_test_id("composer").wait_for()
    expect(page.get_by_text("Planted plan")).to_have_count(0)
    expect(page.get_by_text("planted words")).to_have_count(0)
    keys = page.evaluate(BUILDER_KEYS)
    assert not any("another-user" in k for k in keys) and "playbookBuilder.transcript" not in keys


def test_the_builders_own_sign_out_clears_the_tab(page: Any, user: dict[str, Any]) -> None:
    login(page, user)
    send(page, ONBOARDING)
    expect(page.locator('[data-testid^="module-"]').first).to_be_visible()
    wait_idle(page)
    page.get_by_test_id("sign-out").click()
    page.wait_for_url(re.compile(r"/login"))
    assert page.evaluate(BUILDER_KEYS) == []
    # The old session cookie no longer signs anyone in.
    page.goto("/builder")
    page.wait_for_url(re.compile(r"/login"))


def test_pages_cannot_be_framed_by_another_origin(page: Any, user: dict[str, Any], base_url: str) -> None:
    """A page on another port of the same host (another origin) frames the signed-in list."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    attack = (
        f'<html><body><iframe id="victim" src="{base_url}/playbooks" width="800" height="600"></iframe>'
        "</body></html>"
    ).encode()

    class Attacker(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(attack)))
            self.end_headers()
            self.wfile.write(attack)

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        login(page, user)
        page.goto(f"http://127.0.0.1:{server.server_port}/")
        page.wait_for_load_state("load")
        page.wait_for_timeout(1000)  # the frame's navigation settles (blocked or not)
        inner = next(f for f in page.frames if f != page.main_frame)
        # Framed, the signed-in list (with its Sign out button) would render inside the attacker's page.
        assert not inner.url.startswith(base_url), inner.url
        assert page.frame_locator("#victim").get_by_role("button", name="Sign out").count() == 0
        shot(page, "clickjack-blocked")
    finally:
        server.shutdown()
        server.server_close()


def test_the_builder_runs_under_the_strict_csp(page: Any, user: dict[str, Any]) -> None:
    """No CSP violation while signing in, chatting and viewing the pages."""
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    login(page, user)
    response = page.goto("/builder")
    assert response is not None and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.get_by_test_id("composer").wait_for()
    outline(page)
    page.goto("/playbooks")
    page.goto("/audit")
    assert violations == []
    assert page.problems.errors == []


def test_the_sign_out_answer_itself_clears_the_tabs_storage(page: Any, user: dict[str, Any]) -> None:
    """Clear-Site-Data on the sign-out answer: no page script involved (a fetch from /playbooks)."""
    login(page, user)
    page.goto("/playbooks")
    page.evaluate("() => sessionStorage.setItem('playbookBuilder.canvas.someone', '{}')")
    status = page.evaluate(
        """async () => {
        const token = document.querySelector('meta[name="csrf-token"]').content;
        const body = new URLSearchParams({csrf_token: token});
        const response = await fetch('/logout', {method: 'POST', body, redirect: 'manual'});
        return response.type === 'opaqueredirect' ? 302 : response.status;
    }"""
    )
    assert status == 302
    assert page.evaluate(BUILDER_KEYS) == []
