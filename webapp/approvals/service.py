"""Approval requests: recording a pause, deciding it once, transfers (SLA sweeps: :mod:`.sla`).

Every change is one short write transaction with the audit row (in words) and the notifications it
causes (outbox rows, :mod:`webapp.approvals.notify`), so nothing is lost if the process dies right
after. Exactly one decision wins: a decision is a conditional ``UPDATE … WHERE status = 'open'``;
the loser gets 409 with the winner's decision.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from agent_runtime.contract import ErrorCode

from ..accounts import DESK_NAME
from ..audit import AuditContext, append
from ..errors import ApiError
from ..models import ApprovalRequest, User, UserDesk, utcnow
from .notify import enqueue

__all__ = [
    "DECIDED",
    "Policy",
    "decide",
    "mark_applied",
    "record_requests",
    "request_view",
]

logger = logging.getLogger(__name__)

DECIDED = {"approve": "approved", "reject": "rejected", "add_context": "add_context"}
"""A decision and the status it leaves the request in."""
RISK = {"remove_module": "high", "build_modules": "medium"}
CHANNEL_KEYS = (
    "SMTP_URL",
    "NOTIFY_FROM",
    "APPROVAL_SNS_TOPIC_ARN",
    "APPROVAL_WEBHOOK_URL",
    "PUBLIC_URL",
    "AWS_REGION",
)


@dataclass(frozen=True)
class Policy:
    """Where requests go (from configuration): desk per tool, SLA, escalation desk."""

    default_desk: str
    desks: Mapping[str, str]
    sla_seconds: float
    escalation_desk: str | None
    channels: Mapping[str, Any]
    """The notification settings (``SMTP_URL``, ``NOTIFY_FROM``, ``APPROVAL_SNS_TOPIC_ARN``, …)."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Policy:
        """``APPROVAL_DEFAULT_DESK``, ``APPROVAL_DESKS`` (``tool=desk,…``), ``APPROVAL_SLA_SECONDS``,
        ``APPROVAL_ESCALATION_DESK``."""
        desks = {}
        for item in str(config.get("APPROVAL_DESKS") or "").split(","):
            if "=" in item:
                tool, desk = (part.strip() for part in item.split("=", 1))
                desks[tool] = desk
        return cls(
            default_desk=str(config.get("APPROVAL_DEFAULT_DESK") or "ops-leads"),
            desks=desks,
            sla_seconds=float(config.get("APPROVAL_SLA_SECONDS") or 900),
            escalation_desk=str(config.get("APPROVAL_ESCALATION_DESK") or "") or None,
            channels={key: config.get(key) for key in CHANNEL_KEYS},
        )

    def desk_for(self, tool: str) -> str:
        """The desk that answers requests to run ``tool``."""
        return self.desks.get(tool, self.default_desk)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def record_requests(
    conn: Connection,
    who: AuditContext,
    policy: Policy,
    session_id: str,
    interrupts: list[dict[str, Any]],
    canvas: dict[str, Any],
) -> list[str]:
    """Record the approval requests of a run that paused (idempotent on the request id).

    Args:
        conn: A connection inside the caller's transaction.
        who: The requester.
        policy: The routing configuration.
        session_id: The paused session.
        interrupts: The AG-UI ``Interrupt`` items of ``RUN_FINISHED``'s outcome.
        canvas: The canvas at the pause (the closing ``STATE_SNAPSHOT``), for the operator's context.

    Returns:
        The request ids newly recorded.
    """
    now = utcnow()
    recorded: list[str] = []
    if who.user_email is None and interrupts:  # the relay knows the id only (no read before a stream)
        email = conn.execute(select(User.email).where(User.id == who.user_id)).scalar()
        who = replace(who, user_email=email)
    for item in interrupts:
        raw_meta = item.get("metadata")
        meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
        request_id = str(meta.get("interrupt_id") or item.get("id") or "")[:100]
        if not request_id:
            continue
        exists = conn.execute(
            select(ApprovalRequest.request_id).where(ApprovalRequest.request_id == request_id)
        ).first()
        if exists is not None:
            continue
        tool = str(meta.get("tool") or "")[:64]
        summary = str(meta.get("summary") or item.get("message") or tool)[:200]
        inner = canvas.get("canvas")
        title = str((inner if isinstance(inner, dict) else canvas).get("title") or "the playbook")[:80]
        expires_raw = meta.get("expires_at")
        try:
            expires = datetime.fromisoformat(str(expires_raw).replace("Z", "+00:00"))
        except ValueError:
            expires = now + timedelta(hours=1)
        desk = policy.desk_for(tool)
        values = {
            "request_id": request_id,
            "vendor_id": who.vendor_id,
            "session_id": session_id,
            "requested_by": who.user_id,
            "desk": desk,
            "escalation_desk": policy.escalation_desk,
            "intent_summary": f"{summary[:1].upper()}{summary[1:]} of {title}"[:300],
            "tool": tool,
            "args": meta.get("args") if isinstance(meta.get("args"), dict) else {},
            "risk_level": RISK.get(tool, "low"),
            "canvas": canvas,
            "created_at": now,
            "required_by": min(_aware(expires), now + timedelta(seconds=policy.sla_seconds)),
            "expires_at": _aware(expires),
            "status": "open",
        }
        try:
            with conn.begin_nested():
                conn.execute(insert(ApprovalRequest), values)
        except IntegrityError:
            continue  # recorded meanwhile by another process: idempotent
        append(
            conn,
            who,
            "approval.requested",
            session_id=session_id,
            interrupt_id=request_id,
            subject_type="approval",
            subject_id=request_id,
            context=f"{who.user_email} asked the {desk} desk: {values['intent_summary']}",
            detail={"desk": desk, "tool": tool, "risk_level": values["risk_level"]},
        )
        enqueue(conn, policy.channels, values, "requested", desks=[desk])
        recorded.append(request_id)
    return recorded


def _desks(conn: Connection, user_id: int) -> set[str]:
    return set(conn.execute(select(UserDesk.desk).where(UserDesk.user_id == user_id)).scalars())


def queue_clause(vendor_id: int, desks: set[str]) -> Any:
    """The requests a member of ``desks`` sees: their vendor's, at their desks or escalated to them."""
    return and_(
        ApprovalRequest.vendor_id == vendor_id,
        or_(
            ApprovalRequest.desk.in_(desks),
            and_(ApprovalRequest.escalated_at.is_not(None), ApprovalRequest.escalation_desk.in_(desks)),
        ),
    )


def answering_role(row: ApprovalRequest | Any, desks: set[str]) -> str | None:
    """The desk through which a member of ``desks`` may decide ``row`` (None: not theirs)."""
    if row.desk in desks:
        return str(row.desk)
    if row.escalated_at is not None and row.escalation_desk in desks:
        return str(row.escalation_desk)
    return None


def request_view(row: Any, *, emails: Mapping[int, str], can_decide: bool) -> dict[str, Any]:
    """The API's view of a request."""
    return {
        "request_id": row.request_id,
        "session_id": row.session_id,
        "desk": row.desk,
        "status": row.status,
        "intent_summary": row.intent_summary,
        "tool": row.tool,
        "args": row.args,
        "requested_by": emails.get(row.requested_by, f"user #{row.requested_by}"),
        "required_by": _aware(row.required_by).isoformat(),
        "expires_at": _aware(row.expires_at).isoformat(),
        "risk_level": row.risk_level,
        "escalated": row.escalated_at is not None,
        "escalation_desk": row.escalation_desk,
        "decided_by": emails.get(row.decided_by) if row.decided_by else None,
        "decided_role": row.decided_role,
        "decision_context": row.decision_context,
        "can_decide": can_decide,
        "canvas_summary": _canvas_summary(row.canvas or {}),
    }


def _canvas_summary(snapshot: dict[str, Any]) -> dict[str, Any]:
    inner = snapshot.get("canvas")
    canvas: dict[str, Any] = inner if isinstance(inner, dict) else snapshot
    modules = canvas.get("modules") or []
    return {
        "title": canvas.get("title") or "",
        "phase": snapshot.get("phase"),
        "modules": [
            {"title": m.get("title", ""), "status": m.get("status"), "tasks": len(m.get("tasks") or [])}
            for m in modules[:40]
            if isinstance(m, dict)
        ],
    }


def decide(
    engine: Engine,
    who: AuditContext,
    policy: Policy,
    request_id: str,
    decision: str,
    *,
    desk: str | None = None,
    context: str | None = None,
) -> ApprovalRequest:
    """Record one person's decision (or a transfer to another desk).

    Raises:
        ApiError: 404 (no such request in the caller's vendor), 403 (not a member of its desk),
            400 (bad decision or desk), 409 ``APPROVAL_DECIDED`` with the first decision.
    """
    if decision not in {*DECIDED, "reroute"}:
        raise ApiError(400, ErrorCode.INVALID_PAYLOAD, "decision is approve, reject, reroute or add_context")
    context = (context or "").strip()[:4000] or None
    now = utcnow()
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        row = conn.execute(
            select(ApprovalRequest).where(
                ApprovalRequest.request_id == request_id[:100], ApprovalRequest.vendor_id == who.vendor_id
            )
        ).first()
        if row is None:
            raise ApiError(404, ErrorCode.NOT_FOUND, "no such approval request")
        role = answering_role(row, _desks(conn, int(who.user_id or 0)))
        if role is None:
            raise ApiError(
                403, ErrorCode.APPROVAL_NOT_YOUR_DESK, f"this request waits for the {row.desk} desk"
            )
        if row.status != "open":
            raise _already(row, conn)
        if decision == "reroute":
            target = (desk or "").strip().lower()
            if not DESK_NAME.match(target) or target == row.desk:
                raise ApiError(400, ErrorCode.INVALID_PAYLOAD, "reroute needs another desk's name")
            changed = conn.execute(
                update(ApprovalRequest)
                .where(ApprovalRequest.request_id == row.request_id, ApprovalRequest.status == "open")
                .values(
                    desk=target,
                    escalated_at=None,
                    required_by=min(_aware(row.expires_at), now + timedelta(seconds=policy.sla_seconds)),
                )
            ).rowcount
            if not changed:
                raise _already(row, conn)
            append(
                conn,
                who,
                "approval.rerouted",
                session_id=row.session_id,
                interrupt_id=row.request_id,
                decision="reroute",
                context=f"{who.user_email} ({role}) moved “{row.intent_summary}” from {row.desk} to {target}"
                + (f": {context}" if context else ""),
                subject_type="approval",
                subject_id=row.request_id,
                detail={"from_desk": row.desk, "to_desk": target},
            )
            enqueue(conn, policy.channels, {**row._mapping, "desk": target}, "rerouted", desks=[target])
        else:
            changed = conn.execute(
                update(ApprovalRequest)
                .where(ApprovalRequest.request_id == row.request_id, ApprovalRequest.status == "open")
                .values(
                    status=DECIDED[decision],
                    decided_by=who.user_id,
                    decided_role=role,
                    decided_at=now,
                    decision_context=context,
                )
            ).rowcount
            if not changed:
                raise _already(row, conn)
            append(
                conn,
                who,
                "approval.decided",
                session_id=row.session_id,
                interrupt_id=row.request_id,
                decision=decision,
                context=(
                    f"{who.user_email} ({role}) decided {decision.replace('_', ' ')} on "
                    f"“{row.intent_summary}”" + (f": {context}" if context else "")
                ),
                subject_type="approval",
                subject_id=row.request_id,
                detail={"desk": role},
            )
            enqueue(conn, policy.channels, dict(row._mapping), "decided", requester=True, decision=decision)
        fresh = conn.execute(
            select(ApprovalRequest).where(ApprovalRequest.request_id == row.request_id)
        ).one()
    logger.info(
        "request_id=<%s>, user_id=<%s>, decision=<%s> | approval decided", request_id, who.user_id, decision
    )
    return fresh  # type: ignore[return-value]


def _already(row: Any, conn: Connection) -> ApiError:
    fresh = conn.execute(select(ApprovalRequest).where(ApprovalRequest.request_id == row.request_id)).one()
    who = (
        conn.execute(select(User.email).where(User.id == fresh.decided_by)).scalar()
        if fresh.decided_by
        else None
    )
    return ApiError(
        409,
        ErrorCode.APPROVAL_DECIDED,
        f"this request is already {fresh.status}" + (f" by {who}" if who else ""),
        {"decision": {"status": fresh.status, "decided_by": who, "desk": fresh.decided_role}},
    )


def mark_applied(engine: Engine, request_id: str) -> None:
    """The paused session has been resumed with the decision."""
    with engine.begin() as conn:
        conn.execute(
            update(ApprovalRequest)
            .where(ApprovalRequest.request_id == request_id, ApprovalRequest.applied_at.is_(None))
            .values(applied_at=utcnow())
        )
