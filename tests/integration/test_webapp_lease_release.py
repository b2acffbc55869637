"""Grouped lease releases, on both engines: streams that end together free their leases in one
statement, and a stream's end still waits for its own lease, so the next turn is never refused."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select

from tests.support.waiting import wait_until
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import add_user, app_for_url, app_on_both_databases, both_database_urls  # noqa: F401 (fixtures)
from webapp.agent.leases import LeaseKeeper, lease_engine
from webapp.models import AgentSession


def _sessions(app: Any, n: int) -> tuple[dict[str, Any], list[str]]:
    user = add_user(app)
    sids = [str(uuid.uuid4()) for _ in range(n)]
    with app.extensions["database"].engine.begin() as conn:
        conn.execute(
            AgentSession.__table__.insert(),
            [
                {"sid": s, "user_id": user["id"], "vendor_id": user["vendor_id"], "agent_type": "copilot"}
                for s in sids
            ],
        )
    return user, sids


class GatedKeeper(LeaseKeeper):
    """Pauses the first release statement until ``gate`` opens (the gap where others queue)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.in_flight = threading.Event()
        self.batches: list[list[str]] = []

    def _release_batch(self, leases: list[tuple[str, str]]) -> None:
        self.batches.append([sid for sid, _ in leases])
        if len(self.batches) == 1:
            self.in_flight.set()
            assert self.gate.wait(10)
        super()._release_batch(leases)


@contextlib.contextmanager
def _updates(keeper: LeaseKeeper) -> Iterator[list[str]]:
    """The UPDATE statements the keeper sends meanwhile (through SQLAlchemy or straight to a cursor)."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            statements.append(statement)

    direct = keeper._direct
    original = direct.rowcount if direct is not None else None

    def counted(stmt: Any, params: dict[str, Any]) -> int:
        statements.append(str(stmt))
        assert original is not None
        return original(stmt, params)

    event.listen(keeper.engine, "before_cursor_execute", count)
    if direct is not None:
        direct.rowcount = counted  # type: ignore[method-assign]
    try:
        yield statements
    finally:
        event.remove(keeper.engine, "before_cursor_execute", count)
        if direct is not None:
            del direct.rowcount


def _lease_holders(app: Any, sids: list[str]) -> dict[str, str | None]:
    with app.extensions["database"].engine.connect() as conn:
        rows = conn.execute(
            select(AgentSession.sid, AgentSession.lease_holder).where(AgentSession.sid.in_(sids))
        ).all()
    return {row.sid: row.lease_holder for row in rows}


def test_streams_ending_while_a_release_is_in_flight_are_freed_by_one_statement(app: Any) -> None:
    user, sids = _sessions(app, 9)
    engine = app.extensions["database"].engine
    keeper = GatedKeeper(lease_engine(engine), seconds=60, renew_every=3600)
    who = {"user_id": user["id"], "vendor_id": user["vendor_id"], "agent_type": "copilot", "lease": True}
    holders = [keeper.open(s, **who) for s in sids]
    returned = {sid: threading.Event() for sid in sids}

    def end_stream(sid: str, holder: str | None) -> None:
        assert holder is not None
        keeper.release(holder)
        returned[sid].set()

    first = threading.Thread(target=end_stream, args=(sids[0], holders[0]))
    first.start()
    assert keeper.in_flight.wait(10)  # the first release's UPDATE is on its way
    pairs = zip(sids[1:], holders[1:], strict=True)
    rest = [threading.Thread(target=end_stream, args=pair) for pair in pairs]
    for thread in rest:
        thread.start()
    wait_until(lambda: len(keeper._to_release) == 8, "the other eight streams queued their leases")
    # No stream's end returns before its own lease is released.
    assert not any(done.is_set() for done in returned.values())
    with _updates(keeper) as statements:
        keeper.gate.set()
        for thread in [first, *rest]:
            thread.join(10)
    assert all(done.is_set() for done in returned.values())
    # the eight queued leases: one batch (in the order their threads reached it, which is theirs)
    assert len(keeper.batches) == 2 and keeper.batches[0] == [sids[0]]
    assert sorted(keeper.batches[1]) == sorted(sids[1:])
    assert len(statements) == 2
    assert set(_lease_holders(app, sids).values()) == {None}
    assert keeper.live() == 0
    # The next turn of every session is taken at once, even by another process's keeper.
    other = LeaseKeeper(lease_engine(engine), seconds=60, renew_every=3600)
    assert all(other.open(s, **who) is not None for s in sids)
    keeper.close()
    other.close()


def test_the_next_turn_is_not_refused_once_a_stream_has_ended(app: Any) -> None:
    user, (sid,) = _sessions(app, 1)
    engine = app.extensions["database"].engine
    keeper = LeaseKeeper(lease_engine(engine), seconds=60, renew_every=3600)
    elsewhere = LeaseKeeper(lease_engine(engine), seconds=60, renew_every=3600)  # another web app process
    who = {"user_id": user["id"], "vendor_id": user["vendor_id"], "agent_type": "copilot", "lease": True}
    for turn in range(5):
        here = keeper if turn % 2 == 0 else elsewhere
        holder = here.open(sid, **who)
        assert holder is not None
        here.release(holder)  # the stream ended
        assert _lease_holders(app, [sid]) == {sid: None}
    keeper.close()
    elsewhere.close()


def test_a_failed_grouped_release_frees_every_lease_of_the_batch_in_the_background(app: Any) -> None:
    from sqlalchemy.exc import OperationalError

    user, sids = _sessions(app, 3)
    engine = app.extensions["database"].engine

    class FailsOnce(GatedKeeper):
        def _release_batch(self, leases: list[tuple[str, str]]) -> None:
            if len(self.batches) == 1:  # the second batch (the two queued leases) fails once
                self.batches.append([sid for sid, _ in leases])
                raise OperationalError("UPDATE agent_session", {}, Exception("connection lost"))
            super()._release_batch(leases)

    keeper = FailsOnce(lease_engine(engine), seconds=60, renew_every=0.01)
    who = {"user_id": user["id"], "vendor_id": user["vendor_id"], "agent_type": "copilot", "lease": True}
    holders = [keeper.open(s, **who) for s in sids]
    threads = [threading.Thread(target=keeper.release, args=(h,)) for h in holders]
    threads[0].start()
    assert keeper.in_flight.wait(10)
    for thread in threads[1:]:
        thread.start()
    wait_until(lambda: len(keeper._to_release) == 2, "two leases queued")
    keeper.gate.set()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)  # a failed release ends no stream
    wait_until(lambda: set(_lease_holders(app, sids).values()) == {None}, "the renewer released them")
    assert all(keeper.open(s, **who) is not None for s in sids)
    keeper.close()


def test_a_dead_pooled_connection_is_retried_once_and_a_retried_take_is_idempotent(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy import text

    from webapp.agent.lease_statements import TAKE_LEASE

    application = app_for_url(postgres_url)
    try:
        user, (sid, other_sid) = _sessions(application, 2)
        engine = application.extensions["database"].engine
        keeper = LeaseKeeper(lease_engine(engine), seconds=60, renew_every=3600)
        who = {"user_id": user["id"], "vendor_id": user["vendor_id"], "agent_type": "copilot", "lease": True}
        holder = keeper.open(sid, **who)
        assert holder is not None
        keeper.release(holder)  # the pool now holds an idle connection
        with engine.connect() as conn:  # the database restarts under it
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE pid <> pg_backend_pid() AND datname = current_database()"
                )
            )
        with caplog.at_level("INFO", logger="webapp.agent.lease_statements"):
            holder = keeper.open(sid, **who)  # no pre-ping: the dead connection fails, the retry works
        assert "connection was dead; retrying once" in caplog.text
        assert holder is not None and _lease_holders(application, [sid]) == {sid: holder}
        keeper.release(holder)
        # The take, applied but unanswered, then sent again: it matches its own holder, not a 409.
        assert keeper._direct is not None
        params = {
            "b_sid": other_sid,
            "b_uid": user["id"],
            "b_vid": user["vendor_id"],
            "b_typ": "copilot",
            "b_active": True,
            "b_gen": 0,
            "b_now_dt": None,
            "b_holder": "retried-holder",
            "b_now_ms": 1,
            "b_expires_ms": 10**13,
        }
        assert keeper._direct.rowcount(TAKE_LEASE, params) == 1
        assert keeper._direct.rowcount(TAKE_LEASE, params) == 1
        assert keeper._direct.rowcount(TAKE_LEASE, {**params, "b_holder": "another-turn"}) == 0
        keeper.close()
    finally:
        application.extensions["database"].dispose()
        application.extensions["agent_transport"].close()


def test_close_waits_for_a_renewal_in_flight_before_the_pool_goes(app: Any) -> None:
    """A renewal still running when the app's engine is disposed would keep its connection past the
    pool (found as psycopg's "deleted while still open" in a later test, under load)."""
    user, (sid,) = _sessions(app, 1)
    entered, gate, order = threading.Event(), threading.Event(), []

    class HeldRenewal(LeaseKeeper):
        def renew_all(self) -> int:
            entered.set()
            gate.wait(10)
            order.append("renewal done")
            return super().renew_all()

    keeper = HeldRenewal(lease_engine(app.extensions["database"].engine), seconds=60, renew_every=0.01)
    who = {"user_id": user["id"], "vendor_id": user["vendor_id"], "agent_type": "copilot", "lease": True}
    assert keeper.open(sid, **who) is not None  # a live lease: the renewer runs
    assert entered.wait(10)
    closer = threading.Thread(target=lambda: (keeper.close(), order.append("closed")))
    closer.start()
    wait_until(keeper._closed.is_set, "close() has begun")
    closer.join(0.3)
    assert closer.is_alive()  # close() waits while the renewal holds its connection
    gate.set()
    closer.join(10)
    assert order == ["renewal done", "closed"]
