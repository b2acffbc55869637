"""``/approvals`` (the operator queue page), ``/api/approvals`` and the resume hook of the run proxy."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from agent_runtime.contract import ErrorCode

from ..accounts import desks_of
from ..audit import current_context
from ..errors import ApiError
from ..extensions import db
from ..models import ApprovalRequest, User
from .service import DECIDED, Policy, answering_role, decide, mark_applied, queue_clause, request_view

__all__ = ["bp", "policy", "recorded_decision"]

bp = Blueprint("approvals", __name__)

_OPEN = ("open",)


def policy() -> Policy:
    """The routing configuration of this app."""
    return Policy.from_config(current_app.config)


def _emails(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        uid: email for uid, email in db.session.execute(select(User.id, User.email).where(User.id.in_(ids)))
    }


def _views(rows: list[ApprovalRequest], desks: set[str]) -> list[dict[str, Any]]:
    emails = _emails({r.requested_by for r in rows} | {r.decided_by for r in rows if r.decided_by})
    return [request_view(r, emails=emails, can_decide=answering_role(r, desks) is not None) for r in rows]


@bp.get("/approvals")
@login_required
def page() -> Any:
    """The queue of the caller's desks (the page refreshes itself from the API every 2 s)."""
    desks = desks_of(db.session, current_user.id)
    rows = _queue(desks) if desks else []
    return render_template("approvals/queue.html", desks=sorted(desks), approvals=_views(rows, desks))


def _queue(desks: set[str], statuses: tuple[str, ...] = _OPEN) -> list[ApprovalRequest]:
    return list(
        db.session.scalars(
            select(ApprovalRequest)
            .where(queue_clause(current_user.vendor_id, desks), ApprovalRequest.status.in_(statuses))
            .order_by(ApprovalRequest.created_at.desc())
            .limit(200)
        )
    )


@bp.get("/api/approvals")
@login_required
def api_queue() -> Any:
    """``{"approvals": [...]}``: open requests at the caller's desks (their vendor only), newest first."""
    desks = desks_of(db.session, current_user.id)
    return jsonify({"approvals": _views(_queue(desks), desks) if desks else [], "desks": sorted(desks)})


@bp.get("/api/approvals/<request_id>")
@login_required
def api_request(request_id: str) -> Any:
    """One request, for its requester or a member of its desk (404 for anyone else)."""
    row = db.session.scalar(
        select(ApprovalRequest).where(
            ApprovalRequest.request_id == request_id[:100],
            ApprovalRequest.vendor_id == current_user.vendor_id,
        )
    )
    desks = desks_of(db.session, current_user.id)
    if row is None or (row.requested_by != current_user.id and answering_role(row, desks) is None):
        raise ApiError(404, ErrorCode.NOT_FOUND, "no such approval request")
    return jsonify(_views([row], desks)[0])


@bp.post("/api/approvals/<request_id>/decision")
@login_required
def api_decide(request_id: str) -> Any:
    """``{"decision": "approve"|"reject"|"reroute"|"add_context", "desk"?, "context"?}``."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, ErrorCode.INVALID_PAYLOAD, "the body must be a JSON object")
    who = current_context()
    assert who is not None  # login_required
    row = decide(
        db.engine,
        who,
        policy(),
        request_id,
        str(body.get("decision") or ""),
        desk=body.get("desk") if isinstance(body.get("desk"), str) else None,
        context=body.get("context") if isinstance(body.get("context"), str) else None,
    )
    return jsonify(_views([row], desks_of(db.session, current_user.id))[0])


def recorded_decision(sid: str, body: dict[str, Any]) -> dict[str, Any]:
    """The resume hook: a ``resume_interrupt`` for a recorded request carries the recorded decision.

    * no request recorded for this interrupt (approvals predating the queue): ``body`` unchanged;
    * open, and the caller answers for its desk: their decision is recorded first (exactly once);
    * open, and the caller does not: 403 ``APPROVAL_WAITING`` naming the desk;
    * decided by someone: the decision, context and envelope recorded then are forwarded;
    * expired: 409 ``INTERRUPT_EXPIRED``.

    Raises:
        ApiError: as above, or 409 ``APPROVAL_DECIDED`` when another decision won meanwhile.
    """
    interrupt_id = str(body.get("interrupt_id") or "")[:100]
    row = db.session.scalar(
        select(ApprovalRequest).where(
            ApprovalRequest.request_id == interrupt_id,
            ApprovalRequest.session_id == sid,
            ApprovalRequest.vendor_id == current_user.vendor_id,
        )
    )
    if row is None:
        return body
    if row.status == "open":
        desks = desks_of(db.session, current_user.id)
        if answering_role(row, desks) is None:
            raise ApiError(403, "APPROVAL_WAITING", f"this request waits for the {row.desk} desk")
        decision = str(body.get("decision") or "")
        if decision == "reroute":
            raise ApiError(
                400, ErrorCode.INVALID_PAYLOAD, "to transfer a request, choose a desk in the queue"
            )
        who = current_context()
        assert who is not None
        decide(db.engine, who, policy(), interrupt_id, decision, context=body.get("context"))
        db.session.rollback()  # a new transaction: see the decision just written on another connection
        row = db.session.get(ApprovalRequest, interrupt_id)
        assert row is not None
    if row.status == "expired":
        raise ApiError(409, ErrorCode.INTERRUPT_EXPIRED, "this request expired and was rejected")
    decision = next(d for d, status in DECIDED.items() if status == row.status)
    operator = db.session.get(User, row.decided_by) if row.decided_by else None
    forwarded = {k: v for k, v in body.items() if k not in {"decision", "context"}}
    forwarded["decision"] = decision
    if row.decision_context:
        forwarded["context"] = row.decision_context
    forwarded["envelope"] = {
        "request_id": row.request_id,
        "decision": decision,
        "operator_id": row.decided_by,
        "operator_email": operator.email if operator else None,
        "operator_role": row.decided_role,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "trace_id": (current_context() or None) and current_context().trace_id,  # type: ignore[union-attr]
    }
    mark_applied(db.engine, row.request_id)
    return forwarded
