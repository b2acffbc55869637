"""attachments: uploaded files (vendor-scoped, by content hash) and the sessions they were sent with

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_attachment_user_id_users")),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendors.id"], name=op.f("fk_attachment_vendor_id_vendors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachment_vendor_id"), ["vendor_id"], unique=False)
        batch_op.create_index("ix_attachment_vendor_sha256", ["vendor_id", "sha256"], unique=False)
    op.create_table(
        "session_attachment",
        sa.Column("session_id", sa.String(length=100), nullable=False),
        sa.Column("attachment_id", sa.String(length=40), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"], ["attachment.id"], name=op.f("fk_session_attachment_attachment_id_attachment")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["agent_session.sid"], name=op.f("fk_session_attachment_session_id_agent_session")
        ),
        sa.PrimaryKeyConstraint("session_id", "attachment_id", name=op.f("pk_session_attachment")),
    )


def downgrade() -> None:
    op.drop_table("session_attachment")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index("ix_attachment_vendor_sha256")
        batch_op.drop_index(batch_op.f("ix_attachment_vendor_id"))
    op.drop_table("attachment")
