"""Saving playbooks and the playbook pages (webapp/playbooks)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.support.playbooks import make_playbook
from tests.support.webapp_harness import Browser, add_user
from webapp.extensions import db
from webapp.models import AuditEvent, Module, Playbook, Task, TaskStep
from webapp.playbooks import service
from webapp.playbooks.ids import decode_id


def counts(app: Flask) -> tuple[int, int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(m))  # type: ignore[return-value]
            for m in (Playbook, Module, Task, TaskStep)
        )


def save(browser: Browser, playbook: Any, key: str = "key-1", **extra: Any) -> Any:
    return browser.post_json("/agent/save-playbook", {"playbook": playbook, "idempotency_key": key, **extra})


def test_save_stores_the_whole_playbook_for_the_users_vendor(
    app: Flask, browser: Browser, user: dict
) -> None:
    response = save(browser, make_playbook(3, 2, 2))
    assert response.status_code == 201
    body = response.get_json()
    with app.test_request_context():
        assert decode_id(body["playbook_id"]) == body["playbook_id_decoded"]
    assert counts(app) == (1, 3, 6, 12)
    with app.app_context():
        playbook = db.session.get(Playbook, body["playbook_id_decoded"])
        assert playbook.vendor_id == user["vendor_id"] and playbook.created_by == user["id"]
        assert [m.title for m in playbook.modules] == ["Module 1", "Module 2", "Module 3"]
        assert [s.title for s in playbook.modules[1].tasks[1].steps] == ["Step 2.2.1", "Step 2.2.2"]
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1
    page = browser.client.get(f"/playbooks/{body['playbook_id']}")
    assert page.status_code == 200 and "Step 3.2.2" in page.get_data(as_text=True)


def test_vendor_comes_from_the_login_never_the_body(app: Flask, browser: Browser, user: dict) -> None:
    response = save(browser, make_playbook(1, 1, 1), vendor_id=999)
    assert response.status_code == 400  # unknown fields are refused outright
    playbook = make_playbook(1, 1, 1)
    playbook["vendor_id"] = 999
    assert save(browser, playbook).status_code == 400
    assert counts(app) == (0, 0, 0, 0)


def test_repeated_key_returns_the_first_result_and_a_changed_body_is_409(
    app: Flask, browser: Browser
) -> None:
    first = save(browser, make_playbook(2, 2, 2))
    again = save(browser, make_playbook(2, 2, 2))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    conflict = save(browser, make_playbook(2, 2, 3))
    assert conflict.status_code == 409 and conflict.get_json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert counts(app) == (1, 2, 4, 8)


def test_keys_are_per_vendor(app: Flask, browser: Browser) -> None:
    other_user = add_user(app)
    other = Browser(app.test_client())
    other.login(other_user["email"], other_user["password"])
    a, b = save(browser, make_playbook(1, 1, 1)), save(other, make_playbook(1, 1, 1))
    assert a.status_code == b.status_code == 201
    assert a.get_json()["playbook_id"] != b.get_json()["playbook_id"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"playbook": make_playbook(1, 1, 1)}, 400),  # no key
        ({"playbook": make_playbook(1, 1, 1), "idempotency_key": ""}, 400),
        ({"playbook": make_playbook(1, 1, 1), "idempotency_key": "k" * 101}, 400),
        ({"idempotency_key": "k"}, 400),
        ({"playbook": {"modules": [{"title": ""}]}, "idempotency_key": "k"}, 400),
        ({"playbook": {"modules": [{"title": "m"}] * 21}, "idempotency_key": "k"}, 400),
        ({"playbook": "nope", "idempotency_key": "k"}, 400),
        ({"playbook": make_playbook(1, 1, 1), "idempotency_key": "k", "session_id": "not-mine"}, 403),
    ],
)
def test_malformed_saves_are_refused_and_write_nothing(
    app: Flask, browser: Browser, body: dict, status: int
) -> None:
    response = browser.post_json("/agent/save-playbook", body)
    assert response.status_code == status, response.get_data(as_text=True)
    assert "error" in response.get_json()
    assert counts(app) == (0, 0, 0, 0)


def test_oversized_save_is_413_before_parsing(app: Flask, browser: Browser) -> None:
    from agent_runtime.contract import Limits

    body = json.dumps(
        {"playbook": {"title": "x", "description": "y" * Limits.MAX_SAVE_BYTES}, "idempotency_key": "k"}
    )
    response = browser.client.post(
        "/agent/save-playbook", data=body, headers=browser.headers(**{"Content-Type": "application/json"})
    )
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert counts(app) == (0, 0, 0, 0)


def test_save_refusals_text_plain_cross_site_and_anonymous(
    app: Flask, browser: Browser, anonymous: Browser
) -> None:
    body = json.dumps({"playbook": make_playbook(1, 1, 1), "idempotency_key": "k"})
    plain = browser.client.post(
        "/agent/save-playbook", data=body, headers=browser.headers(**{"Content-Type": "text/plain"})
    )
    cross = browser.client.post(
        "/agent/save-playbook",
        data=body,
        headers={**browser.headers(**{"Content-Type": "application/json"}), "Sec-Fetch-Site": "cross-site"},
    )
    anon = anonymous.client.post(
        "/agent/save-playbook", data=body, headers={"Content-Type": "application/json"}
    )
    assert (plain.status_code, cross.status_code, anon.status_code) == (415, 403, 401)
    assert counts(app) == (0, 0, 0, 0)


def test_a_save_that_fails_half_way_leaves_no_rows(
    app: Flask, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = service._insert_content

    def fail_after_inserting(conn: Any, playbook_id: int, spec: Any) -> None:
        real(conn, playbook_id, spec)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "_insert_content", fail_after_inserting)
    response = save(browser, make_playbook(2, 2, 2))
    assert response.status_code == 500 and response.get_json()["error"]["code"] == "INTERNAL"
    assert counts(app) == (0, 0, 0, 0)
    monkeypatch.setattr(service, "_insert_content", real)
    assert save(browser, make_playbook(2, 2, 2)).status_code == 201  # the key was not burnt


def test_source_session_is_recorded(app: Flask, browser: Browser, stub: Any) -> None:
    session = browser.mint()
    stub.canvases[session["session_id"]] = make_playbook(1, 1, 1)
    body = save(browser, make_playbook(1, 1, 1), session_id=session["session_id"]).get_json()
    with app.app_context():
        assert (
            db.session.get(Playbook, body["playbook_id_decoded"]).source_session_id == session["session_id"]
        )


def test_list_and_edit_pages_are_vendor_scoped(app: Flask, browser: Browser) -> None:
    saved = save(browser, make_playbook(2, 1, 1, title="Quarterly review")).get_json()
    listing = browser.client.get("/playbooks").get_data(as_text=True)
    assert "Quarterly review" in listing and f"/playbooks/{saved['playbook_id']}" in listing
    other_user = add_user(app)
    other = Browser(app.test_client())
    other.login(other_user["email"], other_user["password"])
    assert "Quarterly review" not in other.client.get("/playbooks").get_data(as_text=True)
    assert other.client.get(f"/playbooks/{saved['playbook_id']}").status_code == 404
    assert other.client.get(f"/api/playbooks/{saved['playbook_id']}").status_code == 404
    assert (
        other.put_json(
            f"/api/playbooks/{saved['playbook_id']}", {"playbook": make_playbook(1, 1, 1)}
        ).status_code
        == 404
    )
    assert (
        other.client.delete(f"/api/playbooks/{saved['playbook_id']}", headers=other.headers()).status_code
        == 404
    )
    assert browser.client.get("/playbooks/not-an-id").status_code == 404
    assert browser.client.get(f"/playbooks/{saved['playbook_id_decoded']}").status_code == 404


def test_edit_replaces_content_in_one_transaction(app: Flask, browser: Browser) -> None:
    saved = save(browser, make_playbook(3, 2, 2)).get_json()
    edited = make_playbook(2, 1, 3, title="Renamed")
    edited["modules"].reverse()
    response = browser.put_json(f"/api/playbooks/{saved['playbook_id']}", {"playbook": edited})
    assert response.status_code == 200
    got = browser.client.get(f"/api/playbooks/{saved['playbook_id']}").get_json()["playbook"]
    assert got["title"] == "Renamed" and [m["title"] for m in got["modules"]] == ["Module 2", "Module 1"]
    assert counts(app) == (1, 2, 2, 6)
    bad = browser.put_json(
        f"/api/playbooks/{saved['playbook_id']}", {"playbook": {"modules": [{"title": ""}]}}
    )
    assert bad.status_code == 400 and counts(app) == (1, 2, 2, 6)
    no_csrf = browser.client.put(
        f"/api/playbooks/{saved['playbook_id']}",
        json={"playbook": edited},
        headers={"Origin": "http://localhost"},
    )
    assert no_csrf.status_code == 403


def test_delete(app: Flask, browser: Browser) -> None:
    saved = save(browser, make_playbook(1, 1, 1)).get_json()
    assert (
        browser.client.delete(f"/api/playbooks/{saved['playbook_id']}", headers=browser.headers()).status_code
        == 200
    )
    assert counts(app) == (0, 0, 0, 0)


def test_bulk_insert_uses_few_statements(app: Flask) -> None:
    """12 × 10 × 5 is saved with one INSERT per table (plus the audit row), not row by row."""
    from sqlalchemy import event

    from agent_runtime.contract import PlaybookSpec

    user = add_user(app)
    statements: list[str] = []
    engine = app.extensions["database"].engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        service.save_playbook(
            engine,
            spec=PlaybookSpec.model_validate(make_playbook(12, 10, 5)),
            vendor_id=user["vendor_id"],
            user_id=user["id"],
            idempotency_key="bulk",
        )
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    inserts = [s for s in statements if s.startswith("INSERT")]
    assert len(inserts) == 6, inserts  # playbook, modules, tasks, steps, its first version, audit
    assert counts(app) == (1, 12, 120, 600)


def test_a_save_with_a_session_stores_that_sessions_canvas_not_the_pages(
    app: Flask, browser: Browser, stub: Any
) -> None:
    """Issue 10: a page holding another vendor's canvas (a shared tab) cannot save it."""
    session = browser.mint()
    stub.canvases[session["session_id"]] = make_playbook(2, 1, 1, title="Mine, from my session")
    foreign = make_playbook(3, 1, 1, title="Another vendor's plan")
    response = save(browser, foreign, key="shared-tab", session_id=session["session_id"])
    assert response.status_code == 201, response.get_data(as_text=True)
    with app.app_context():
        stored = db.session.get(Playbook, response.get_json()["playbook_id_decoded"])
        assert stored is not None and stored.title == "Mine, from my session" and len(stored.modules) == 2
    watch = [r.payload for r in stub.invocations if r.payload.get("action") == "watch"]
    assert watch and watch[-1]["session_id"] == session["session_id"]


def test_a_save_naming_a_colleagues_session_is_refused(
    app: Flask, browser: Browser, user: dict, stub: Any
) -> None:
    colleague = add_user(app, vendor=user["vendor"])
    other = Browser(app.test_client())
    assert other.login(colleague["email"], colleague["password"]).status_code == 302
    theirs = other.mint()
    stub.canvases[theirs["session_id"]] = make_playbook(1, 1, 1)
    response = save(browser, make_playbook(1, 1, 1), key="k-colleague", session_id=theirs["session_id"])
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "SESSION_MISMATCH"


def test_a_session_with_nothing_on_its_canvas_has_nothing_to_save(browser: Browser, stub: Any) -> None:
    session = browser.mint()
    stub.canvases[session["session_id"]] = {"title": "", "description": "", "modules": []}
    response = save(browser, make_playbook(1, 1, 1), key="k-empty", session_id=session["session_id"])
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "NOTHING_TO_SAVE"
