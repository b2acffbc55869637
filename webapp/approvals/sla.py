"""The approval SLA sweeps the worker runs: escalate requests past their SLA, expire those past expiry.

Each sweep is one write transaction; every change carries its audit row (in words) and the
notifications it causes (outbox rows, :mod:`webapp.approvals.notify`), like the rest of
:mod:`webapp.approvals.service`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select, update

from ..audit import AuditContext, append
from ..models import ApprovalRequest, utcnow
from .notify import enqueue
from .service import Policy

__all__ = ["escalate_due", "expire_due"]


def escalate_due(engine: Engine, policy: Policy, now: datetime | None = None) -> list[str]:
    """Escalate every open request past its SLA (once each); audited and notified."""
    now = now or utcnow()
    done = []
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        rows = conn.execute(
            select(ApprovalRequest).where(
                ApprovalRequest.status == "open",
                ApprovalRequest.escalated_at.is_(None),
                ApprovalRequest.required_by <= now,
                ApprovalRequest.expires_at > now,
            )
        ).all()
        for row in rows:
            changed = conn.execute(
                update(ApprovalRequest)
                .where(ApprovalRequest.request_id == row.request_id, ApprovalRequest.escalated_at.is_(None))
                .values(escalated_at=now)
            ).rowcount
            if not changed:
                continue
            target = row.escalation_desk or row.desk
            append(
                conn,
                AuditContext(user_id=None, vendor_id=row.vendor_id, user_email="scheduler"),
                "approval.escalated",
                session_id=row.session_id,
                interrupt_id=row.request_id,
                context=f"“{row.intent_summary}” was not decided by the {row.desk} desk in time; "
                f"escalated to {target}",
                subject_type="approval",
                subject_id=row.request_id,
                detail={"desk": row.desk, "escalation_desk": target},
            )
            enqueue(conn, policy.channels, dict(row._mapping), "escalated", desks=sorted({row.desk, target}))
            done.append(row.request_id)
    return done


def expire_due(engine: Engine, policy: Policy, now: datetime | None = None) -> list[str]:
    """Auto-reject every open request past its expiry; audited and notified (the requester too)."""
    now = now or utcnow()
    done = []
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        rows = conn.execute(
            select(ApprovalRequest).where(ApprovalRequest.status == "open", ApprovalRequest.expires_at <= now)
        ).all()
        for row in rows:
            changed = conn.execute(
                update(ApprovalRequest)
                .where(ApprovalRequest.request_id == row.request_id, ApprovalRequest.status == "open")
                .values(status="expired", decided_at=now)
            ).rowcount
            if not changed:
                continue
            append(
                conn,
                AuditContext(user_id=None, vendor_id=row.vendor_id, user_email="scheduler"),
                "approval.expired",
                session_id=row.session_id,
                interrupt_id=row.request_id,
                decision="reject",
                context=f"“{row.intent_summary}” expired undecided and was rejected automatically",
                subject_type="approval",
                subject_id=row.request_id,
            )
            enqueue(conn, policy.channels, dict(row._mapping), "expired", requester=True, desks=[row.desk])
            done.append(row.request_id)
    return done
