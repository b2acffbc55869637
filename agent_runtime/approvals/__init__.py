"""Human approval: which tool calls wait for a person, the pending interrupts, and the hook."""

from agent_runtime.approvals.pending import (
    APPROVAL_INTERRUPT,
    ClosedStatus,
    InterruptBook,
    PendingInterrupt,
)
from agent_runtime.approvals.rules import (
    DEFAULT_APPROVAL_RULES,
    ApprovalMatch,
    ApprovalRule,
    RuleError,
    evaluate,
    parse_rules,
)

__all__ = [
    "APPROVAL_INTERRUPT",
    "DEFAULT_APPROVAL_RULES",
    "ApprovalMatch",
    "ApprovalRule",
    "ClosedStatus",
    "InterruptBook",
    "PendingInterrupt",
    "RuleError",
    "evaluate",
    "parse_rules",
]
