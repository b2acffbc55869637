"""The playbook library MCP server, started by the runtime over stdio (real ``mcp`` SDK, real processes).

The database is the web app's (its migrations, its save service); the runtime attaches the
library to the orchestrator and the builders from the shipped ``agents.yaml`` and drives it with
the offline model — or a strict scripted model where a test needs the model to try something.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import defaultdict, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from strands.models.model import Model

from agent_runtime.models.offline_model import OfflineModel
from agent_runtime.models.scripted import ScriptedModel, Step
from agent_runtime.services import build_services
from tests.support.agents_config import agents_config_with
from tests.support.library import ONBOARDING_MODULES, LibraryWorld, make_library_world
from tests.support.sse import Frame, check_stream, custom, text_of, tool_calls
from tests.unit.agent_runtime.conftest import FakeTracker, Harness, settings_for

ROOT = Path(__file__).resolve().parents[2]
OFFBOARDING = "Create a vendor offboarding playbook based on our vendor onboarding playbook"


class Models:
    """The offline model for every role, unless a scripted model is queued for the role."""

    def __init__(self) -> None:
        self.queued: dict[str, deque[ScriptedModel]] = defaultdict(deque)

    def create(self, role: str) -> Model:
        if self.queued[role]:
            return self.queued[role].popleft()
        return OfflineModel(role)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> LibraryWorld:
    return make_library_world(tmp_path_factory.mktemp("library"))


@pytest.fixture(scope="module")
def models() -> Models:
    return Models()


@pytest.fixture(scope="module")
def harness(
    world: LibraryWorld, models: Models, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Harness]:
    """One runtime (in process) with the shipped agents.yaml: the library is a real stdio child per vendor."""
    environ = {
        **os.environ,
        "DATABASE_URL": world.database_url,
        "POLICIES_DIR": str(world.policies_dir),
        "PYTHONPATH": str(ROOT),
    }
    settings = settings_for(DATA_DIR=str(tmp_path_factory.mktemp("data")), APPROVAL_RULES="none")
    services = build_services(settings, tracker=FakeTracker(), models=models, environ=environ)
    harness = Harness(services)
    yield harness
    harness.close()
    assert services.mcp.running_count() == 0  # closed on shutdown


def _chat(
    harness: Harness, vendor: int, user: int, prompt: str, sid: str | None = None
) -> tuple[str, list[Frame]]:
    sid = sid or str(uuid.uuid4())
    token = harness.codec.mint(sid=sid, uid=user, vid=vendor, typ="copilot")
    frames = harness.run({"session_id": sid, "token": token, "action": "chat", "prompt": prompt}, sid)
    check_stream(frames)
    return sid, frames


def _watch(harness: Harness, vendor: int, user: int, sid: str) -> list[Frame]:
    """The session's whole build log (builders may log before the "build it" turn has ended)."""
    token = harness.codec.mint(sid=sid, uid=user, vid=vendor, typ="copilot")
    frames = harness.run({"session_id": sid, "token": token, "action": "watch", "last_event_id": 0}, sid)
    check_stream(frames)
    return frames


def _raw(frames: list[Frame]) -> str:
    return json.dumps([f.event for f in frames])


def test_based_on_our_playbook_searches_reads_and_reuses_its_structure(
    harness: Harness, world: LibraryWorld
) -> None:
    _, frames = _chat(harness, world.acme_vendor, world.acme_user, OFFBOARDING)

    calls = tool_calls(frames)
    names = [name for name, _ in calls]
    # The library calls stream as ordinary TOOL_CALL_* events, before the outline they inform.
    assert names[:3] == ["search_playbooks", "get_playbook", "set_playbook_outline"]
    assert calls[0][1]["query"] == "vendor onboarding"
    assert calls[1][1] == {"playbook_id": world.acme_playbook}
    outline = calls[2][1]
    assert outline["title"] == "Vendor Offboarding Playbook"
    assert [m["title"] for m in outline["modules"]] == [
        title.replace("Onboarding", "Offboarding") for title, _ in ONBOARDING_MODULES
    ]
    assert "Vendor Onboarding Playbook" in outline["description"]
    assert "based this on your saved playbook **Vendor Onboarding Playbook**" in text_of(frames)


def test_another_vendors_playbook_is_not_found_through_the_model(
    harness: Harness, world: LibraryWorld, models: Models
) -> None:
    # The same request from another vendor: the library searches Globex's playbooks only.
    _, frames = _chat(harness, world.globex_vendor, world.globex_user, OFFBOARDING)
    assert [n for n, _ in tool_calls(frames)][:2] == ["search_playbooks", "set_playbook_outline"]
    assert "couldn't find a saved playbook matching “vendor onboarding”" in text_of(frames)
    assert "Acme" not in _raw(frames)

    # A model that asks for Acme's playbook and policy by id and name (even adding a vendor
    # argument) gets "not found": the vendor is the session's, bound in the server process.
    seen: list[list[dict[str, Any]]] = []

    def results(messages: Any, tools: Any, system_prompt: Any) -> None:
        blocks = [b["toolResult"] for b in messages[-1]["content"] if "toolResult" in b]
        seen.append(blocks)
        assert blocks and all(b["status"] == "error" for b in blocks), blocks

    models.queued["orchestrator"].append(
        ScriptedModel(
            [
                Step(
                    tool_calls=(
                        ("get_playbook", {"playbook_id": world.acme_playbook}),
                        (
                            "get_playbook",
                            {"playbook_id": world.acme_playbook, "vendor_id": world.acme_vendor},
                        ),
                        ("get_policy", {"name": "security-policy"}),
                        ("get_policy", {"name": f"../{world.acme_vendor}/security-policy"}),
                    )
                ),
                Step(text="I could not find those.", check=results),
            ],
            name="scripted-orchestrator",
        )
    )
    _, frames = _chat(harness, world.globex_vendor, world.globex_user, "Make a playbook like Acme's")
    assert [n for n, _ in tool_calls(frames)] == ["get_playbook", "get_playbook", "get_policy", "get_policy"]
    texts = " ".join(item["text"] for block in seen[0] for item in block["content"] if "text" in item)
    assert f"no playbook {world.acme_playbook} in your library" in texts
    assert "no policy named 'security-policy' in your library" in texts
    assert "Acme-only" not in texts and "Least access" not in texts and "Access control" not in texts
    assert not models.queued["orchestrator"]


def test_a_named_policy_is_read_and_builders_cite_it(harness: Harness, world: LibraryWorld) -> None:
    prompt = "Onboard new clients with a kickoff call and document collection, following our security policy"
    sid, frames = _chat(harness, world.acme_vendor, world.acme_user, prompt)
    calls = tool_calls(frames)
    assert [n for n, _ in calls][:3] == ["list_policies", "get_policy", "set_playbook_outline"]
    assert calls[1][1] == {"name": "security-policy"}
    assert "Follows our Security Policy." in calls[2][1]["description"]
    assert "I followed your **Security Policy** (sections: Access control, Data handling)" in text_of(frames)

    _, frames = _chat(harness, world.acme_vendor, world.acme_user, "build it", sid=sid)
    watch = _watch(harness, world.acme_vendor, world.acme_user, sid)
    built = tool_calls(watch)
    modules = len(calls[2][1]["modules"])
    assert [n for n, _ in built].count("get_policy") == modules  # every builder read the policy
    add_tasks = [args for name, args in built if name == "add_tasks"]
    assert len(add_tasks) == modules
    for args in add_tasks:
        for task in args["tasks"]:
            assert "Per our Security Policy (" in task["description"], task


def test_one_library_process_per_vendor_shared_by_sessions(harness: Harness, world: LibraryWorld) -> None:
    pool = harness.services.mcp
    first = pool.attach(["playbook_library"], world.acme_vendor)
    again = pool.attach(["playbook_library"], world.acme_vendor)
    ready = pool.ready(["playbook_library"], world.acme_vendor)
    assert ready is not None and ready.tools == first.tools  # no I/O once it is up
    assert pool.ready(["playbook_library"], 999) is None  # a vendor with no process yet
    other = pool.attach(["playbook_library"], world.globex_vendor)
    assert [t for _, t in first.tools] == [t for _, t in again.tools]  # the same connection
    assert {id(t.mcp_client) for _, t in first.tools}.isdisjoint({id(t.mcp_client) for _, t in other.tools})
    assert sorted(t.tool_name for _, t in first.tools) == [
        "get_playbook",
        "get_policy",
        "list_policies",
        "search_playbooks",
    ]
    for _, tool in first.tools:  # no tool lets the model name a vendor
        assert not any("vendor" in p for p in tool.tool_spec["inputSchema"]["json"].get("properties", {}))


def _missing_binary(optional: bool) -> Any:
    def edit(data: dict[str, Any]) -> None:
        server = data["mcp_servers"][0]
        server["command"] = "/nonexistent/bin/playbook-library-server"
        server["args"] = []
        server["optional"] = optional

    return edit


@pytest.mark.parametrize("optional", [False, True], ids=["required", "optional"])
def test_a_server_that_cannot_start(tmp_path: Path, optional: bool) -> None:
    config = agents_config_with(tmp_path, _missing_binary(optional))
    settings = settings_for(DATA_DIR=str(tmp_path / "data"), AGENTS_CONFIG=str(config))
    harness = Harness(build_services(settings, tracker=FakeTracker(), models=Models()))
    try:
        frames = harness.chat("Onboard new clients with a kickoff call")
        check_stream(frames)
        if not optional:
            assert frames[-1].type == "RUN_ERROR"
            assert frames[-1].event["code"] == "TOOL_SERVER_UNAVAILABLE"
            assert frames[-1].event["message"] == (
                "the playbook_library tool server could not start: "
                "'/nonexistent/bin/playbook-library-server' is not an executable found on PATH"
            )
        else:
            assert frames[-1].type == "RUN_FINISHED"
            assert "The playbook library is unavailable right now, so I'm working without it." in text_of(
                frames
            )
            assert [n for n, _ in tool_calls(frames)][0] == "set_playbook_outline"
    finally:
        harness.close()


def test_usage_is_in_every_closing_snapshot(harness: Harness, world: LibraryWorld) -> None:
    _, frames = _chat(harness, world.acme_vendor, world.acme_user, "Onboard new clients with a kickoff call")
    usage = [f.event["snapshot"] for f in frames if f.type == "STATE_SNAPSHOT"][-1]["usage"]
    assert set(usage) == {"input_tokens", "output_tokens", "total_tokens", "cost_usd"}
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    assert custom(frames, "module.check") == []
