"""reopen a saved playbook: agent_session.playbook_id links a builder session to the playbook it refines

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("playbook_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_agent_session_playbook_id"), ["playbook_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_agent_session_playbook_id_or_playbook"),
            "or_playbook",
            ["playbook_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("agent_session", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_agent_session_playbook_id_or_playbook"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_agent_session_playbook_id"))
        batch_op.drop_column("playbook_id")
