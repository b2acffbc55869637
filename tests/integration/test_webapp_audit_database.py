"""The audit trail's database guard on both engines: triggers refuse UPDATE/DELETE (and TRUNCATE
on Postgres), and migration 0002 goes up and down cleanly, keeping the rows."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import fresh_postgres_database
from webapp.audit import AuditAction, AuditContext, append_now
from webapp.db import make_engine
from webapp.migrate import downgrade, upgrade

NEW_COLUMNS = {"user_email", "session_id", "interrupt_id", "decision", "context", "outcome", "parent_id"}


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (nothing migrated yet) on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.db'}"
        return
    server = request.getfixturevalue("postgres_url")  # skips/fails like every Postgres test
    url, drop = fresh_postgres_database(server)
    try:
        yield url
    finally:
        drop()


@pytest.fixture()
def engine(empty_url: str) -> Iterator[Engine]:
    upgrade(empty_url)
    eng = make_engine(empty_url)
    yield eng
    eng.dispose()


def _seed(engine: Engine) -> tuple[int, int]:
    with engine.begin() as conn:
        vendor = conn.execute(
            text("INSERT INTO vendors (name, created_at) VALUES ('v', CURRENT_TIMESTAMP) RETURNING id")
        ).scalar_one()
        user = conn.execute(
            text(
                "INSERT INTO users (vendor_id, email, password_hash, display_name, active, created_at) "
                "VALUES (:v, 'a@example.com', 'x', '', true, CURRENT_TIMESTAMP) RETURNING id"
            ),
            {"v": vendor},
        ).scalar_one()
    return int(vendor), int(user)


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one())


def test_the_triggers_refuse_update_and_delete(engine: Engine) -> None:
    vendor, user = _seed(engine)
    who = AuditContext(user_id=user, vendor_id=vendor, user_email="a@example.com", request_id="r1")
    decided = append_now(
        engine,
        who,
        AuditAction.DECISION,
        session_id="s" * 36,
        interrupt_id="int-1",
        decision="approve",
        outcome="forwarded",
    )
    append_now(engine, who, AuditAction.OUTCOME, outcome="accepted", parent_id=decided)
    statements = [
        "UPDATE audit_event SET outcome = 'rewritten'",
        f"UPDATE audit_event SET context = 'x' WHERE id = {decided}",
        "DELETE FROM audit_event",
        f"DELETE FROM audit_event WHERE id = {decided}",
    ]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_event")
    for statement in statements:
        with pytest.raises(IntegrityError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        outcomes = conn.execute(text("SELECT outcome FROM audit_event ORDER BY id")).scalars().all()
    assert outcomes == ["forwarded", "accepted"]
    # appending still works, and an UPDATE that matches no row changes nothing and is allowed
    append_now(engine, who, AuditAction.PLAYBOOK_SAVE, subject_type="playbook", subject_id="1")
    with engine.begin() as conn:
        assert conn.execute(text("UPDATE audit_event SET outcome = 'x' WHERE id < 0")).rowcount == 0
    assert _count(engine) == 3


def test_a_user_with_audit_rows_cannot_be_deleted_out_from_under_them(engine: Engine) -> None:
    vendor, user = _seed(engine)
    append_now(engine, AuditContext(user_id=user, vendor_id=vendor), AuditAction.PLAYBOOK_SAVE)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE id = :u"), {"u": user})
    assert _count(engine) == 1


def _guards(url: str) -> set[str]:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            if eng.dialect.name == "sqlite":
                names = conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")
                )
            else:
                names = conn.execute(
                    text(
                        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass "
                        "AND NOT tgisinternal"
                    )
                )
            return set(names.scalars())
    finally:
        eng.dispose()


def _columns(url: str) -> set[str]:
    eng = create_engine(url)
    try:
        return {c["name"] for c in inspect(eng).get_columns("audit_event")}
    finally:
        eng.dispose()


def test_migration_0002_up_and_down_keeps_the_rows(empty_url: str) -> None:
    upgrade(empty_url, "0001")
    assert _guards(empty_url) == set() and not NEW_COLUMNS & _columns(empty_url)
    eng = make_engine(empty_url)
    try:
        vendor, user = _seed(eng)
        with eng.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_event "
                    "(at, vendor_id, user_id, action, subject_type, subject_id, detail) "
                    "VALUES (CURRENT_TIMESTAMP, :v, :u, 'playbook.saved', 'playbook', '1', '{}')"
                ),
                {"v": vendor, "u": user},
            )
    finally:
        eng.dispose()

    upgrade(empty_url)
    assert len(_guards(empty_url)) == 2 and NEW_COLUMNS <= _columns(empty_url)
    eng = make_engine(empty_url)
    try:
        with pytest.raises(IntegrityError), eng.begin() as conn:
            conn.execute(text("DELETE FROM audit_event"))
        assert _count(eng) == 1
    finally:
        eng.dispose()

    downgrade(empty_url, "0001")
    assert _guards(empty_url) == set() and not NEW_COLUMNS & _columns(empty_url)
    eng = make_engine(empty_url)
    try:
        assert _count(eng) == 1  # the row survived the round trip (SQLite copies the table)
    finally:
        eng.dispose()

    upgrade(empty_url)
    assert len(_guards(empty_url)) == 2
    downgrade(empty_url, "base")
    eng = create_engine(empty_url)
    try:
        assert "audit_event" not in inspect(eng).get_table_names()
    finally:
        eng.dispose()


def test_a_copied_sqlite_template_keeps_its_guards(sqlite_template: Any, tmp_path: Path) -> None:
    """The unit tests copy one migrated file; the copy must carry the triggers too."""
    copy = tmp_path / "copy.db"
    shutil.copyfile(sqlite_template, copy)
    assert _guards(f"sqlite:///{copy}") == {"audit_event_no_update", "audit_event_no_delete"}
