"""append-only audit trail: decision fields and database guards on audit_event

Adds who/session/interrupt/decision/context/outcome/request columns to ``audit_event`` and makes
the table append-only in the database itself:

* Postgres: ``audit_event_append_only()`` raises ``restrict_violation`` from a ``BEFORE UPDATE OR
  DELETE ... FOR EACH ROW`` trigger and a ``BEFORE TRUNCATE`` statement trigger.
* SQLite: ``BEFORE UPDATE`` and ``BEFORE DELETE`` triggers ``SELECT RAISE(ABORT, ...)``.

Both surface as ``sqlalchemy.exc.IntegrityError``. A later migration that must rebuild this table
on SQLite (a batch "move and copy") has to drop the two triggers first and create them again
after, as this one does.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "audit_event is append-only"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$
"""
PG_TRIGGERS = (
    "CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
)
PG_DROP = (
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
    "DROP TRIGGER IF EXISTS audit_event_no_update_delete ON audit_event",
    "DROP FUNCTION IF EXISTS audit_event_append_only()",
)
SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
    "DROP TRIGGER IF EXISTS audit_event_no_update",
)


def _new_columns() -> list[sa.Column[object]]:
    """The columns this revision adds (fresh objects each call)."""
    return [
        sa.Column("user_email", sa.String(length=320), nullable=True),
        sa.Column("session_id", sa.String(length=100), nullable=True),
        sa.Column("interrupt_id", sa.String(length=100), nullable=True),
        sa.Column("decision", sa.String(length=32), nullable=True),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=100), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
    ]


def _dialect() -> str:
    name = op.get_bind().dialect.name
    if name not in {"postgresql", "sqlite"}:
        raise NotImplementedError(f"no append-only guard for {name}")
    return name


def _create_guards() -> None:
    if _dialect() == "postgresql":
        op.execute(PG_FUNCTION)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def _drop_guards() -> None:
    for statement in PG_DROP if _dialect() == "postgresql" else SQLITE_DROP:
        op.execute(statement)


def upgrade() -> None:
    _dialect()
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        for column in _new_columns():
            batch_op.add_column(column)
        batch_op.create_foreign_key(
            batch_op.f("fk_audit_event_parent_id_audit_event"), "audit_event", ["parent_id"], ["id"]
        )
        batch_op.drop_index(batch_op.f("ix_audit_event_vendor_id"))
        batch_op.create_index("ix_audit_event_vendor_id_id", ["vendor_id", "id"], unique=False)
        batch_op.create_index(
            "ix_audit_event_vendor_session", ["vendor_id", "session_id", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_event_parent_id"), ["parent_id"], unique=False)
    _create_guards()


def downgrade() -> None:
    # The guards go first: on SQLite the batch below copies the table into a new one.
    _drop_guards()
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_parent_id"))
        batch_op.drop_index("ix_audit_event_vendor_session")
        batch_op.drop_index("ix_audit_event_vendor_id_id")
        batch_op.create_index(batch_op.f("ix_audit_event_vendor_id"), ["vendor_id"], unique=False)
        batch_op.drop_constraint(batch_op.f("fk_audit_event_parent_id_audit_event"), type_="foreignkey")
        for column in reversed(_new_columns()):
            batch_op.drop_column(column.name)
