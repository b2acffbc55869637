"""approval desks: desk roles, durable approval requests, the notification outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "user_desk",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("desk", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_desk_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "desk", name=op.f("pk_user_desk")),
    )
    op.create_table(
        "approval_request",
        sa.Column("request_id", sa.String(length=100), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=100), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("desk", sa.String(length=64), nullable=False),
        sa.Column("escalation_desk", sa.String(length=64), nullable=True),
        sa.Column("escalated_at", TZ, nullable=True),
        sa.Column("intent_summary", sa.String(length=300), nullable=False),
        sa.Column("tool", sa.String(length=64), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("canvas", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("required_by", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision_context", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_role", sa.String(length=64), nullable=True),
        sa.Column("decided_at", TZ, nullable=True),
        sa.Column("applied_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_approval_request_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_approval_request_requested_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["agent_session.sid"], name=op.f("fk_approval_request_session_id_agent_session")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.id"], name=op.f("fk_approval_request_vendor_id_vendors")
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_approval_request")),
    )
    with op.batch_alter_table("approval_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_request_session_id"), ["session_id"], unique=False)
        batch_op.create_index("ix_approval_request_vendor_desk_status", ["vendor_id", "desk", "status"])
        batch_op.create_index("ix_approval_request_due", ["status", "required_by"])
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=100), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_request_id"), ["request_id"], unique=False)
        batch_op.create_index("ix_notification_due", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("notification")
    op.drop_table("approval_request")
    op.drop_table("user_desk")
