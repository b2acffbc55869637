"""The database on both engines: migrations, idempotent concurrent saves, atomic leases."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import create_engine, func, inspect, select

from agent_runtime.contract import PlaybookSpec
from tests.support.playbooks import make_playbook
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import add_user, app_for_url
from webapp.agent.sessions import acquire_lease, release_lease
from webapp.errors import ApiError
from webapp.migrate import alembic_config
from webapp.models import AgentSession, Base, Module, Playbook, Task, TaskStep
from webapp.playbooks import service


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture()
def app(database_url: str) -> Any:
    application = app_for_url(database_url)
    yield application
    application.extensions["database"].dispose()
    application.extensions["agent_transport"].close()


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


def test_only_one_of_many_concurrent_turns_gets_the_lease(app: Any) -> None:
    user = add_user(app)
    engine = app.extensions["database"].engine
    sid = "0b6f2b8e-3c1d-4e5f-9a7b-1c2d3e4f5a6b"
    with engine.begin() as conn:
        conn.execute(
            AgentSession.__table__.insert().values(
                sid=sid, user_id=user["id"], vendor_id=user["vendor_id"], agent_type="copilot"
            )
        )
    holders = [f"h{i}" for i in range(12)]
    lock = threading.Lock()
    counter = iter(holders)

    def take() -> tuple[str, bool]:
        with lock:
            holder = next(counter)
        return holder, acquire_lease(engine, sid, holder, 60)

    results = _concurrently(12, take)
    winners = [h for h, ok in results if ok]
    assert len(winners) == 1
    release_lease(engine, sid, "not-the-holder")
    assert not acquire_lease(engine, sid, "late", 60)
    release_lease(engine, sid, winners[0])
    assert acquire_lease(engine, sid, "late", 60)
    # an expired lease can be taken over (a webapp that died mid-stream)
    assert acquire_lease(engine, sid, "next", -1) is False
    with engine.begin() as conn:
        conn.execute(AgentSession.__table__.update().values(lease_expires_ms=0))
    assert acquire_lease(engine, sid, "after-expiry", 60)
