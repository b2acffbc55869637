"""Trace attribute names and the helper that builds them for one agent.

Imports nothing heavy, so any part of the runtime (and tests) can use it.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Span attribute keys carried by every agent span (agent loop, cycle, model, tool).
SESSION_ID = "session.id"
USER_ID = "user.id"
VENDOR_ID = "vendor_id"
AGENT_TYPE = "agent_type"
RUN_ID = "run_id"
MODULE_INDEX = "module_index"

#: Per-run numbers the observability hook adds to the agent (root) span of each invocation.
RUN_LATENCY_MS = "playbook.run.latency_ms"
RUN_INPUT_TOKENS = "playbook.run.input_tokens"
RUN_OUTPUT_TOKENS = "playbook.run.output_tokens"
RUN_TOTAL_TOKENS = "playbook.run.total_tokens"
RUN_MODEL_CALLS = "playbook.run.model_calls"

#: The keys that correlate one session's traces (the orchestrator's and every builder's).
CORRELATION_KEYS: tuple[str, ...] = (SESSION_ID, USER_ID, VENDOR_ID, AGENT_TYPE, RUN_ID)


def agent_trace_attributes(
    *,
    session_id: str,
    user_id: int | str,
    vendor_id: int | str,
    agent_type: str,
    run_id: str | None = None,
    extra: Mapping[str, str | int] | None = None,
) -> dict[str, str]:
    """Build the trace attributes one agent carries on all of its spans.

    Pass the result as Strands ``Agent(trace_attributes=...)``; Strands copies it onto the agent
    span, every event-loop cycle span, every model-invoke span and every tool span.

    Args:
        session_id: The session's UUID (``runtimeSessionId``).
        user_id: The authenticated user's id from the token.
        vendor_id: The user's vendor id from the token.
        agent_type: ``router``, ``orchestrator`` or ``builder`` (the role).
        run_id: The AG-UI run id of the current turn, if known. Agents that live across turns get
            the current run id from :func:`agent_runtime.telemetry.log_context` via
            :class:`AgentObservabilityHook` instead.
        extra: Further string attributes (e.g. ``{"module_index": 2}`` for a builder).

    Returns:
        A mapping of attribute name to string value (all values are strings so that they are
        searchable the same way in MLflow and CloudWatch).
    """
    attrs = {
        SESSION_ID: str(session_id),
        USER_ID: str(user_id),
        VENDOR_ID: str(vendor_id),
        AGENT_TYPE: str(agent_type),
    }
    if run_id:
        attrs[RUN_ID] = str(run_id)
    for key, value in (extra or {}).items():
        attrs[str(key)] = str(value)
    return attrs
