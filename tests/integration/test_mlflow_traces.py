"""A real MLflow server on loopback, the real runtime pointed at it, one full session.

The session's traces — the router's, the orchestrator's two turns, and one root trace per module
builder — are found with ``MlflowClient.search_traces`` by the session's metadata, each carrying
the session, user and vendor, and ``python -m agent_runtime.traces`` lists them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mlflow  # `make test` installs the telemetry extra: a missing mlflow fails, never skips
import pytest
import yaml

from agent_runtime.traces import find_session_traces, main, session_filter
from tests.support.runtime_process import RuntimeProcess, free_port, start_runtime
from tests.support.sse import check_stream, tool_calls, types_of

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = "integration-traces"
ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"
BUILD_FOUR = "build modules 1, 2, 3 and 4"


def _compose_allowed_hosts() -> str:
    command = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["mlflow"]["command"]
    return next(c.split("=", 1)[1] for c in command if c.startswith("--allowed-hosts="))


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` with its own SQLite store and artifact root, on a free loopback port."""
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "mlflow", "server",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination", str(root / "artifacts"),
            "--allowed-hosts", _compose_allowed_hosts(),
        ],
        cwd=root, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},  # no job-runner processes
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {(root / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server not healthy: {(root / 'server.log').read_text()[-3000:]}")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def _run_session(runtime: RuntimeProcess) -> tuple[str, dict[str, Any]]:
    """First turn, a build of four modules, and the watch until the build is done."""
    sid, token = runtime.new_session(uid=7, vid=3)
    first = runtime.chat(sid, token, ONBOARDING)
    check_stream(first)
    assert [name for name, _ in tool_calls(first)][0] == "set_playbook_outline"
    built = runtime.chat(sid, token, BUILD_FOUR)
    check_stream(built)
    assert tool_calls(built) == [("build_modules", {"module_indices": [0, 1, 2, 3]})]
    watch = runtime.action(sid, token, "watch")
    check_stream(watch)
    assert types_of(watch)[-1] == "RUN_FINISHED"
    runs: dict[str, Any] = {"first": first[0].event["runId"], "build": built[0].event["runId"]}
    # The session's usage once the build is done: the watch's closing STATE_SNAPSHOT (the ledger).
    closing = [f for f in watch if f.type == "STATE_SNAPSHOT"][-1]
    runs["session_tokens"] = int(closing.event["snapshot"]["usage"]["total_tokens"])
    return sid, runs


def _wait_for_traces(client: Any, sid: str, *, builders: int, timeout: float = 30.0) -> list[Any]:
    """MLflow logs traces asynchronously: poll until every expected trace is there and finished."""
    deadline = time.monotonic() + timeout
    while True:
        summaries = find_session_traces(client, sid, experiment=EXPERIMENT)
        kinds = Counter(s.agent_type for s in summaries)
        done = all(s.status == "OK" for s in summaries)
        if done and kinds["builder"] >= builders and kinds["orchestrator"] >= 2 and kinds["router"] >= 1:
            return summaries
        if time.monotonic() > deadline:
            states = [(s.agent_type, s.status) for s in summaries]
            pytest.fail(f"traces of {sid} incomplete after {timeout}s: {states}")
        time.sleep(0.25)


def test_a_sessions_traces_are_found_in_mlflow_by_session(
    mlflow_server: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)  # span data is fetched via the global URI
    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    prices = tmp_path / "prices.yaml"  # the offline model priced, so costs show (the packaged table: $0)
    prices.write_text(
        "models:\n"
        + "".join(
            f"  offline-{r}: {{input: 1.0, output: 5.0}}\n" for r in ("router", "orchestrator", "builder")
        )
    )
    env = {
        "MLFLOW_TRACKING_URI": mlflow_server,
        "MLFLOW_EXPERIMENT_NAME": EXPERIMENT,
        "DATA_DIR": str(tmp_path / "data"),  # the file session store
        "PRICE_TABLE": str(prices),
    }
    with start_runtime(env) as runtime:
        sid, runs = _run_session(runtime)
    # The runtime got SIGTERM right after the build: telemetry flushes MLflow's async queue before
    # the signal ends the process, so every trace is complete (none left IN_PROGRESS or missing).
    summaries = _wait_for_traces(client, sid, builders=4, timeout=15)

    # One root trace per agent run: router, orchestrator ×2 (outline, build), 4 builders.
    assert Counter(s.agent_type for s in summaries) == {"router": 1, "orchestrator": 2, "builder": 4}
    builders = [s for s in summaries if s.agent_type == "builder"]
    assert sorted(s.module_index for s in builders) == ["0", "1", "2", "3"]
    assert len({s.trace_id for s in summaries}) == 7

    # Straight from MlflowClient.search_traces, with spans.
    experiment = client.get_experiment_by_name(EXPERIMENT)
    traces = client.search_traces(locations=[experiment.experiment_id], filter_string=session_filter(sid))
    assert len(traces) == 7
    for trace in traces:
        info = trace.info
        assert info.trace_metadata["mlflow.trace.session"] == sid
        assert info.trace_metadata["mlflow.trace.user"] == "7"
        assert (info.tags["session.id"], info.tags["user.id"], info.tags["vendor_id"]) == (sid, "7", "3")
        root = next(span for span in trace.data.spans if span.parent_id is None)
        assert root.span_type == "AGENT" and root.name.startswith("invoke_agent ")
        span_types = Counter(str(span.span_type) for span in trace.data.spans)
        assert span_types["CHAT_MODEL"] >= 1, root.name
        for span in trace.data.spans:
            # (MLflow decodes attribute values as JSON, so the string "3" comes back as 3.)
            assert span.attributes.get("session.id") == sid, span.name
            assert str(span.attributes.get("vendor_id")) == "3", span.name
        assert int(root.attributes["playbook.run.total_tokens"]) > 0
        # Usage and cost for ops to sum per session, user and vendor.
        assert float(root.attributes["playbook.run.cost_usd"]) > 0
        assert int(root.attributes["playbook.session.total_tokens"]) >= int(
            root.attributes["playbook.run.total_tokens"]
        )
        assert float(root.attributes["playbook.run.latency_ms"]) > 0
        assert info.token_usage and info.token_usage["total_tokens"] > 0

    orchestrator = [s for s in summaries if s.agent_type == "orchestrator"]
    assert [s.run_id for s in orchestrator] == [runs["first"], runs["build"]]
    assert {t.name for t in orchestrator[0].tool_calls} >= {"set_playbook_outline", "suggest_replies"}
    assert [t.name for t in orchestrator[1].tool_calls] == ["build_modules"]
    for builder in builders:
        names = Counter(t.name for t in builder.tool_calls)
        assert names["add_tasks"] >= 1 and names["add_task_step"] >= 1
        assert all(t.ok for t in builder.tool_calls) and not builder.errors
    assert len({s.run_id for s in builders}) == 1  # one build job

    # The ops CLI over the same server.
    out = subprocess.run(
        [sys.executable, "-m", "agent_runtime.traces", sid, "--tracking-uri", mlflow_server, "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    listed = json.loads(out.stdout)
    assert [row["trace_id"] for row in listed] == [s.trace_id for s in summaries]
    assert main([sid, "--tracking-uri", mlflow_server]) == 0
    table = capsys.readouterr().out
    assert f"session {sid}: 7 trace(s)" in table and "builder[3]" in table and "add_task_step" in table
    assert all(s.cost_usd > 0 for s in summaries)
    total_cost = sum(s.cost_usd for s in summaries)
    assert f"tokens, ${total_cost:.4f}, 0 trace(s) with errors" in table
    # The session's usage is the runtime's ledger: every model response of every agent (the router's
    # too) adds to it, and each run's root span records it after the run's own last response. So
    # the latest record is the session's final total, and it is exactly the sum of the runs' own
    # tokens (``playbook.run.total_tokens``, from Strands' per-agent metrics). MLflow's per-trace
    # ``token_usage`` is not compared: it is MLflow's own roll-up of the model spans, and twice (two
    # fresh-clone runs under load) the session's traces summed to one builder's first model call
    # more (+119, +125 tokens) than every model response there was (14,724, as in every run).
    session_tokens = max(s.session_total_tokens for s in summaries)
    roots = [next(sp for sp in t.data.spans if sp.parent_id is None) for t in traces]
    per_run = [(r.name, int(r.attributes["playbook.run.total_tokens"])) for r in roots]
    assert session_tokens == runs["session_tokens"] == sum(n for _, n in per_run) > 0, (
        session_tokens,
        runs["session_tokens"],
        sorted(per_run),
        [(s.agent_type, s.name, s.total_tokens, s.session_total_tokens) for s in summaries],
    )
    assert f"session usage so far: {session_tokens} tokens, $" in table
    # The CLI's per-trace tokens are the runs' own: they add up to the session's usage.
    assert sum(s.total_tokens for s in summaries) == session_tokens
    assert f"{session_tokens} tokens, ${total_cost:.4f}" in table


def test_the_cli_says_so_when_a_session_has_no_traces(
    mlflow_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["00000000-0000-4000-8000-000000000000", "--tracking-uri", mlflow_server]) == 1
    assert "no traces for session" in capsys.readouterr().out
    assert main(["bad'id", "--tracking-uri", mlflow_server]) == 2


def test_the_compose_allowed_hosts_admit_the_runtime(mlflow_server: str) -> None:
    """In compose the runtime calls MLflow as ``mlflow:5000``; MLflow refuses unknown Host headers."""
    path = "/api/2.0/mlflow/experiments/search?max_results=1"
    assert httpx.get(mlflow_server + path, headers={"Host": "mlflow:5000"}, timeout=10).status_code == 200
    assert (
        httpx.get(mlflow_server + path, headers={"Host": "attacker.example"}, timeout=10).status_code == 403
    )
