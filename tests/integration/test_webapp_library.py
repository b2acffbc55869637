"""The playbook library through the whole product: the web app saves a playbook to Postgres, then a
chat through the web app's proxy to the REAL runtime process (shipped ``agents.yaml``) makes the
orchestrator read it back through the library MCP server — and another vendor's user cannot."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_runtime.config import DEFAULT_AGENTS_CONFIG
from tests.support.library import ONBOARDING_MODULES
from tests.support.runtime_process import RUNTIME_SECRET, RuntimeProcess, start_runtime
from tests.support.sse import Frame, check_stream, parse_frames, text_of, tool_calls
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import WebappProcess, WebClient, add_user, app_for_url

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "Create a vendor offboarding playbook based on our vendor onboarding playbook"


@pytest.fixture(scope="module")
def library_runtime(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeProcess]:
    env = {
        "AGENTS_CONFIG": str(DEFAULT_AGENTS_CONFIG),  # the shipped file: the library is attached
        "DATABASE_URL": postgres_url,
        "POLICIES_DIR": str(tmp_path_factory.mktemp("policies")),
    }
    with start_runtime(env) as process:
        yield process


@pytest.fixture(scope="module")
def webapp(postgres_url: str, library_runtime: RuntimeProcess) -> Iterator[tuple[WebappProcess, Any]]:
    seeder = app_for_url(postgres_url, AGENT_SIGNING_SECRET=RUNTIME_SECRET, RUNTIME_URL=library_runtime.url)
    env = {
        "DATABASE_URL": postgres_url,
        "AGENT_SIGNING_SECRET": RUNTIME_SECRET,
        "RUNTIME_URL": library_runtime.url,
    }
    with WebappProcess(env) as process:
        yield process, seeder
    seeder.extensions["database"].dispose()
    seeder.extensions["agent_transport"].close()


def _chat(client: WebClient, prompt: str) -> list[Frame]:
    session = client.mint()
    body = {
        "session_id": session["session_id"],
        "token": session["token"],
        "action": "chat",
        "prompt": prompt,
    }
    with client.stream("/api/agent/run", body) as response:
        assert response.status_code == 200, response.read()
        frames = parse_frames(b"".join(response.iter_raw()))
    check_stream(frames)
    return frames


@pytest.mark.postgres
def test_a_saved_playbook_is_reused_and_another_vendor_cannot_reach_it(
    webapp: tuple[WebappProcess, Any], library_runtime: RuntimeProcess
) -> None:
    process, seeder = webapp
    owner, stranger = add_user(seeder), add_user(seeder)
    playbook = {
        "title": "Vendor Onboarding Playbook",
        "description": "How we bring a vendor on board.",
        "modules": [
            {
                "title": t,
                "description": d,
                "tasks": [{"title": "Owner-only task", "steps": [{"title": "Do it"}]}],
            }
            for t, d in ONBOARDING_MODULES
        ],
    }
    with WebClient(process.url, timeout=120) as client:
        assert client.login(owner["email"], owner["password"]).status_code == 302
        saved = client.post_json("/agent/save-playbook", {"playbook": playbook, "idempotency_key": "lib-1"})
        assert saved.status_code == 201, saved.text
        frames = _chat(client, PROMPT)
    calls = tool_calls(frames)
    assert [n for n, _ in calls][:3] == ["search_playbooks", "get_playbook", "set_playbook_outline"]
    assert calls[1][1] == {"playbook_id": saved.json()["playbook_id_decoded"]}
    assert [m["title"] for m in calls[2][1]["modules"]][0] == "Vendor Offboarding Kickoff"
    assert "Vendor Onboarding Playbook" in text_of(frames)

    with WebClient(process.url, timeout=120) as client:
        assert client.login(stranger["email"], stranger["password"]).status_code == 302
        frames = _chat(client, PROMPT)
    assert [n for n, _ in tool_calls(frames)][:2] == ["search_playbooks", "set_playbook_outline"]
    assert "couldn't find a saved playbook" in text_of(frames)
    raw = json.dumps([f.event for f in frames])
    assert "Owner-only task" not in raw and "How we bring a vendor on board" not in raw
    assert library_runtime.stats()["mcp_servers_running"] == 2  # one library process per vendor
