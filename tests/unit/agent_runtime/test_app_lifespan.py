"""The runtime application's wiring: services built once, shut down when the app stops."""

from __future__ import annotations

import warnings
from pathlib import Path

SECRET = "s" * 40


def test_stopping_the_app_shuts_its_builders_down(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    with warnings.catch_warnings():
        # bedrock-agentcore's RequestContext still uses a class-based pydantic Config (third party).
        warnings.filterwarnings("ignore", "Support for class-based `config` is deprecated")
        from agent_runtime.app import create_app
    from agent_runtime.config import load_settings

    settings = load_settings(
        {"AGENT_SIGNING_SECRET": SECRET, "MODEL_PROVIDER": "offline", "DATA_DIR": str(tmp_path / "data")}
    )
    app = create_app(settings)
    builds = app.state.services.builds
    shut: list[bool] = []
    shutdown = builds.shutdown
    builds.shutdown = lambda: (shut.append(True), shutdown())[1]  # type: ignore[method-assign]
    with TestClient(app, client=("127.0.0.1", 50000)) as client:  # stats answer loopback only
        assert client.get("/ping").status_code == 200
        assert client.get("/_runtime/stats").json()["sessions"] == 0
        assert shut == []
    assert shut == [True]
