"""``GET /audit``: the vendor's audit trail, newest first, filterable by session, paged by id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import ApprovalRequest, AuditEvent
from ._record import AuditAction

bp = Blueprint("audit", __name__)

PAGE_SIZE = 50
_SESSION = re.compile(r"^[A-Za-z0-9-]{1,100}$")
_MAX_ID = 2**63 - 1

ACTION_LABELS = {
    AuditAction.DECISION: "Decision",
    AuditAction.PLAYBOOK_SAVE: "Playbook saved",
    AuditAction.PLAYBOOK_UPDATE: "Playbook edited",
    AuditAction.PLAYBOOK_DELETE: "Playbook deleted",
    "approval.requested": "Approval requested",
    "approval.decided": "Approval decided",
    "approval.rerouted": "Approval transferred",
    "approval.escalated": "Approval escalated",
    "approval.expired": "Approval expired",
    AuditAction.ATTACHMENT_UPLOAD: "File uploaded",
    AuditAction.ATTACHMENT_SEND: "File sent to the assistant",
    AuditAction.DRAFT_EDIT: "Canvas edited directly",
    AuditAction.DRAFT_UNDO: "Canvas change undone",
    AuditAction.DRAFT_REDO: "Canvas change redone",
    "playbook.reopen": "Playbook reopened with the assistant",
    "draft.delete": "Draft deleted",
    # names written before migration 0002 (rows are never rewritten)
    "playbook.saved": "Playbook saved",
    "playbook.edited": "Playbook edited",
    "playbook.deleted": "Playbook deleted",
}


class FilterError(ValueError):
    """A query parameter of the page is not acceptable."""


@dataclass(frozen=True)
class Entry:
    """One line of the page: an event and, for a forwarded decision, its outcome row's outcome."""

    event: AuditEvent
    final_outcome: str | None
    outcome_at: datetime | None

    @property
    def label(self) -> str:
        return ACTION_LABELS.get(self.event.action, self.event.action)

    @property
    def outcome_kind(self) -> str:
        """``ok``, ``warn``, ``error`` or ``pending`` (for the pill's colour)."""
        outcome = self.final_outcome or ""
        if outcome == "accepted":
            return "ok"
        if outcome.startswith("refused:"):
            return "warn"
        if outcome.startswith("failed:"):
            return "error"
        return "pending"


def _session_filter(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    raw = raw.strip()
    if not _SESSION.match(raw):
        raise FilterError("A session id has only letters, digits and dashes (at most 100).")
    return raw


_WORD = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def _word_filter(name: str, raw: str | None) -> str | None:
    if raw is None or raw.strip() == "":
        return None
    if not _WORD.match(raw.strip()):
        raise FilterError(f"“{name}” has only letters, digits, dots, colons, dashes and underscores.")
    return raw.strip()


def _cursor(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 0 < int(raw) <= _MAX_ID:
        raise FilterError(f"“{name}” must be a positive whole number.")
    return int(raw)


def _scoped(
    vendor_id: int, session_id: str | None, request_id: str | None = None, desk: str | None = None
) -> Any:
    """The page's rows: this vendor's, not outcome rows (those are shown on their decision);
    optionally one session's, one approval request's, or those of the requests at one desk."""
    clause = and_(AuditEvent.vendor_id == vendor_id, AuditEvent.parent_id.is_(None))
    if session_id is not None:
        clause = and_(clause, AuditEvent.session_id == session_id)
    if request_id is not None:
        clause = and_(clause, AuditEvent.interrupt_id == request_id)
    if desk is not None:
        at_desk = select(ApprovalRequest.request_id).where(
            ApprovalRequest.vendor_id == vendor_id,
            or_(ApprovalRequest.desk == desk, ApprovalRequest.escalation_desk == desk),
        )
        clause = and_(clause, AuditEvent.interrupt_id.in_(at_desk))
    return clause


def _page(
    vendor_id: int,
    session_id: str | None,
    before: int | None,
    after: int | None,
    request_id: str | None = None,
    desk: str | None = None,
) -> tuple[list[Entry], bool, bool]:
    outcome = aliased(AuditEvent)
    scope = _scoped(vendor_id, session_id, request_id, desk)
    stmt = (
        select(AuditEvent, outcome.outcome, outcome.at)
        .outerjoin(
            outcome,
            and_(
                outcome.parent_id == AuditEvent.id,
                outcome.vendor_id == AuditEvent.vendor_id,
                outcome.action == AuditAction.OUTCOME,
            ),
        )
        .where(scope)
    )
    if after is not None:
        stmt = stmt.where(AuditEvent.id > after).order_by(AuditEvent.id.asc())
    else:
        if before is not None:
            stmt = stmt.where(AuditEvent.id < before)
        stmt = stmt.order_by(AuditEvent.id.desc())
    rows = list(db.session.execute(stmt.limit(PAGE_SIZE + 1)).all())
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if after is not None:
        rows.reverse()
    entries = [Entry(event, final or event.outcome, at) for event, final, at in rows]
    if not entries:
        return entries, False, False
    newest, oldest = entries[0].event.id, entries[-1].event.id

    def any_where(condition: Any) -> bool:
        return bool(db.session.scalar(select(exists().where(scope, condition))))

    has_newer = more if after is not None else any_where(AuditEvent.id > newest)
    has_older = more if after is None else any_where(AuditEvent.id < oldest)
    return entries, has_newer, has_older


@bp.get("/audit")
@login_required
def index() -> Any:
    """The signed-in person's vendor's audit events."""
    try:
        session_id = _session_filter(request.args.get("session"))
        request_id = _word_filter("request", request.args.get("request"))
        desk = _word_filter("desk", request.args.get("desk"))
        before, after = _cursor("before"), _cursor("after")
    except FilterError as exc:
        return render_template(
            "audit/list.html", entries=[], session_id=None, error=str(exc), has_newer=False, has_older=False
        ), 400
    entries, has_newer, has_older = _page(current_user.vendor_id, session_id, before, after, request_id, desk)
    return render_template(
        "audit/list.html",
        entries=entries,
        session_id=session_id,
        request_filter=request_id,
        desk_filter=desk,
        error=None,
        has_newer=has_newer,
        has_older=has_older,
        newest_id=entries[0].event.id if entries else None,
        oldest_id=entries[-1].event.id if entries else None,
    )


@bp.app_template_filter("utc")
def _utc(value: datetime | None) -> str:
    """``2026-11-23 14:05:09 UTC`` (SQLite hands back naive datetimes, stored as UTC)."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")
