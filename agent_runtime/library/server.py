"""The MCP server: four read-only tools over one vendor's playbooks and policies.

The vendor is fixed when the server is built (from the process environment the runtime set from
the verified token); the tools have no vendor parameter, so a model cannot ask for another
vendor's data — an id or a name that is not this vendor's reads as "not found".
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field
from sqlalchemy.exc import SQLAlchemyError

from agent_runtime.library.policies import PolicyFolder
from agent_runtime.library.store import PlaybookStore

__all__ = ["SERVER_NAME", "TOOL_NAMES", "build_server"]

logger = logging.getLogger(__name__)

SERVER_NAME = "playbook_library"
TOOL_NAMES = ("search_playbooks", "get_playbook", "list_policies", "get_policy")

_INSTRUCTIONS = (
    "The vendor's own library: saved playbooks (title, modules, tasks, steps) and policies/templates "
    "(Markdown). Use it when the person says 'based on our … playbook' or names a policy, and cite the "
    "policy a step follows."
)


def build_server(store: PlaybookStore, policies: PolicyFolder) -> MCPServer:
    """The library server for the vendor ``store`` and ``policies`` are bound to."""
    server: MCPServer = MCPServer(SERVER_NAME, instructions=_INSTRUCTIONS, log_level="WARNING")

    @server.tool(
        description="Search the vendor's saved playbooks by topic; returns ids, titles and module titles."
    )
    def search_playbooks(
        query: Annotated[str, Field(max_length=200, description="What the playbook is about")],
        limit: Annotated[int, Field(ge=1, le=10)] = 5,
    ) -> dict[str, Any]:
        try:
            hits = store.search(query, limit)
        except SQLAlchemyError:
            logger.exception("vendor_id=<%s> | playbook search failed", store.vendor_id)
            raise ToolError("the playbook library is unavailable right now") from None
        logger.info("vendor_id=<%s>, hits=<%d> | playbooks searched", store.vendor_id, len(hits))
        return {"query": query, "playbooks": [hit.to_dict() for hit in hits]}

    @server.tool(
        description="Read one saved playbook (from search_playbooks) with its modules, tasks and steps."
    )
    def get_playbook(playbook_id: Annotated[int, Field(ge=1)]) -> dict[str, Any]:
        try:
            found = store.read(playbook_id)
        except SQLAlchemyError:
            logger.exception("vendor_id=<%s> | playbook read failed", store.vendor_id)
            raise ToolError("the playbook library is unavailable right now") from None
        if found is None:
            raise ToolError(f"no playbook {playbook_id} in your library")
        return found

    @server.tool(description="List the vendor's policies and templates (Markdown), optionally by topic.")
    def list_policies(
        query: Annotated[str, Field(max_length=200, description="Topic, e.g. 'security'")] = "",
    ) -> dict[str, Any]:
        return {"query": query, "policies": [doc.to_dict() for doc in policies.list(query)]}

    @server.tool(description="Read one policy or template (by the name list_policies gives) as Markdown.")
    def get_policy(name: Annotated[str, Field(min_length=1, max_length=100)]) -> dict[str, Any]:
        found = policies.read(name)
        if found is None:
            raise ToolError(f"no policy named {name!r} in your library")
        return found

    return server
