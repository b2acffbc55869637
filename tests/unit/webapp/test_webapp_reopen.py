"""Reopening a saved playbook: what the web app sends the runtime, and its refusals (runtime stub)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from agent_runtime.contract import PlaybookSpec, TokenCodec, seed_digest
from tests.support.playbooks import make_playbook
from tests.support.webapp_harness import SIGNING_SECRET, Browser, add_user
from webapp.extensions import db
from webapp.models import AgentSession
from webapp.playbooks.ids import decode_id


def _saved(browser: Browser) -> str:
    response = browser.post_json(
        "/agent/save-playbook", {"playbook": make_playbook(2, 2, 1), "idempotency_key": "k"}
    )
    assert response.status_code == 201
    return str(response.get_json()["playbook_id"])


def test_the_seed_carries_the_saved_playbook_signed_for_the_new_session(
    app: Flask, browser: Browser, stub: Any
) -> None:
    playbook_id = _saved(browser)
    # The stub answers with frames that never finish a run: the web app refuses to hand out the session.
    response = browser.post_json("/api/agent/copilot/session", {"playbook_id": playbook_id})
    assert response.status_code == 502 and response.get_json()["error"]["code"] == "UPSTREAM_FAILED"

    [seed] = [r.payload for r in stub.invocations if r.payload.get("action") == "seed"]
    codec = TokenCodec([SIGNING_SECRET])
    claims = codec.verify(seed["token"])
    assert claims.sid == seed["session_id"] and seed["playbook_id"] == playbook_id
    spec = PlaybookSpec.model_validate(seed["playbook"])
    assert [m.title for m in spec.modules] == [m["title"] for m in make_playbook(2, 2, 1)["modules"]]
    codec.verify_seed(seed["seed_token"], sid=claims.sid, digest=seed_digest(spec))  # raises if not
    with app.app_context():
        row = db.session.get(AgentSession, claims.sid)
        assert row is not None and row.playbook_id == decode_id(playbook_id)
        assert row.updated_at is None  # never listed: no stream recorded it
    assert browser.client.get("/api/drafts").get_json()["drafts"] == []


def test_another_vendors_playbook_is_404_and_the_runtime_never_hears_of_it(
    app: Flask, browser: Browser, stub: Any
) -> None:
    playbook_id = _saved(browser)
    stranger = Browser(app.test_client())
    other = add_user(app)
    assert stranger.login(other["email"], other["password"]).status_code == 302
    before = len(stub.invocations)
    refused = stranger.post_json("/api/agent/copilot/session", {"playbook_id": playbook_id})
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "NOT_FOUND"
    assert len(stub.invocations) == before
    with app.app_context():
        assert db.session.scalars(select(AgentSession).where(AgentSession.user_id == other["id"])).all() == []


def test_a_runtime_that_cannot_be_reached_is_the_envelope(app: Flask, browser: Browser, stub: Any) -> None:
    playbook_id = _saved(browser)
    app.config["RUNTIME_URL"] = "http://127.0.0.1:9"
    app.extensions["agent_transport"].close()
    from webapp.transports import make_transport

    app.extensions["agent_transport"] = make_transport(app.config)
    refused = browser.post_json("/api/agent/copilot/session", {"playbook_id": playbook_id})
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (503, "RUNTIME_RESTARTING")
