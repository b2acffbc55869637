"""Approval rules: which orchestrator tool calls pause for a person (configuration, not code).

``APPROVAL_RULES`` is a comma-separated list of ``tool:condition`` items; a call that matches any
item waits for a person's decision. Conditions:

* ``always`` — every call of that tool;
* ``count>N`` / ``count>=N`` — the call affects more than (at least) ``N`` modules. For
  ``build_modules`` that is the modules it would build (all unbuilt ones when it names none);
  for any other tool it is 1;
* ``has_tasks`` — the module the call names (``module_index``) already has tasks.

``${NAME}`` placeholders are replaced from the values given to :func:`parse_rules` (the runtime
passes ``APPROVAL_BUILD_THRESHOLD``). The default is
``build_modules:count>${APPROVAL_BUILD_THRESHOLD},remove_module:has_tasks``; ``none`` turns
approvals off. Pure code: no strands, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agent_runtime.contract import TOOL_ARGS, ModuleStatus, ToolName
from agent_runtime.errors import ConfigError

__all__ = [
    "DEFAULT_APPROVAL_RULES",
    "ApprovalMatch",
    "ApprovalRule",
    "RuleError",
    "evaluate",
    "parse_rules",
]

DEFAULT_APPROVAL_RULES = "build_modules:count>${APPROVAL_BUILD_THRESHOLD},remove_module:has_tasks"

_PLACEHOLDER = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
_CONDITION = re.compile(r"^(?:(?P<simple>always|has_tasks)|count(?P<op>>=|>)(?P<n>\d+))$")

Condition = Literal["always", "has_tasks", "count"]


class RuleError(ConfigError, ValueError):
    """``APPROVAL_RULES`` does not parse; the message says which item and why."""


@dataclass(frozen=True)
class ApprovalRule:
    """One ``tool:condition`` item.

    Attributes:
        tool: The tool name on the wire.
        condition: ``always``, ``has_tasks`` or ``count``.
        threshold: For ``count``: the smallest count that matches.
        text: The item as configured (after substitution), e.g. ``build_modules:count>8``.
    """

    tool: str
    condition: Condition
    threshold: int = 0
    text: str = ""


@dataclass(frozen=True)
class ApprovalMatch:
    """A call that needs approval.

    Attributes:
        rule: The rule's text (the interrupt's ``reason``).
        message: The question shown to the person.
        summary: A few words naming the action ("build 12 modules"), for the assistant's reply.
    """

    rule: str
    message: str
    summary: str

    def to_dict(self) -> dict[str, str]:
        """JSON form (kept as the Strands interrupt's ``reason``)."""
        return {"rule": self.rule, "message": self.message, "summary": self.summary}


def parse_rules(text: str, values: Mapping[str, int | str] | None = None) -> tuple[ApprovalRule, ...]:
    """Parse ``APPROVAL_RULES``.

    Args:
        text: The configured value.
        values: Placeholder values (``${NAME}``).

    Returns:
        The rules, in order (empty for a blank value or ``none``).

    Raises:
        RuleError: An unknown placeholder, tool or condition.
    """
    values = values or {}
    if (text or "").strip().lower() in {"", "none", "off"}:
        return ()

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise RuleError(f"unknown placeholder ${{{name}}}")
        return str(values[name])

    rules: list[ApprovalRule] = []
    for raw in _PLACEHOLDER.sub(substitute, text or "").split(","):
        item = raw.strip()
        if not item:
            continue
        tool, sep, condition = (part.strip() for part in item.partition(":"))
        if not sep:
            raise RuleError(f"{item!r} is not tool:condition")
        if tool not in TOOL_ARGS:
            raise RuleError(f"{item!r}: unknown tool {tool!r}")
        match = _CONDITION.match(condition.replace(" ", ""))
        if match is None:
            raise RuleError(f"{item!r}: condition must be always, has_tasks, count>N or count>=N")
        text_form = f"{tool}:{condition.replace(' ', '')}"
        if match.group("simple"):
            rules.append(ApprovalRule(tool, match.group("simple"), 0, text_form))  # type: ignore[arg-type]
        else:
            n = int(match.group("n"))
            rules.append(ApprovalRule(tool, "count", n + 1 if match.group("op") == ">" else n, text_form))
    return tuple(rules)


def evaluate(
    rules: Sequence[ApprovalRule], tool: str, args: Any, canvas: Mapping[str, Any]
) -> ApprovalMatch | None:
    """The first rule a call matches, or ``None``.

    Never raises: arguments the canvas would refuse match nothing (the tool refuses them itself).

    Args:
        rules: The parsed rules.
        tool: The tool name.
        args: The call's arguments as the model sent them.
        canvas: The playbook as JSON (``PlaybookSpec`` dump) at the time of the call.
    """
    if not isinstance(args, dict):
        return None
    modules = [m for m in canvas.get("modules") or [] if isinstance(m, dict)]
    for rule in rules:
        if rule.tool != tool:
            continue
        found = _check(rule, tool, args, modules)
        if found is not None:
            return found
    return None


def _check(
    rule: ApprovalRule, tool: str, args: dict[str, Any], modules: list[dict[str, Any]]
) -> ApprovalMatch | None:
    if rule.condition == "always":
        return ApprovalMatch(rule.text, f"Run {tool.replace('_', ' ')}?", tool.replace("_", " "))
    if rule.condition == "count":
        count = _affected(tool, args, modules)
        if count is None or count < rule.threshold:
            return None
        if tool == ToolName.BUILD_MODULES:
            return ApprovalMatch(
                rule.text,
                f"Build {count} modules at once? That starts {count} module builders.",
                f"build {count} modules",
            )
        return ApprovalMatch(
            rule.text, f"Run {tool.replace('_', ' ')} on {count} modules?", tool.replace("_", " ")
        )
    index = args.get("module_index")
    if not isinstance(index, int) or not 0 <= index < len(modules):
        return None
    module = modules[index]
    tasks = len(module.get("tasks") or [])
    if tasks == 0:
        return None
    title = str(module.get("title", f"module {index + 1}"))
    if tool == ToolName.REMOVE_MODULE:
        return ApprovalMatch(
            rule.text,
            f"Remove module {index + 1} “{title}”? It already has {tasks} task{'s' * (tasks != 1)}, "
            "which would be lost.",
            f"remove module {index + 1} “{title}” and its {tasks} task{'s' * (tasks != 1)}",
        )
    return ApprovalMatch(
        rule.text,
        f"Run {tool.replace('_', ' ')} on module {index + 1} “{title}”, which already has tasks?",
        f"{tool.replace('_', ' ')} module {index + 1}",
    )


def _affected(tool: str, args: dict[str, Any], modules: list[dict[str, Any]]) -> int | None:
    if tool != ToolName.BUILD_MODULES:
        return 1
    indices = args.get("module_indices")
    if indices is None:
        return sum(1 for m in modules if m.get("status") != ModuleStatus.BUILT.value)
    if not isinstance(indices, list) or not all(isinstance(i, int) for i in indices):
        return None
    return len({i for i in indices if 0 <= i < len(modules)})
