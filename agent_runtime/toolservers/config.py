"""How ``agents.yaml`` declares an MCP server (``mcp_servers:``) and how its values are resolved.

A server is reached by stdio (``command`` + ``args``) or streamable HTTP (``url`` + ``headers``).
String values may use ``${NAME}`` / ``${NAME:-default}`` (the runtime's environment) and
``${PYTHON}`` (the runtime's own interpreter). A stdio child gets only ``env`` (plus the MCP
SDK's minimal defaults such as ``PATH``), never the runtime's secrets.

``vendor_env`` makes a stdio server per-vendor: one process per vendor, started with that
variable set to the vendor id from the session's verified token — how the playbook library
enforces tenant isolation without any tool argument. Without it one connection serves every
session.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["McpServerSpec", "interpolate"]

_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def interpolate(value: str, environ: Mapping[str, str]) -> str:
    """Replace ``${NAME}``, ``${NAME:-default}`` and ``${PYTHON}`` in ``value``.

    Raises:
        KeyError: A variable without a default is not set.
    """

    def one(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        if name == "PYTHON" and name not in environ:
            return sys.executable
        found = environ.get(name)
        if found is None or found == "":
            if default is None:
                raise KeyError(name)
            return default
        return found

    return _VAR.sub(one, value)


class McpServerSpec(BaseModel):
    """One MCP server as ``agents.yaml`` declares it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
    description: str = ""
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    vendor_env: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,63}$")] | None = None
    allowed_tools: tuple[str, ...] = ()
    """Only these tools reach the agents (empty: every tool the server lists)."""
    startup_timeout_seconds: Annotated[int, Field(ge=1, le=300)] = 20
    call_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    optional: bool = False
    """When it cannot start: ``False`` ends the turn with ``RUN_ERROR``; ``True`` runs without it."""

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSpec:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either command (stdio) or url (streamable HTTP)")
        if self.url is not None and not self.url.startswith(("http://", "https://", "${")):
            raise ValueError("url must be http:// or https://")
        if self.url is not None and self.vendor_env:
            raise ValueError("vendor_env needs a stdio server (command)")
        return self

    @property
    def transport(self) -> str:
        """``stdio`` or ``streamable-http``."""
        return "stdio" if self.command is not None else "streamable-http"
