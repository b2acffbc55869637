"""Issue 9 item 4 in a real browser: after a runtime restart, "Try again" — chat and canvas agree.

The report: "After restarting the runtime and pressing 'Try again', the chat said 'Added Customer
Notification as module 8' while the canvas kept 7 modules, even after a reload; the module
appeared only on the next turn."

The cause: a runtime that loaded a session from the store handed out SSE ids from 0 again, while
the page remembers the highest id of the last snapshot it applied (``snapshotEventId``) and its
resume point (``resumeId``). Every frame of the retried turn had a lower id than the page's, so the
page took the ``add_module`` tool call and the turn's closing ``STATE_SNAPSHOT`` for things a
snapshot it already had contained, and dropped them — while it showed the reply. A reload resumed
the watch from the old, higher id; the new life's log reached that far with nothing to replay and
no gap, so no snapshot came either. (Checked: with ids from 0 again this test fails exactly so —
7 modules under "as module 8", also after the reload.) Fixed in the runtime: a session's ids start
at a microsecond clock reading in every life, loaded from the store (2bf2e2c) or created anew; and
the page orders snapshots by id, not by a version the runtime may never have stored.

Each test restarts the runtime (SIGKILL, then a new process on the same port and the same session
store) behind the same web app, like ``make run``'s supervisord does: once between turns (the
message sent while it is down fails, "Try again" sends it again), once in the middle of the turn
(after its change reached the page, before the runtime stored it).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import MODEL_LATENCY_MS, ONBOARDING, login, shot
from tests.support.runtime_process import RuntimeProcess, free_port, start_runtime

ADD = "add a module about customer notification"
MODULES = '[data-testid^="module-"]'
IDLE_MS = 60_000


class RestartableRuntime:
    """The real runtime on a fixed port and session store, which a test can kill and start again."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self._env = env
        self._stack: contextlib.ExitStack | None = None
        self.process: RuntimeProcess | None = None

    @property
    def url(self) -> str:
        """The address the web app is given (the same across restarts)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, **env: str) -> None:
        """Start a runtime process on the port (after :meth:`kill`, a new life of every session).

        ``env``: settings for this life only (e.g. a slower offline model).
        """
        stack = contextlib.ExitStack()
        self.process = stack.enter_context(start_runtime({**self._env, **env}, port=self.port))
        self._stack = stack

    def kill(self) -> None:
        """SIGKILL: no goodbye, no last write."""
        assert self.process is not None and self._stack is not None
        self.process.kill()
        self._stack.close()
        self._stack = self.process = None

    def close(self) -> None:
        """Stop whatever runs."""
        if self._stack is not None:
            self._stack.close()


@pytest.fixture(scope="module")
def e2e_runtime(e2e_attachments: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """This module's runtime: restartable, with a session store that outlives each process."""
    data = Path(tmp_path_factory.mktemp("restart-sessions"))
    env = {"OFFLINE_MODEL_LATENCY_MS": MODEL_LATENCY_MS, "ATTACHMENT_STORE": e2e_attachments}
    runtime = RestartableRuntime({**env, "DATA_DIR": str(data)})
    runtime.start()
    yield runtime
    runtime.close()


def send(page: Any, text: str) -> None:
    box = page.get_by_test_id("composer")
    box.fill(text)
    box.press("Enter")


def wait_idle(page: Any) -> None:
    expect(page.get_by_test_id("chat-status")).to_have_text(re.compile("Ready"), timeout=IDLE_MS)


def module_titles(page: Any) -> list[str]:
    return [t.strip() for t in page.locator(f"{MODULES} .module-title").all_inner_texts()]


def last_reply(page: Any) -> str:
    return str(page.get_by_test_id("msg-assistant").last.inner_text())


def onboarded(page: Any, user: dict[str, Any]) -> int:
    """Sign in and draft a first playbook; the number of modules on the canvas."""
    login(page, user)
    send(page, ONBOARDING)
    expect(page.locator(MODULES).first).to_be_visible()
    wait_idle(page)
    before = page.locator(MODULES).count()
    assert before >= 2
    return before


def test_try_again_after_a_restart_shows_the_module_the_reply_names(
    page: Any, user: dict[str, Any], e2e_runtime: RestartableRuntime
) -> None:
    before = onboarded(page, user)

    e2e_runtime.kill()
    send(page, ADD)  # the runtime is down: the message fails, with "Try again"
    error = page.get_by_test_id("msg-error")
    expect(error.get_by_role("button", name="Try again")).to_be_visible(timeout=IDLE_MS)
    e2e_runtime.start()  # supervisord brings it back, same store
    error.get_by_role("button", name="Try again").click()
    wait_idle(page)
    expect(page.get_by_test_id("msg-error")).to_have_count(0)

    reply = last_reply(page)
    assert re.search(rf"as module {before + 1}\b", reply), reply
    expect(page.locator(MODULES)).to_have_count(before + 1)  # the canvas shows what the reply says
    titles = module_titles(page)
    assert "notification" in titles[-1].lower(), titles
    shot(page, "restart-desync-1-try-again")

    page.reload()  # and so does a reload
    expect(page.locator(MODULES)).to_have_count(before + 1)
    wait_idle(page)
    assert module_titles(page) == titles
    expect(page.locator(MODULES)).to_have_count(before + 1)

    send(page, "rename module 1 to Kickoff")  # the next turn changes only what it says
    wait_idle(page)
    expect(page.locator(MODULES)).to_have_count(before + 1)


def test_a_turn_cut_by_a_restart_then_tried_again_leaves_chat_and_canvas_in_agreement(
    page: Any, user: dict[str, Any], e2e_runtime: RestartableRuntime, tmp_path: Path
) -> None:
    before = onboarded(page, user)

    # A life whose orchestrator answers one call, then waits: the page shows the turn's add_module
    # while the turn waits for its next model call and has stored nothing — the kill lands there.
    hold = tmp_path / "hold"
    e2e_runtime.kill()
    e2e_runtime.start(OFFLINE_MODEL_HOLD_FILE=str(hold))
    hold.write_text("orchestrator pass=1", encoding="utf-8")
    send(page, ADD)
    page.wait_for_selector(f'[data-testid="module-{before}"]', state="attached", timeout=IDLE_MS)
    assert hold.read_text(encoding="utf-8").split() == ["orchestrator", "pass=0"]  # the next call waits
    e2e_runtime.kill()  # the turn is cut: the page shows a module the store never got
    hold.unlink()
    error = page.get_by_test_id("msg-error")
    expect(error.get_by_role("button", name="Try again")).to_be_visible(timeout=IDLE_MS)

    e2e_runtime.start()
    error.get_by_role("button", name="Try again").click()
    wait_idle(page)
    reply = last_reply(page)
    assert re.search(rf"as module {before + 1}\b", reply), reply  # the cut turn is not remembered
    expect(page.locator(MODULES)).to_have_count(before + 1)  # nor shown twice
    titles = module_titles(page)
    assert sum("notification" in t.lower() for t in titles) == 1, titles
    shot(page, "restart-desync-2-cut-turn")

    page.reload()
    expect(page.locator(MODULES)).to_have_count(before + 1)
    wait_idle(page)
    assert module_titles(page) == titles
