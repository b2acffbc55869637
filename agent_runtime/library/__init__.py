"""The playbook library: an MCP server (official ``mcp`` SDK) over the vendor's saved playbooks and policies.

Started by the runtime over stdio, one process per vendor, with the vendor bound in the process
environment from the session's verified token (``PLAYBOOK_LIBRARY_VENDOR_ID``): no tool takes a
vendor argument, so nothing the model writes can reach another vendor's data. It reads the web
app's tables with plain SQLAlchemy Core (:mod:`agent_runtime.library.store`, never ``webapp``)
and the vendor's Markdown policies and templates from ``<POLICIES_DIR>/<vendor_id>/``
(:mod:`agent_runtime.library.policies`). Run it with ``python -m agent_runtime.library``.
"""

from agent_runtime.library.server import SERVER_NAME, TOOL_NAMES, build_server

__all__ = ["SERVER_NAME", "TOOL_NAMES", "build_server"]
