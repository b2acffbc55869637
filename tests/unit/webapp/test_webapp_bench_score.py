"""The web app benchmark's scoring: the headline ratio is the issue's (latency vs the stub's send
time, web app p99 over nginx p99 in the same run); the figures over ``direct`` are information."""

from __future__ import annotations

from typing import Any

import pytest

from bench.webapp_bench import class_spec, score, summarize


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


def _class(held: int, p99s: dict[int, float], cpu: float, first_byte: float) -> dict[str, Any]:
    levels = []
    for n, p99 in p99s.items():
        level = {**_level(0.1, p99), "streams": n, "rss_kb_per_open_stream": 30.0}
        level["first_byte_ms"] = {"p50": first_byte / 2, "p99": first_byte}
        level["p99_vs_nginx"] = round(p99 / 5.0, 2)
        levels.append(level)
    return {"levels": levels, "max_streams_ok": held, "open_cost": {"cpu_ms_per_stream": cpu}}


def test_the_pick_meets_the_most_targets_then_holds_the_most_streams_and_the_default_is_scored_too() -> None:
    results = {
        "nginx": {"max_streams_ok": 1500},
        # both hold 1,000; "fast" has the lower p99 there but meets fewer targets
        "fast": _class(1000, {250: 4.0, 500: 9.0, 1000: 20.0}, cpu=4.1, first_byte=900.0),
        "gevent": _class(1000, {250: 5.0, 500: 7.0, 1000: 30.0}, cpu=2.4, first_byte=450.0),
        "small": _class(500, {250: 3.0, 500: 4.0}, cpu=1.0, first_byte=100.0),
    }
    summary = summarize(results, ["fast", "gevent", "small"], [250, 500, 1000])
    assert summary["recommended_worker_class"] == "gevent"
    assert summary["targets_met"] == {"fast": "2 of 5", "gevent": "5 of 5", "small": "4 of 5"}
    assert summary["default_worker_class_in_code"] == "gevent"
    assert summary["targets_for_default"] == summary["targets_for_recommended"]
    assert summary["targets_for_default"]["p99_vs_nginx_at_500"] == {
        "value": 1.4,
        "target": "<= 1.5",
        "measured": "latency p99 (receive - the stub's send time), web app / nginx, same run",
        "met": True,
    }
    # holding more streams does not outweigh the targets: "wide" holds 1,500 and meets 2 of 5
    results["wide"] = _class(1500, {250: 4.0, 500: 9.0, 1000: 20.0, 1500: 40.0}, cpu=4.1, first_byte=900.0)
    assert (
        summarize(results, ["wide", "gevent"], [250, 500, 1000, 1500])["recommended_worker_class"] == "gevent"
    )
    # on a tie in targets met, more streams held, then the lower p99 at the top level decide
    assert summarize(results, ["wide", "fast"], [250, 500, 1000, 1500])["recommended_worker_class"] == "wide"
    # the same targets met and streams held: the lower p99 at the top level
    results["gevent"]["open_cost"]["cpu_ms_per_stream"] = 4.1
    results["gevent"]["levels"][0]["first_byte_ms"]["p99"] = 900.0
    results["fast"]["levels"][1]["p99_vs_nginx"] = 1.4
    assert summarize(results, ["fast", "gevent"], [250, 500, 1000])["recommended_worker_class"] == "fast"
