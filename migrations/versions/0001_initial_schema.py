"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vendors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendors")),
        sa.UniqueConstraint("name", name=op.f("uq_vendors_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=512), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendors.id"], name=op.f("fk_users_vendor_id_vendors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_vendor_id"), ["vendor_id"], unique=False)

    op.create_table(
        "agent_session",
        sa.Column("sid", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("agent_type", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_holder", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_agent_session_user_id_users")),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.id"], name=op.f("fk_agent_session_vendor_id_vendors")
        ),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_agent_session")),
    )
    with op.batch_alter_table("agent_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_session_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agent_session_vendor_id"), ["vendor_id"], unique=False)

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_audit_event_user_id_users")),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendors.id"], name=op.f("fk_audit_event_vendor_id_vendors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_vendor_id"), ["vendor_id"], unique=False)

    op.create_table(
        "or_playbook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source_session_id", sa.String(length=100), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_or_playbook_created_by_users")),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendors.id"], name=op.f("fk_or_playbook_vendor_id_vendors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_or_playbook")),
        sa.UniqueConstraint(
            "vendor_id", "idempotency_key", name=op.f("uq_or_playbook_vendor_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("or_playbook", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_or_playbook_vendor_id"), ["vendor_id"], unique=False)

    op.create_table(
        "or_module",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("playbook_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["playbook_id"],
            ["or_playbook.id"],
            name=op.f("fk_or_module_playbook_id_or_playbook"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_or_module")),
    )
    with op.batch_alter_table("or_module", schema=None) as batch_op:
        batch_op.create_index("ix_or_module_playbook_position", ["playbook_id", "position"], unique=False)

    op.create_table(
        "or_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["module_id"], ["or_module.id"], name=op.f("fk_or_task_module_id_or_module"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_or_task")),
    )
    with op.batch_alter_table("or_task", schema=None) as batch_op:
        batch_op.create_index("ix_or_task_module_position", ["module_id", "position"], unique=False)

    op.create_table(
        "or_task_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["or_task.id"], name=op.f("fk_or_task_step_task_id_or_task"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_or_task_step")),
    )
    with op.batch_alter_table("or_task_step", schema=None) as batch_op:
        batch_op.create_index("ix_or_task_step_task_position", ["task_id", "position"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("or_task_step", schema=None) as batch_op:
        batch_op.drop_index("ix_or_task_step_task_position")

    op.drop_table("or_task_step")
    with op.batch_alter_table("or_task", schema=None) as batch_op:
        batch_op.drop_index("ix_or_task_module_position")

    op.drop_table("or_task")
    with op.batch_alter_table("or_module", schema=None) as batch_op:
        batch_op.drop_index("ix_or_module_playbook_position")

    op.drop_table("or_module")
    with op.batch_alter_table("or_playbook", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_or_playbook_vendor_id"))

    op.drop_table("or_playbook")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_vendor_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))

    op.drop_table("audit_event")
    with op.batch_alter_table("agent_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_session_vendor_id"))
        batch_op.drop_index(batch_op.f("ix_agent_session_user_id"))

    op.drop_table("agent_session")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_vendor_id"))

    op.drop_table("users")
    op.drop_table("vendors")
