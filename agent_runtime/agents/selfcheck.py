"""The builder's bounded self-check, as a Strands hook on the builder agent.

When the builder's agent finishes (``end_turn``), :class:`ModuleSelfCheck` checks the module on the
canvas against the configured rules (:func:`~agent_runtime.agents.checker.check_module`) inside
the builder's own trace (an OpenTelemetry span ``module_self_check`` under the agent span), streams
the result as ``CUSTOM module.check`` progress, and — while findings remain, fewer than
``max_repair_rounds`` repairs were asked for, the run is not cancelled (stop or token budget) and
its time budget is not spent — resumes the same agent (Strands' ``AfterInvocationEvent.resume``)
with the findings and the module as it stands. :meth:`ModuleSelfCheck.verdict` then says how the
module ends: ``built`` (with a note of what was repaired) or ``built_with_warnings``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import trace as trace_api
from strands.hooks import AfterInvocationEvent, HookProvider, HookRegistry

from agent_runtime.agents.checker import CheckRules, check_module
from agent_runtime.contract import ModuleSpec, ModuleStatus, ToolName
from agent_runtime.messages import render_context
from agent_runtime.models.offline.repair import REPAIR_MARKER  # how a repair prompt starts (offline model)
from agent_runtime.session.control import RunControl

__all__ = ["ModuleSelfCheck", "repair_prompt", "REPAIR_MARKER"]

logger = logging.getLogger(__name__)
_tracer = trace_api.get_tracer("agent_runtime.selfcheck")

_MAX_LISTED = 8


def repair_prompt(index: int, module: ModuleSpec, findings: list[str]) -> str:
    """What the builder is told when its module fails the check (ends with the module as JSON)."""
    listed = "\n".join(f"- {f}" for f in findings[:_MAX_LISTED])
    more = f"\n- …and {len(findings) - _MAX_LISTED} more" if len(findings) > _MAX_LISTED else ""
    return (
        f"{REPAIR_MARKER} {index} ({module.title}) found problems:\n{listed}{more}\n\n"
        f"Fix them with one call to {ToolName.SET_MODULE_TASKS.value}(module_index={index}, tasks=[...]) "
        "giving the whole corrected list of tasks with their steps (keep what was already fine), "
        "then stop. The module now:\n"
        + render_context({"module_index": index, "module": module.model_dump(mode="json")})
    )


class ModuleSelfCheck(HookProvider):
    """Checks one builder's module after each of its invocations and asks for bounded repairs."""

    def __init__(
        self,
        *,
        index: int,
        rules: CheckRules,
        read_module: Callable[[], ModuleSpec | None],
        report: Callable[[dict[str, Any]], None],
        control: RunControl,
        deadline: float,
    ) -> None:
        """Bind to one module.

        Args:
            index: The module index.
            rules: The rules and ``max_repair_rounds``.
            read_module: The module as it is on the canvas now (``None`` if it is gone).
            report: Streams a ``module.check`` value.
            control: The build's control (no repair once it is cancelled).
            deadline: ``time.monotonic()`` after which no repair round starts (the time budget).
        """
        self.index = index
        self.rules = rules
        self._read = read_module
        self._report = report
        self._control = control
        self._deadline = deadline
        self.repairs = 0
        self.repaired: list[str] = []
        self.remaining: list[str] | None = None
        """Findings of the last check (``None``: never checked)."""

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        """Check after every invocation."""
        registry.add_callback(AfterInvocationEvent, self._after_invocation)

    def _after_invocation(self, event: AfterInvocationEvent) -> None:
        result = event.result
        if result is None or str(result.stop_reason) != "end_turn" or self._control.cancelled:
            return
        module = self._read()
        if module is None or not module.tasks:
            return  # nothing to check: the builder reports that itself
        with _tracer.start_as_current_span("module_self_check") as span:
            findings = check_module(module, self.rules)
            span.set_attributes(
                {
                    **{str(k): str(v) for k, v in (event.agent.trace_attributes or {}).items()},
                    "module_index": self.index,
                    "playbook.check.round": self.repairs,
                    "playbook.check.passed": not findings,
                    "playbook.check.findings": len(findings),
                }
            )
            for finding in findings[:_MAX_LISTED]:
                span.add_event("finding", {"text": finding})
        self.remaining = findings
        repair = bool(findings) and self._may_repair()
        self._report(
            {
                "module_index": self.index,
                "round": self.repairs,
                "passed": not findings,
                "findings": findings[:_MAX_LISTED],
                "repairing": repair,
            }
        )
        logger.info(
            "module_index=<%d>, round=<%d>, findings=<%d>, repairing=<%s> | module self-check",
            self.index,
            self.repairs,
            len(findings),
            repair,
        )
        if repair:
            self.repairs += 1
            self.repaired.extend(findings)
            event.resume = repair_prompt(self.index, module, findings)

    def _may_repair(self) -> bool:
        return (
            self.repairs < self.rules.max_repair_rounds
            and not self._control.cancelled
            and time.monotonic() < self._deadline
        )

    def verdict(self) -> tuple[ModuleStatus, str | None]:
        """How the module ends: ``built`` (maybe with a repair note) or ``built_with_warnings``."""
        if self.remaining:
            shown = "; ".join(self.remaining[:3])
            more = f" (+{len(self.remaining) - 3} more)" if len(self.remaining) > 3 else ""
            return ModuleStatus.BUILT_WITH_WARNINGS, f"Self-check warnings: {shown}{more}"
        if self.repairs:
            rounds = "round" if self.repairs == 1 else "rounds"
            return (
                ModuleStatus.BUILT,
                f"Self-check repaired {len(self.repaired)} finding(s) in {self.repairs} {rounds}: "
                + "; ".join(self.repaired[:3]),
            )
        return ModuleStatus.BUILT, None
