"""The opening gate in the served app (``python -m webapp``, gevent, one slot): an opening waiting
on a runtime slow to answer (a cold microVM) holds no slot, so other people's openings and stops
go on meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.runtime_stub import StubRuntime
from tests.support.waiting import wait_until
from tests.support.webapp_harness import *  # noqa: F403 (the stub fixture)
from tests.support.webapp_harness import SIGNING_SECRET, WebappProcess, WebClient, add_user, app_for_url
from webapp.migrate import upgrade


@pytest.fixture(scope="module")
def one_slot(tmp_path_factory: Any, stub: StubRuntime) -> Iterator[WebClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('gate') / 'webapp.db'}"
    upgrade(url)
    seeder = app_for_url(url)
    user = add_user(seeder)
    seeder.extensions["agent_transport"].close()
    seeder.extensions["database"].dispose()
    env = {
        "DATABASE_URL": url,
        "AGENT_SIGNING_SECRET": SIGNING_SECRET,
        "RUNTIME_URL": stub.url,
        "WEB_OPENING_GREENLETS": "1",
    }
    with WebappProcess(env, worker_class="gevent") as process, WebClient(process.url) as web:
        assert web.login(user["email"], user["password"]).status_code == 302
        yield web


def chat(session: dict[str, Any], prompt: str) -> dict[str, Any]:
    return {
        "session_id": session["session_id"],
        "token": session["token"],
        "action": "chat",
        "prompt": prompt,
    }


def test_an_opening_waiting_on_a_slow_runtime_holds_no_slot(one_slot: WebClient, stub: StubRuntime) -> None:
    stub.reset()
    slow, other = one_slot.mint(), one_slot.mint()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(one_slot.post_json, "/api/agent/run", chat(slow, "frames=1 slow_start=1"))
        wait_until(lambda: stub.invocations, "the slow turn reached the runtime")
        # The one slot is free while the runtime has not answered: another turn and a stop go through.
        quick = one_slot.post_json("/api/agent/run", chat(other, "frames=2"))
        stopped = one_slot.post_json(
            f"/api/agent/run/{other['session_id']}/stop",
            {"session_id": other["session_id"], "token": other["token"], "action": "stop"},
        )
        assert not stub.invocations[0].answered  # all of that while the slow one still waited
        stub.start_gate.set()
        answered = pending.result(timeout=30)
    assert quick.status_code == 200 and quick.content.count(b"\n\n") == 2
    assert stopped.status_code == 200
    assert answered.status_code == 200 and answered.content.count(b"\n\n") == 1
