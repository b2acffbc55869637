"""``mcp_servers`` in agents.yaml: what is accepted, what is a one-line configuration error."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from agent_runtime.agents.registry import load_registry
from agent_runtime.config import DEFAULT_AGENTS_CONFIG
from agent_runtime.errors import ConfigError
from agent_runtime.services import build_services
from agent_runtime.toolservers import McpPool
from agent_runtime.toolservers.config import interpolate
from tests.support.agents_config import agents_config_with
from tests.unit.agent_runtime.conftest import FakeTracker, settings_for


def test_the_shipped_file_attaches_the_library_to_the_orchestrator_and_the_builders() -> None:
    registry = load_registry(DEFAULT_AGENTS_CONFIG)
    library = registry.mcp_servers["playbook_library"]
    assert library.transport == "stdio" and library.vendor_env == "PLAYBOOK_LIBRARY_VENDOR_ID"
    assert library.allowed_tools == ("search_playbooks", "get_playbook", "list_policies", "get_policy")
    assert registry.get("playbook_orchestrator").mcp_servers == ("playbook_library",)
    assert registry.get("module_builder").mcp_servers == ("playbook_library",)
    assert registry.get("router").mcp_servers == ()
    assert registry.get("module_builder").self_check is not None


def test_interpolation() -> None:
    env = {"HOST": "db", "EMPTY": ""}
    assert interpolate("${HOST}:${PORT:-5432}", env) == "db:5432"
    assert interpolate("${EMPTY:-fallback}", env) == "fallback"
    assert interpolate("${PYTHON}", env) == sys.executable
    with pytest.raises(KeyError):
        interpolate("${MISSING}", env)


def _config(tmp_path: Path, edit: Any) -> Path:
    return agents_config_with(tmp_path, edit)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["agents"][1].update(mcp_servers=["nope"]),
            "agent 'playbook_orchestrator': unknown mcp server(s): nope",
        ),
        (
            lambda d: d["mcp_servers"][0].update(url="http://x/mcp"),
            "give either command (stdio) or url (streamable HTTP)",
        ),
        (
            lambda d: d["mcp_servers"][0].update(command=None, url="http://x/mcp"),
            "vendor_env needs a stdio server (command)",
        ),
        (
            lambda d: d["mcp_servers"].append(dict(d["mcp_servers"][0])),
            "duplicate mcp server name(s): playbook_library",
        ),
        (lambda d: d["agents"][0].update(self_check={"min_tasks": 2}), "self_check is for builders only"),
        (lambda d: d["mcp_servers"][0].update(timeout=3), "Extra inputs are not permitted"),
    ],
)
def test_a_bad_declaration_is_a_one_line_config_error(tmp_path: Path, edit: Any, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_registry(_config(tmp_path, edit))
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_missing_environment_variable_fails_at_start_up(tmp_path: Path) -> None:
    def needs_token(data: dict[str, Any]) -> None:
        data["mcp_servers"][0]["env"]["API_TOKEN"] = "${LIBRARY_API_TOKEN}"

    settings = settings_for(AGENTS_CONFIG=str(_config(tmp_path, needs_token)), DATA_DIR=str(tmp_path / "d"))
    with pytest.raises(
        ConfigError, match="mcp server 'playbook_library': environment variable LIBRARY_API_TOKEN"
    ):
        build_services(settings, tracker=FakeTracker(), environ={})
    services = build_services(settings, tracker=FakeTracker(), environ={"LIBRARY_API_TOKEN": "t"})
    assert isinstance(services.mcp, McpPool) and services.mcp.running_count() == 0  # nothing started yet
    services.close()


def test_a_server_that_failed_to_start_is_retried_after_a_pause() -> None:
    from agent_runtime.toolservers import McpServerSpec, ToolServerUnavailable
    from agent_runtime.toolservers.pool import RETRY_AFTER_SECONDS

    now = [100.0]
    spec = McpServerSpec(name="gone", command="/nonexistent/mcp-server", optional=True)
    pool = McpPool({"gone": spec}, {}, clock=lambda: now[0])
    starts: list[int] = []
    real_start = pool._start

    def counting_start(*args: Any) -> Any:
        starts.append(1)
        return real_start(*args)

    pool._start = counting_start  # type: ignore[method-assign]
    first = pool.attach(["gone"], vendor_id=1)
    assert first.notes == ["The gone is unavailable right now, so I'm working without it."]
    now[0] += RETRY_AFTER_SECONDS - 1
    with pytest.raises(ToolServerUnavailable, match="'/nonexistent/mcp-server' is not an executable"):
        pool._tools(spec, 1)  # fails fast with the same reason, without trying
    assert len(starts) == 1
    now[0] += 2
    pool.attach(["gone"], vendor_id=1)
    assert len(starts) == 2  # tried again after the pause
