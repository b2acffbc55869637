"""The agents file (``agents.yaml``): which agents exist, their prompts, tools and limits.

Loaded and checked once at start-up; any problem is a one-line
:class:`~agent_runtime.errors.ConfigError`. The runtime resolves the agents it needs by name
(:data:`ROUTER`, :data:`ORCHESTRATOR`, :data:`BUILDER`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent_runtime import yamltext
from agent_runtime.agents.checker import CheckRules
from agent_runtime.contract import TOOL_ARGS
from agent_runtime.errors import ConfigError
from agent_runtime.models.context import ConversationSettings, RetrySettings
from agent_runtime.toolservers.config import McpServerSpec

__all__ = ["ROUTER", "ORCHESTRATOR", "BUILDER", "AgentLimits", "AgentSpec", "AgentRegistry", "load_registry"]

ROUTER = "router"
ORCHESTRATOR = "playbook_orchestrator"
BUILDER = "module_builder"
_REQUIRED = {ROUTER: "router", ORCHESTRATOR: "orchestrator", BUILDER: "builder"}

Role = Literal["router", "orchestrator", "builder"]


class AgentLimits(BaseModel):
    """Per-invocation limits of one agent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_cycles: Annotated[int, Field(ge=1, le=1000)]
    budget_seconds: Annotated[float, Field(gt=0, le=3600)]


class AgentSpec(BaseModel):
    """One agent as the file describes it, with its prompt text loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
    role: Role
    model_role: Role
    description: str = ""
    prompt: str
    tools: tuple[str, ...] = ()
    mcp_servers: tuple[str, ...] = ()
    """MCP servers (``mcp_servers:`` names) whose tools this agent gets, started just in time."""
    limits: AgentLimits
    self_check: CheckRules | None = None
    """Builders only: the rules each built module is checked against, and the repair rounds."""
    conversation: ConversationSettings = ConversationSettings()
    retry: RetrySettings = RetrySettings()
    prompt_text: str = ""

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in TOOL_ARGS]
        if unknown:
            raise ValueError(f"unknown tool(s): {', '.join(unknown)}")
        return value


class _AgentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mcp_servers: list[McpServerSpec] = Field(default_factory=list)
    agents: list[AgentSpec] = Field(min_length=1)


class AgentRegistry:
    """Agents by name."""

    def __init__(self, specs: list[AgentSpec], mcp_servers: list[McpServerSpec] | None = None) -> None:
        """Index the specs and the MCP servers they may use (names must be unique)."""
        self._specs = {spec.name: spec for spec in specs}
        self.mcp_servers: dict[str, McpServerSpec] = {s.name: s for s in mcp_servers or []}

    def get(self, name: str) -> AgentSpec:
        """The agent called ``name``.

        Raises:
            KeyError: No such agent.
        """
        return self._specs[name]

    @property
    def names(self) -> list[str]:
        """All agent names."""
        return list(self._specs)


def load_registry(path: Path) -> AgentRegistry:
    """Read, validate and resolve the agents file.

    Raises:
        ConfigError: One line saying what is wrong and where.
    """
    where = f"AGENTS_CONFIG {path}"
    try:
        raw = yamltext.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}: not valid YAML{line}") from None
    try:
        parsed = _AgentsFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ())) or "file"
        raise ConfigError(f"{where}: {loc}: {err.get('msg', 'invalid')}") from None
    names = [spec.name for spec in parsed.agents]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{where}: duplicate agent name(s): {', '.join(duplicates)}")
    servers = [s.name for s in parsed.mcp_servers]
    duplicates = sorted({n for n in servers if servers.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{where}: duplicate mcp server name(s): {', '.join(duplicates)}")
    for spec in parsed.agents:
        unknown = [n for n in spec.mcp_servers if n not in servers]
        if unknown:
            raise ConfigError(f"{where}: agent {spec.name!r}: unknown mcp server(s): {', '.join(unknown)}")
        if spec.self_check is not None and spec.role != "builder":
            raise ConfigError(f"{where}: agent {spec.name!r}: self_check is for builders only")
    resolved: list[AgentSpec] = []
    for spec in parsed.agents:
        prompt_path = (path.parent / spec.prompt).resolve()
        try:
            text = prompt_path.read_text(encoding="utf-8")
        except OSError:
            raise ConfigError(f"{where}: agent {spec.name!r}: prompt file not found: {spec.prompt}") from None
        if not text.strip():
            raise ConfigError(f"{where}: agent {spec.name!r}: prompt file is empty: {spec.prompt}")
        resolved.append(spec.model_copy(update={"prompt_text": text.strip()}))
    registry = AgentRegistry(resolved, parsed.mcp_servers)
    for name, role in _REQUIRED.items():
        if name not in registry.names:
            raise ConfigError(f"{where}: the runtime needs an agent named {name!r} (role {role})")
        if registry.get(name).role != role:
            raise ConfigError(f"{where}: agent {name!r} must have role {role!r}")
    return registry
