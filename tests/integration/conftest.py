"""Fixtures that run the real agent runtime as a subprocess on loopback.

``runtime`` (zero model latency) and ``slow_runtime`` (a model latency that makes builds and turns
observable mid-way) are session-scoped; ``start_runtime`` (from ``tests.support.runtime_process``)
starts one with any extra environment, for tests that need their own settings. ``runtime_app`` is
the web app, in-process on a fresh SQLite database, in front of ``runtime``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.support.runtime_process import RUNTIME_SECRET, RuntimeProcess, start_runtime
from tests.support.webapp_harness import app_config, sqlite_template, sqlite_url  # noqa: F401 (fixtures)
from webapp import create_app

SLOW_LATENCY_MS = 60


@pytest.fixture(scope="session")
def runtime() -> Iterator[RuntimeProcess]:
    """The runtime with the offline model at zero latency."""
    with start_runtime() as process:
        yield process


@pytest.fixture(scope="session")
def slow_runtime() -> Iterator[RuntimeProcess]:
    """The runtime with the offline model at ``SLOW_LATENCY_MS`` per call."""
    with start_runtime({"OFFLINE_MODEL_LATENCY_MS": str(SLOW_LATENCY_MS)}) as process:
        yield process


@pytest.fixture()
def runtime_app(sqlite_url: str, runtime: RuntimeProcess) -> Iterator[Flask]:  # noqa: F811 (the fixture)
    """The web app (in-process, its own SQLite database) in front of the real ``runtime``."""
    application = create_app(app_config(sqlite_url, runtime.url, AGENT_SIGNING_SECRET=RUNTIME_SECRET))
    yield application
    application.extensions["database"].dispose()
    application.extensions["agent_transport"].close()
