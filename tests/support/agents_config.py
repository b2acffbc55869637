"""Variants of the shipped ``agents.yaml`` for tests.

Most tests exercise the agents, not the playbook library, so their runtimes use the shipped file
without MCP servers (starting the library costs a Python process per vendor); the tests of the
library and of MCP attachment use the shipped file itself or :func:`agents_config_with`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from agent_runtime.config import DEFAULT_AGENTS_CONFIG

__all__ = ["agents_config_plain", "agents_config_with", "agents_config_without_mcp"]


def agents_config_with(
    folder: Path, edit: Callable[[dict[str, Any]], None], name: str = "agents.yaml"
) -> Path:
    """The shipped agents file changed by ``edit`` (prompt paths made absolute), written to ``folder``."""
    data = yaml.safe_load(DEFAULT_AGENTS_CONFIG.read_text(encoding="utf-8"))
    for agent in data["agents"]:
        agent["prompt"] = str((DEFAULT_AGENTS_CONFIG.parent / agent["prompt"]).resolve())
    edit(data)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _drop_mcp(data: dict[str, Any]) -> None:
    data.pop("mcp_servers", None)
    for agent in data["agents"]:
        agent.pop("mcp_servers", None)


def agents_config_without_mcp(folder: Path) -> Path:
    """The shipped agents file with no MCP servers."""
    return agents_config_with(folder, _drop_mcp, name="agents-no-mcp.yaml")


def _drop_mcp_and_check(data: dict[str, Any]) -> None:
    _drop_mcp(data)
    for agent in data["agents"]:
        agent.pop("self_check", None)


def agents_config_plain(folder: Path) -> Path:
    """The shipped agents file with no MCP servers and no module self-check.

    For tests that script every model call of a builder exactly (a self-check could ask for more).
    """
    return agents_config_with(folder, _drop_mcp_and_check, name="agents-plain.yaml")
