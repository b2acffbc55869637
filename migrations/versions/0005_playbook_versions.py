"""playbook versions: every save an immutable snapshot; or_playbook.version is the current one

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("or_playbook", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "or_playbook_version",
        sa.Column("playbook_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_session_id", sa.String(length=100), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_or_playbook_version_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["playbook_id"],
            ["or_playbook.id"],
            name=op.f("fk_or_playbook_version_playbook_id_or_playbook"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("playbook_id", "version", name=op.f("pk_or_playbook_version")),
    )


def downgrade() -> None:
    op.drop_table("or_playbook_version")
    with op.batch_alter_table("or_playbook", schema=None) as batch_op:
        batch_op.drop_column("version")
