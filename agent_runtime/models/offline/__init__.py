"""The deterministic offline "model": a planner that needs no network.

The runtime's Strands model adapter replays these replies as model responses, so the real agent
loop runs with real tool calls. See :func:`plan_turn` (orchestrator), :func:`classify` (router)
and :func:`plan_module` (module builders).
"""

from ._types import Reply, ToolCall
from .archetypes import ARCHETYPES, Archetype, choose_archetype
from .builder_plan import plan_module
from .planner import outline_text, plan_resume, plan_turn
from .router import classify

__all__ = [
    "ARCHETYPES",
    "Archetype",
    "Reply",
    "ToolCall",
    "choose_archetype",
    "classify",
    "outline_text",
    "plan_module",
    "plan_resume",
    "plan_turn",
]
