"""The whole product path against the REAL runtime process and a real Postgres, through the real
server (``python -m webapp``: gunicorn, default worker class): log in, mint, a multi-turn session
including a build watched to the end, byte-exact; then save the canvas and read it back from the edit page."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.agentcore_fake import ForwardingFake
from tests.support.runtime_process import RUNTIME_SECRET, RuntimeProcess
from tests.support.sse import parse_frames
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import WebappProcess, WebClient, add_user, app_for_url

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"


@pytest.fixture(scope="module")
def tap(slow_runtime: RuntimeProcess) -> Iterator[ForwardingFake]:
    """Records the exact bytes the runtime sends for each invocation."""
    fake = ForwardingFake(slow_runtime.url, agentcore=False).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def webapp(postgres_url: str, tap: ForwardingFake) -> Iterator[tuple[WebappProcess, Any]]:
    seeder = app_for_url(postgres_url, AGENT_SIGNING_SECRET=RUNTIME_SECRET, RUNTIME_URL=tap.url)
    env = {"DATABASE_URL": postgres_url, "AGENT_SIGNING_SECRET": RUNTIME_SECRET, "RUNTIME_URL": tap.url}
    with WebappProcess(env) as process:
        yield process, seeder
    seeder.extensions["database"].dispose()
    seeder.extensions["agent_transport"].close()


def run(client: WebClient, path: str, body: dict[str, Any]) -> bytes:
    with client.stream(path, body) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"] == "text/event-stream"
        return b"".join(response.iter_raw())


def test_multi_turn_session_with_a_watched_build_is_byte_exact(
    webapp: tuple[WebappProcess, Any], tap: ForwardingFake
) -> None:
    process, seeder = webapp
    user = add_user(seeder)
    with WebClient(process.url, timeout=120) as client:
        assert client.login(user["email"], user["password"]).status_code == 302
        session = client.mint()
        sid, token = session["session_id"], session["token"]
        before = len(tap.calls)
        received = [
            run(
                client,
                "/api/agent/run",
                {"session_id": sid, "token": token, "action": "chat", "prompt": ONBOARDING},
            ),
            run(
                client,
                "/api/agent/run",
                {"session_id": sid, "token": token, "action": "chat", "prompt": "build it"},
            ),
        ]
        # As the builder page does: watch from the id of the turn's closing snapshot, so the watch
        # holds the whole build whether it is still running or has already ended (a loaded machine).
        closing = [
            f.id for f in parse_frames(received[1]) if f.type == "STATE_SNAPSHOT" and f.id is not None
        ][-1]
        received.append(
            run(client, f"/api/agent/run/{sid}/watch", {"token": token, "last_event_id": closing})
        )
        calls = tap.calls[before:]
        assert len(calls) == 3 and all(c.complete for c in calls)
        for got, call in zip(received, calls, strict=True):
            assert hashlib.sha256(got).hexdigest() == call.sha256
        assert [json.loads(c.body)["action"] for c in calls] == ["chat", "chat", "watch"]

        first, build, watch = (parse_frames(r) for r in received)
        assert first[0].type == "RUN_STARTED" and first[-1].type == "RUN_FINISHED"
        assert watch[-1].type == "RUN_FINISHED", [f.type for f in watch]
        assert any(f.type == "SUBAGENT_FINISHED" for f in watch), [f.type for f in watch]
        snapshot = [f.event["snapshot"] for f in watch if f.type == "STATE_SNAPSHOT"][-1]
        canvas = snapshot["canvas"]
        assert snapshot["phase"] == "refinement" and canvas["modules"] and canvas["modules"][0]["tasks"]

        # Save the canvas the session built, then read it back from Postgres through the edit page.
        playbook = {k: canvas[k] for k in ("title", "description", "modules") if k in canvas}
        saved = client.post_json(
            "/agent/save-playbook", {"playbook": playbook, "idempotency_key": sid, "session_id": sid}
        )
        assert saved.status_code == 201, saved.text
        page = client.http.get(f"/playbooks/{saved.json()['playbook_id']}")
        assert page.status_code == 200
        assert canvas["modules"][0]["tasks"][0]["title"] in page.text
        again = client.post_json("/agent/save-playbook", {"playbook": playbook, "idempotency_key": sid})
        assert again.status_code == 200 and again.json() == saved.json()


def test_healthz_sees_postgres_and_the_runtime(webapp: tuple[WebappProcess, Any]) -> None:
    import httpx

    body = httpx.get(webapp[0].url + "/healthz").json()
    assert body["status"] == "ok" and body["database"]["ok"] and body["runtime"]["ok"]
