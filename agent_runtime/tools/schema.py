"""Tool specs for the canvas tools, from the contract's pydantic argument schemas."""

from __future__ import annotations

import copy
import functools
from typing import Any

from strands.types.tools import ToolSpec

from agent_runtime.contract import TOOL_ARGS, ToolName

__all__ = ["DESCRIPTIONS", "tool_spec"]

DESCRIPTIONS: dict[str, str] = {
    ToolName.SET_PLAYBOOK_OUTLINE: (
        "Replace the canvas with a new playbook outline: a title, a description and its modules "
        "(title and description each). Every module starts pending with no tasks."
    ),
    ToolName.UPDATE_PLAYBOOK: "Change the playbook's title and/or description.",
    ToolName.ADD_MODULE: "Insert a module at a zero-based position (default: at the end).",
    ToolName.UPDATE_MODULE: "Rename or re-describe the module at a zero-based index.",
    ToolName.REMOVE_MODULE: "Remove the module at a zero-based index, with its tasks.",
    ToolName.MOVE_MODULE: "Move a module from one zero-based position to another.",
    ToolName.BUILD_MODULES: (
        "Build modules in the background: each gets tasks and steps from a module builder. "
        "Omit module_indices to build every module that is not built yet. Returns at once."
    ),
    ToolName.SUGGEST_REPLIES: "Offer the person up to four short replies as clickable chips.",
    ToolName.ADD_TASKS: "Append tasks (each with its steps) to your module.",
    ToolName.ADD_TASK_STEP: "Append one step to a task of your module (zero-based task index).",
    ToolName.SET_MODULE_TASKS: (
        "Replace all tasks (with their steps) of your module: the whole corrected list, to repair it."
    ),
    ToolName.UPDATE_TASK: "Rename or re-describe one task (zero-based module and task indices).",
    ToolName.REMOVE_TASK: "Remove one task, with its steps (zero-based module and task indices).",
    ToolName.UNDO_LAST_CHANGE: (
        "Undo the last change to the canvas (a chat turn's changes, a direct edit by the person, or a "
        "whole build): the canvas goes back to how it was before it. Use it when the person says "
        "undo / revert that / go back."
    ),
    ToolName.REDO_LAST_CHANGE: "Redo the change the last undo took back. Use it when the person says redo.",
}


def tool_spec(name: str) -> ToolSpec:
    """The Strands tool spec for a canvas tool: its description and the inlined JSON schema.

    Built once per tool and shared: the schema is already in the normalised form Strands' tool
    registry would otherwise fill in, so registering it never mutates the shared object.
    """
    return _cached_spec(str(name))


@functools.cache
def _cached_spec(name: str) -> ToolSpec:
    schema = _inline_refs(TOOL_ARGS[name].model_json_schema())
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    schema.setdefault("required", [])
    for prop_name, prop in schema["properties"].items():
        prop.setdefault("description", f"Property {prop_name}")
    return {"name": name, "description": DESCRIPTIONS[name], "inputSchema": {"json": schema}}


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace ``$ref`` to ``$defs`` with the definitions (some providers reject references)."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                target = copy.deepcopy(defs[ref.split("/")[-1]])
                merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
                return resolve(merged)
            return {k: resolve(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)
