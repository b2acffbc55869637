"""ORM models (SQLAlchemy 2.0 typed). Constraint names are stable through the naming convention."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import event as sa_event
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Mapper,
    ORMExecuteState,
    Session,
    mapped_column,
    relationship,
)

from .errors import AppendOnlyError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Vendor(Base):
    """A customer organisation; every user and playbook belongs to one."""

    __tablename__ = "vendors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(UserMixin, Base):
    """A person who signs in. Email is stored lower-case."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(512))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Bumped at sign-out and at a password change: every session and remember-me cookie carries
    # the generation it was issued under (Flask-Login's alternative id), so older ones stop working.
    login_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    vendor: Mapped[Vendor] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)

    def get_id(self) -> str:
        """Flask-Login's id for this login: ``"<user id>:<login generation>"``."""
        return f"{self.id}:{self.login_generation or 0}"


class RateLimitCounter(Base):
    """A fixed-window counter of the login throttle (shared by every web app worker)."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    # Epoch seconds when this window ends.
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class UserDesk(Base):
    """A desk (an operator role queue, e.g. ``ops-leads``) a user answers approval requests for."""

    __tablename__ = "user_desk"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    desk: Mapped[str] = mapped_column(String(64), primary_key=True)


class ApprovalRequest(Base):
    """A paused agent action waiting for a person (issue 13): routed to a desk, with an SLA, an
    escalation desk and an expiry; exactly one decision wins (a conditional UPDATE on ``status``).

    ``status``: ``open`` → ``approved`` / ``rejected`` / ``add_context`` (decided; ``applied_at``
    once the paused session has been resumed with it) or ``expired`` (auto-rejected at expiry).
    A reroute changes ``desk`` and keeps the request open.
    """

    __tablename__ = "approval_request"
    __table_args__ = (
        Index("ix_approval_request_vendor_desk_status", "vendor_id", "desk", "status"),
        Index("ix_approval_request_due", "status", "required_by"),
    )

    request_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"))
    session_id: Mapped[str] = mapped_column(ForeignKey("agent_session.sid"), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    desk: Mapped[str] = mapped_column(String(64))
    escalation_desk: Mapped[str | None] = mapped_column(String(64), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    intent_summary: Mapped[str] = mapped_column(String(300))
    tool: Mapped[str] = mapped_column(String(64))
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    risk_level: Mapped[str] = mapped_column(String(16))
    canvas: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    required_by: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="open")
    decision_context: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_role: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Notification(Base):
    """One message to deliver (e-mail, SNS, webhook): an outbox row retried with backoff until sent."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(100), index=True)
    event: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AgentSession(Base):
    """A minted agent session, and the lease a streaming chat turn holds on it."""

    __tablename__ = "agent_session"

    sid: Mapped[str] = mapped_column(String(100), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    agent_type: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Epoch milliseconds: compared in SQL the same way on SQLite and Postgres.
    # The draft (issue 11): what the session's last stream left on the canvas, for the drafts list.
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phase: Mapped[str | None] = mapped_column(String(20), nullable=True)
    canvas_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    playbook_id: Mapped[int | None] = mapped_column(
        ForeignKey("or_playbook.id", ondelete="SET NULL"), nullable=True, index=True
    )
    """The saved playbook this session refines ("Refine with the assistant"); its saves are new versions."""
    lease_holder: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Attachment(Base):
    """A file a user attached (issue 12). Its bytes live once per vendor and content hash in the
    attachment store (``attachments.store``); this row is one upload of them, with its name."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_vendor_sha256", "vendor_id", "sha256"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SessionAttachment(Base):
    """An attachment sent with a turn of a session (so a reopened draft lists what was attached)."""

    __tablename__ = "session_attachment"

    session_id: Mapped[str] = mapped_column(ForeignKey("agent_session.sid"), primary_key=True)
    attachment_id: Mapped[str] = mapped_column(ForeignKey("attachment.id"), primary_key=True)
    attached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Playbook(Base):
    """A saved playbook (``or_playbook``)."""

    __tablename__ = "or_playbook"
    __table_args__ = (UniqueConstraint("vendor_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    source_session_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """The current version's number (``or_playbook_version``)."""

    modules: Mapped[list[Module]] = relationship(
        order_by="Module.position", cascade="all, delete-orphan", passive_deletes=True
    )


class PlaybookVersion(Base):
    """An immutable version of a playbook: its content (wire shape), who saved it, when, from where."""

    __tablename__ = "or_playbook_version"

    playbook_id: Mapped[int] = mapped_column(
        ForeignKey("or_playbook.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source_session_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """The builder save that made this version (a repeated key returns it instead of a new one)."""


class Module(Base):
    """A module of a playbook (``or_module``)."""

    __tablename__ = "or_module"
    __table_args__ = (Index("ix_or_module_playbook_position", "playbook_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("or_playbook.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")

    tasks: Mapped[list[Task]] = relationship(
        order_by="Task.position", cascade="all, delete-orphan", passive_deletes=True
    )


class Task(Base):
    """A task of a module (``or_task``)."""

    __tablename__ = "or_task"
    __table_args__ = (Index("ix_or_task_module_position", "module_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("or_module.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")

    steps: Mapped[list[TaskStep]] = relationship(
        order_by="TaskStep.position", cascade="all, delete-orphan", passive_deletes=True
    )


class TaskStep(Base):
    """A step of a task (``or_task_step``)."""

    __tablename__ = "or_task_step"
    __table_args__ = (Index("ix_or_task_step_task_position", "task_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("or_task.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")


class AuditEvent(Base):
    """One entry of the append-only audit trail (``audit_event``).

    Rows are only ever inserted (:func:`webapp.audit.append`). The application has no update or
    delete path for them, the ORM refuses one (:mod:`webapp.audit._guard`), and database triggers
    (migration ``0002``) refuse ``UPDATE``/``DELETE`` (and ``TRUNCATE`` on Postgres).

    ``user_email`` is a copy taken at the time of the event, so the row stays readable whatever
    later happens to the account. An ``interrupt.outcome`` row completes the ``interrupt.decision``
    row named by ``parent_id`` (see ``webapp/audit/__init__.py``).
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_vendor_id_id", "vendor_id", "id"),
        Index("ix_audit_event_vendor_session", "vendor_id", "session_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    user_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    interrupt_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(32), nullable=True)
    context: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(100), nullable=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("audit_event.id"), nullable=True, index=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    trace_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    subject_type: Mapped[str] = mapped_column(String(64), default="")
    subject_id: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# The ORM has no way to change an audit row either: a flush that would UPDATE or DELETE one, and an
# ORM-enabled UPDATE or DELETE statement on the model, fail before reaching the database
# (whose triggers would refuse them anyway).


@sa_event.listens_for(AuditEvent, "before_update")
@sa_event.listens_for(AuditEvent, "before_delete")
def _refuse_audit_change(_mapper: Mapper[Any], _connection: Any, target: AuditEvent) -> None:
    raise AppendOnlyError(f"audit_event is append-only (row {target.id})")


@sa_event.listens_for(Session, "do_orm_execute")
def _refuse_audit_bulk_change(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(m.class_ is AuditEvent for m in state.all_mappers):
        raise AppendOnlyError("audit_event is append-only")
