"""Fixtures that run the real agent runtime as a subprocess on loopback.

``runtime`` (zero model latency) and ``slow_runtime`` (a model latency that makes builds and turns
observable mid-way) are session-scoped; ``start_runtime`` (from ``tests.support.runtime_process``)
starts one with any extra environment, for tests that need their own settings.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.runtime_process import RuntimeProcess, start_runtime

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
