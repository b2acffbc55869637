"""The web app benchmark's scoring: the headline ratio is the issue's (latency vs the stub's send
time, web app p99 over nginx p99 in the same run); the figures over ``direct`` are information."""

from __future__ import annotations

from typing import Any

import pytest

from bench.webapp_bench import class_spec, score


def _level(p50: float, p99: float, lost: int = 0) -> dict[str, Any]:
    return {
        "streams": 500,
        "latency_ms": {"p50": p50, "p99": p99, "max": p99},
        "lost_frames": lost,
        "failed_streams": 0,
        "out_of_order_streams": 0,
    }


def test_the_ratio_is_p99_over_nginx_p99_not_a_difference_of_two_runs() -> None:
    direct, nginx, ours = _level(0.05, 3.1), _level(0.15, 3.9), _level(0.3, 9.2)
    score(ours, direct, nginx)
    assert ours["p99_vs_nginx"] == pytest.approx(9.2 / 3.9, abs=0.01)
    assert ours["nginx_p99_ms"] == pytest.approx(3.9)
    assert ours["over_direct_ms"] == {"p50": pytest.approx(0.25), "p99": pytest.approx(6.1)}
    assert ours["ok"] is True


def test_a_level_fails_on_its_own_p99_or_any_loss() -> None:
    nginx = _level(0.1, 3.0)
    slow = _level(1.0, 50.5)
    score(slow, None, nginx)
    assert slow["ok"] is False and "over_direct_ms" not in slow
    lossy = _level(0.1, 2.0, lost=1)
    score(lossy, None, nginx)
    assert lossy["ok"] is False
    tiny = _level(0.1, 2.0)
    score(tiny, None, _level(0.01, 0.2))  # nginx under the floor: the ratio is not inflated
    assert tiny["p99_vs_nginx"] == pytest.approx(2.0)


def test_class_specs_name_a_worker_class_and_its_settings() -> None:
    assert class_spec("gthread") == ("gthread", {})
    assert class_spec("gthread+WEB_SWITCH_INTERVAL_MS=1+WEB_THREADS=64") == (
        "gthread",
        {"WEB_SWITCH_INTERVAL_MS": "1", "WEB_THREADS": "64"},
    )
    with pytest.raises(ValueError, match="bad class spec"):
        class_spec("gthread+oops")
