"""The database on both engines: migrations, idempotent concurrent saves, atomic leases."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import create_engine, func, inspect, select

from agent_runtime.contract import PlaybookSpec
from tests.support.playbooks import make_playbook
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import add_user, app_for_url, app_on_both_databases, both_database_urls  # noqa: F401 (fixtures)
from webapp.agent.leases import LeaseKeeper, lease_engine
from webapp.errors import ApiError
from webapp.migrate import alembic_config
from webapp.models import AgentSession, Base, Module, Playbook, Task, TaskStep, User
from webapp.playbooks import service


def _concurrently(n: int, fn: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_migrations_match_the_models(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert diff == []
    assert {
        "vendors",
        "users",
        "agent_session",
        "or_playbook",
        "or_module",
        "or_task",
        "or_task_step",
        "audit_event",
    } <= tables
    assert alembic_config(database_url).get_main_option("script_location", "").endswith("migrations")


def test_ten_concurrent_saves_with_one_key_make_one_playbook(app: Any) -> None:
    user = add_user(app)
    engine = app.extensions["database"].engine
    spec = PlaybookSpec.model_validate(make_playbook(4, 3, 2))
    results = _concurrently(
        10,
        lambda: service.save_playbook(
            engine, spec=spec, vendor_id=user["vendor_id"], user_id=user["id"], idempotency_key="same-key"
        ),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.playbook_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    with engine.connect() as conn:
        assert (
            conn.scalar(
                select(func.count()).select_from(Playbook).where(Playbook.vendor_id == user["vendor_id"])
            )
            == 1
        )
        assert (
            conn.scalar(
                select(func.count())
                .select_from(Module)
                .join(Playbook)
                .where(Playbook.vendor_id == user["vendor_id"])
            )
            == 4
        )


def test_concurrent_saves_with_one_key_and_different_bodies_conflict(app: Any) -> None:
    user = add_user(app)
    engine = app.extensions["database"].engine
    specs = [PlaybookSpec.model_validate(make_playbook(1, 1, i + 1)) for i in range(6)]
    results = _concurrently(
        6,
        lambda: service.save_playbook(
            engine,
            spec=specs[threading.get_ident() % 6],
            vendor_id=user["vendor_id"],
            user_id=user["id"],
            idempotency_key="k",
        ),
    )
    created = [r for r in results if not isinstance(r, Exception) and r.created]
    conflicts = [r for r in results if isinstance(r, ApiError)]
    assert len(created) == 1 and all(c.status == 409 for c in conflicts)
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, ApiError)]


def test_a_save_that_fails_half_way_leaves_no_rows(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    user = add_user(app)
    engine = app.extensions["database"].engine
    real = service._insert_content

    def half(conn: Any, playbook_id: int, spec: Any) -> None:
        real(conn, playbook_id, spec)
        raise RuntimeError("lost the connection half-way")

    monkeypatch.setattr(service, "_insert_content", half)
    with pytest.raises(RuntimeError):
        service.save_playbook(
            engine,
            spec=PlaybookSpec.model_validate(make_playbook(3, 3, 3)),
            vendor_id=user["vendor_id"],
            user_id=user["id"],
            idempotency_key="half",
        )
    vendor = Playbook.vendor_id == user["vendor_id"]
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Playbook).where(vendor)) == 0
        # rows of this attempt would hang off playbooks of this vendor; none may exist at all
        orphans = select(func.count()).select_from(Module).outerjoin(Playbook).where(Playbook.id.is_(None))
        assert conn.scalar(orphans) == 0
        assert (
            conn.scalar(select(func.count()).select_from(Task).outerjoin(Module).where(Module.id.is_(None)))
            == 0
        )
        assert (
            conn.scalar(select(func.count()).select_from(TaskStep).outerjoin(Task).where(Task.id.is_(None)))
            == 0
        )
        assert conn.scalar(select(func.count()).select_from(Module).join(Playbook).where(vendor)) == 0


def _session_row(app: Any) -> tuple[dict[str, Any], str]:
    user = add_user(app)
    sid = str(uuid.uuid4())
    with app.extensions["database"].engine.begin() as conn:
        conn.execute(
            AgentSession.__table__.insert().values(
                sid=sid, user_id=user["id"], vendor_id=user["vendor_id"], agent_type="copilot"
            )
        )
    return user, sid


def test_only_one_of_many_concurrent_turns_gets_the_lease(app: Any) -> None:
    user, sid = _session_row(app)
    engine = app.extensions["database"].engine
    keeper = LeaseKeeper(lease_engine(engine), seconds=60)
    who = {"user_id": user["id"], "vendor_id": user["vendor_id"], "agent_type": "copilot", "lease": True}

    def take() -> str | ApiError:
        try:
            holder = keeper.open(sid, **who)
        except ApiError as exc:
            return exc
        assert holder is not None
        return holder

    results = _concurrently(12, take)
    winners = [r for r in results if isinstance(r, str)]
    assert len(winners) == 1
    assert {(r.status, r.code) for r in results if isinstance(r, ApiError)} == {(409, "SESSION_BUSY")}
    keeper.release("not-the-holder")
    with pytest.raises(ApiError) as busy:
        keeper.open(sid, **who)
    assert busy.value.status == 409
    keeper.release(winners[0])
    late = keeper.open(sid, **who)
    assert late is not None and keeper.live() == 1
    # an expired lease can be taken over (a webapp that died mid-stream)
    keeper._live.clear()  # this process "died" holding it
    with engine.begin() as conn:
        conn.execute(AgentSession.__table__.update().values(lease_expires_ms=0))
    assert keeper.open(sid, **who) is not None
    keeper.close()


def test_the_stream_statement_checks_ownership_and_the_user(app: Any) -> None:
    user, sid = _session_row(app)
    engine = app.extensions["database"].engine
    keeper = LeaseKeeper(lease_engine(engine), seconds=60)
    mine = {"user_id": user["id"], "vendor_id": user["vendor_id"], "agent_type": "copilot"}
    assert keeper.open(sid, **mine, lease=False) is None  # a watch: no lease, last_run_at recorded
    other = add_user(app)
    cases = [
        ({**mine, "user_id": other["id"], "vendor_id": other["vendor_id"]}, 403, "SESSION_MISMATCH"),
        ({**mine, "vendor_id": other["vendor_id"]}, 403, "IDENTITY_MISMATCH"),
        ({**mine, "agent_type": "other"}, 403, "SESSION_MISMATCH"),
    ]
    for who, status, code in cases:
        with pytest.raises(ApiError) as refused:
            keeper.open(sid, **who, lease=True)
        assert (refused.value.status, refused.value.code) == (status, code)
    with engine.begin() as conn:
        conn.execute(User.__table__.update().where(User.id == user["id"]).values(active=False))
    with pytest.raises(ApiError) as gone:
        keeper.open(sid, **mine, lease=False)
    assert (gone.value.status, gone.value.code) == (401, "UNAUTHENTICATED")
    with engine.connect() as conn:
        row = conn.execute(select(AgentSession).where(AgentSession.sid == sid)).one()
    assert row.last_run_at is not None and row.lease_holder is None


def test_renewal_is_one_batched_update_and_a_failure_ends_no_stream(app: Any) -> None:
    from sqlalchemy import event

    user, _ = _session_row(app)
    engine = app.extensions["database"].engine
    keeper = LeaseKeeper(lease_engine(engine), seconds=60, renew_every=3600)
    sids = [str(uuid.uuid4()) for _ in range(30)]
    with engine.begin() as conn:
        conn.execute(
            AgentSession.__table__.insert(),
            [
                {"sid": s, "user_id": user["id"], "vendor_id": user["vendor_id"], "agent_type": "copilot"}
                for s in sids
            ],
        )
    who = {"user_id": user["id"], "vendor_id": user["vendor_id"], "agent_type": "copilot", "lease": True}
    holders = [keeper.open(s, **who) for s in sids]
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(keeper.engine, "before_cursor_execute", count)
    try:
        assert keeper.renew_all() == 30
    finally:
        event.remove(keeper.engine, "before_cursor_execute", count)
    assert [s.split()[0].upper() for s in statements if not s.upper().startswith(("BEGIN", "COMMIT"))] == [
        "UPDATE"
    ]
    with engine.connect() as conn:
        expiries = conn.scalars(select(AgentSession.lease_expires_ms).where(AgentSession.sid.in_(sids))).all()
    assert len(set(expiries)) == 1  # every lease renewed by the same statement
    assert all(h is not None for h in holders) and keeper.live() == 30
    keeper.close()


def test_a_failed_release_is_retried_in_the_background(app: Any) -> None:
    from sqlalchemy.exc import OperationalError

    user, sid = _session_row(app)
    engine = app.extensions["database"].engine
    retried = threading.Event()

    class FlakyRelease(LeaseKeeper):
        calls = 0

        def _release_batch(self, leases: list[tuple[str, str]]) -> None:
            FlakyRelease.calls += 1
            if FlakyRelease.calls == 1:
                raise OperationalError("UPDATE agent_session", {}, Exception("connection lost"))
            super()._release_batch(leases)
            retried.set()

    keeper = FlakyRelease(lease_engine(engine), seconds=60, renew_every=0.01)
    who = {"user_id": user["id"], "vendor_id": user["vendor_id"], "agent_type": "copilot", "lease": True}
    holder = keeper.open(sid, **who)
    keeper.release(holder)  # fails: handed to the renewer thread, the caller is not troubled
    assert retried.wait(10)
    with engine.connect() as conn:
        assert conn.scalar(select(AgentSession.lease_holder).where(AgentSession.sid == sid)) is None
    assert keeper.open(sid, **who) is not None  # the session is free for the next turn
    keeper.close()
