"""What each invocation action does once the dispatcher has authenticated it.

The dispatcher uses this package's face: :class:`TurnRunner` (one turn at a time per session) and
:func:`refusal` (the one-frame stream of a refused invocation); the ``_`` modules stay private.
"""

from agent_runtime.actions._refusal import refusal
from agent_runtime.actions._turn import TurnRunner

__all__ = ["TurnRunner", "refusal"]
