"""Pages: /builder, /healthz, the playbook list and edit page."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from tests.support.runtime_stub import StubRuntime
from tests.support.webapp_harness import Browser
from webapp import builder


def test_builder_without_a_build_explains_how_to_build(
    browser: Browser, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(builder, "BUILD_DIR", tmp_path / "missing")
    response = browser.client.get("/builder")
    assert response.status_code == 503
    assert "make run" in response.get_data(as_text=True)


def test_builder_serves_index_with_csrf_meta_and_assets(
    browser: Browser, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(
        '<html><head><title>B</title></head><body><div id="app"></div></body></html>'
    )
    (tmp_path / "assets" / "app-1.js").write_text("console.log(1)")
    monkeypatch.setattr(builder, "BUILD_DIR", tmp_path)
    page = browser.client.get("/builder")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<meta name="csrf-token" content="' in html
    asset = browser.client.get("/builder/assets/app-1.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["Cache-Control"]
    asset.close()
    assert browser.client.get("/builder/playbook/123").status_code == 200  # client-side route
    assert browser.client.get("/builder/assets/missing.js").status_code == 404
    assert browser.client.get("/builder/../../config.py").status_code == 404


def test_builder_needs_login(anonymous: Browser) -> None:
    assert anonymous.client.get("/builder").status_code == 302


def test_server_pages_name_their_icon(anonymous: Browser, browser: Browser) -> None:
    """Without one, browsers ask for /favicon.ico: a 404 in the console of the login page (seen by
    a newcomer under make run). The builder's own page carries the same icon inline."""
    import re

    for client, path in (
        (anonymous.client, "/login"),
        (browser.client, "/approvals"),
        (browser.client, "/nowhere"),
    ):
        html = client.get(path).get_data(as_text=True)
        icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
        assert icon is not None, path
        served = client.get(icon.group(1))
        assert served.status_code == 200 and served.mimetype == "image/svg+xml"
        served.close()


def test_healthz_reports_database_and_runtime(app: Flask, browser: Browser, stub: StubRuntime) -> None:
    # Signed in: the runtimes by address (anonymous callers get only the flags).
    body = browser.client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["database"]["ok"] is True
    assert body["runtime"]["ok"] is True and body["runtime"]["runtimes"][stub.url]["status"] == "Healthy"
    app.extensions["agent_transport"].urls = ["http://127.0.0.1:9"]
    degraded = app.test_client().get("/healthz")
    assert degraded.status_code == 200 and degraded.get_json()["status"] == "degraded"


def test_healthz_is_503_when_the_database_is_down(tmp_path: Path, stub: StubRuntime) -> None:
    from tests.support.webapp_harness import app_config
    from webapp import create_app

    app = create_app(app_config(f"sqlite:///{tmp_path}/no/such/dir/x.db", stub.url))
    try:
        response = app.test_client().get("/healthz")
        assert response.status_code == 503 and response.get_json()["database"]["ok"] is False
    finally:
        app.extensions["agent_transport"].close()
