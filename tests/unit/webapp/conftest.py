"""Fixtures for the web app's unit tests: an app on a migrated SQLite file with a runtime stub."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.support.runtime_stub import StubRuntime
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import Browser, add_user, app_config
from webapp import create_app


@pytest.fixture()
def app(sqlite_url: str, stub: StubRuntime, tmp_path: Any) -> Iterator[Flask]:
    stub.reset()
    application = create_app(app_config(sqlite_url, stub.url, ATTACHMENT_STORE=str(tmp_path / "attachments")))
    yield application
    application.extensions["database"].dispose()
    application.extensions["agent_transport"].close()


@pytest.fixture()
def user(app: Flask) -> dict[str, Any]:
    return add_user(app)


@pytest.fixture()
def browser(app: Flask, user: dict[str, Any]) -> Browser:
    """Signed in as ``user``."""
    b = Browser(app.test_client())
    assert b.login(user["email"], user["password"]).status_code == 302
    return b


@pytest.fixture()
def anonymous(app: Flask) -> Browser:
    return Browser(app.test_client())
