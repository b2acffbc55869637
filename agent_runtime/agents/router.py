"""The router: a single-turn Strands agent that classifies a first message.

Structured output :class:`RouterDecision`. Any failure — the model erred, answered malformed, or
ran out of cycles — falls back to :func:`fallback_decision` (documented there), never a crash.
Cancellation (stop, reset, budget) is not a failure: it propagates as
:class:`RouterCancelled`.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from pydantic import BaseModel, Field
from strands import Agent
from strands.models.model import Model

from agent_runtime.agents._common import StopCheckHook, agent_kwargs
from agent_runtime.agents.registry import AgentSpec
from agent_runtime.budget import Budget
from agent_runtime.session.cache import SessionEntry
from agent_runtime.session.control import RunControl

__all__ = ["RouterDecision", "RouterCancelled", "classify", "fallback_decision", "GENERAL_REPLY"]

logger = logging.getLogger(__name__)

GENERAL_REPLY = (
    "I'm here to help you build playbooks — step-by-step processes such as client onboarding or "
    "incident response. What process would you like to turn into a playbook?"
)
_PLAYBOOK_WORDS = (
    "playbook",
    "onboard",
    "offboard",
    "process",
    "checklist",
    "workflow",
    "procedure",
    "runbook",
    "module",
    "handoff",
    "review",
    "launch",
    "incident",
    "kickoff",
)


class RouterDecision(BaseModel):
    """Where a message goes: ``playbooks`` (hand off) or ``general`` (answer politely)."""

    domain: Literal["playbooks", "general"]
    handoff_context: Annotated[str, Field(max_length=2_000)] = ""
    reply: Annotated[str, Field(max_length=2_000)] | None = None


class RouterCancelled(Exception):
    """The router was cancelled (stop, reset or budget) before it decided."""


def fallback_decision(prompt: str) -> RouterDecision:
    """The safe answer when classification fails.

    A message that clearly talks about a process (playbook, onboarding, checklist, workflow, …)
    goes to the orchestrator with no handoff context — losing a playbook request would be worse
    than an extra orchestrator turn; anything else gets the polite general reply.
    """
    lowered = prompt.lower()
    if any(word in lowered for word in _PLAYBOOK_WORDS):
        return RouterDecision(domain="playbooks", handoff_context="")
    return RouterDecision(domain="general", reply=GENERAL_REPLY)


async def classify(
    prompt: str,
    *,
    entry: SessionEntry,
    spec: AgentSpec,
    model: Model,
    control: RunControl,
    budget: Budget,
) -> RouterDecision:
    """Classify ``prompt`` with a fresh single-turn router agent.

    Raises:
        RouterCancelled: The run was cancelled meanwhile.
    """
    agent = Agent(
        model=model,
        system_prompt=spec.prompt_text,
        tools=[],
        **agent_kwargs(
            name=spec.name,
            agent_type="router",
            session_id=entry.session_id,
            user_id=entry.user_id,
            vendor_id=entry.vendor_id,
            run_id=control.run_id,
            hooks=[StopCheckHook(control.cancel_event)],
            spec=spec,
        ),
    )
    control.attach(agent)
    try:
        result = await agent.invoke_async(
            prompt,
            structured_output_model=RouterDecision,
            limits=budget.limits(),
            cancel_signal=control.cancel_event,
        )
    except Exception as exc:  # a failed classification must never fail the turn
        if control.cancelled:
            raise RouterCancelled() from None
        logger.warning(
            "session_id=<%s>, error=<%s> | router failed, using the fallback", entry.session_id, exc
        )
        return fallback_decision(prompt)
    finally:
        control.detach(agent)
    if control.cancelled or result.stop_reason == "cancelled":
        raise RouterCancelled()
    decision = result.structured_output
    if not isinstance(decision, RouterDecision):
        logger.warning("session_id=<%s> | router gave no decision, using the fallback", entry.session_id)
        return fallback_decision(prompt)
    if decision.domain == "general" and not (decision.reply or "").strip():
        decision = decision.model_copy(update={"reply": GENERAL_REPLY})
    return decision
