"""agent_runtime.telemetry: trace attributes on every Strands span, builder root traces, JSON logs.

Spans are captured with OpenTelemetry's ``InMemorySpanExporter`` on the global SDK tracer provider,
the one Strands' tracer resolves through ``trace_api.get_tracer_provider()``.
"""

from __future__ import annotations

import io
import json
import logging
import signal
import subprocess
import sys
import uuid
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from strands import Agent, tool
from strands.models.model import Model

from agent_runtime import telemetry
from agent_runtime.telemetry import attributes as attrs

ROOT = Path(__file__).resolve().parents[3]
IDS = {"session.id": "3b0c8a9e-5f0e-4c43-9d55-0a4b8c1f2e77", "user.id": "7", "vendor_id": "3"}

_EXPORTER: InMemorySpanExporter | None = None


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """An in-memory exporter on the global SDK tracer provider (installed once per process)."""
    global _EXPORTER
    if _EXPORTER is None:
        provider = trace_api.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace_api.set_tracer_provider(provider)
        _EXPORTER = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


class ScriptedModel(Model):
    """A strict scripted model: each call plays the next turn, ``("tool", name, input)`` or ``("text", s)``.

    Each call reports 10 input and 5 output tokens.
    """

    def __init__(self, turns: list[tuple[Any, ...]]) -> None:
        self.turns = list(turns)
        self.config: dict[str, Any] = {"model_id": "scripted"}

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)

    def get_config(self) -> Any:
        return self.config

    def structured_output(
        self, output_model: Any, prompt: Any, system_prompt: Any = None, **kwargs: Any
    ) -> Any:
        raise AssertionError("structured output was not scripted")

    async def stream(
        self, messages: Any, tool_specs: Any = None, system_prompt: Any = None, **kwargs: Any
    ) -> AsyncIterator[Any]:  # type: ignore[override]
        assert self.turns, "unexpected model call"
        kind, *rest = self.turns.pop(0)
        yield {"messageStart": {"role": "assistant"}}
        if kind == "tool":
            name, tool_input = rest
            yield {
                "contentBlockStart": {
                    "start": {"toolUse": {"toolUseId": f"t-{name}-{len(self.turns)}", "name": name}}
                }
            }
            yield {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(tool_input)}}}}
            yield {"contentBlockStop": {}}
            yield {"messageStop": {"stopReason": "tool_use"}}
        else:
            yield {"contentBlockStart": {"start": {}}}
            yield {"contentBlockDelta": {"delta": {"text": rest[0]}}}
            yield {"contentBlockStop": {}}
            yield {"messageStop": {"stopReason": "end_turn"}}
        yield {
            "metadata": {
                "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
                "metrics": {"latencyMs": 1},
            }
        }

    def assert_complete(self) -> None:
        assert self.turns == [], f"scripted turns left over: {self.turns}"


@tool
def add_tasks(module_index: int, tasks: list[str]) -> str:
    """Add tasks to a module.

    Args:
        module_index: The module.
        tasks: Task titles.
    """
    return f"added {len(tasks)} task(s) to module {module_index}"


def _attributes(agent_type: str, **extra: Any) -> dict[str, str]:
    return telemetry.agent_trace_attributes(
        session_id=IDS["session.id"], user_id=7, vendor_id=3, agent_type=agent_type, extra=extra or None
    )


def _agent(model: ScriptedModel, agent_type: str, *, name: str, tools: list[Any], **extra: Any) -> Agent:
    attributes = _attributes(agent_type, **extra)
    return Agent(
        model=model,
        tools=tools,
        name=name,
        callback_handler=None,
        trace_attributes=attributes,
        hooks=[telemetry.AgentObservabilityHook(attributes)],
    )


def _by_trace(finished: tuple[ReadableSpan, ...]) -> dict[int, list[ReadableSpan]]:
    grouped: dict[int, list[ReadableSpan]] = {}
    for span in finished:
        assert span.context is not None
        grouped.setdefault(span.context.trace_id, []).append(span)
    return grouped


def _root(trace_spans: list[ReadableSpan]) -> ReadableSpan:
    roots = [s for s in trace_spans if s.parent is None]
    assert len(roots) == 1, [s.name for s in roots]
    return roots[0]


# --- attributes -------------------------------------------------------------------------------


def test_agent_trace_attributes_are_strings_under_the_documented_keys() -> None:
    got = telemetry.agent_trace_attributes(
        session_id="s" * 36, user_id=7, vendor_id=3, agent_type="orchestrator", run_id="run-1"
    )
    assert got == {
        "session.id": "s" * 36,
        "user.id": "7",
        "vendor_id": "3",
        "agent_type": "orchestrator",
        "run_id": "run-1",
    }


def test_agent_trace_attributes_leave_out_an_unknown_run_id_and_take_extras() -> None:
    got = telemetry.agent_trace_attributes(
        session_id="s", user_id="u", vendor_id="v", agent_type="builder", extra={"module_index": 2}
    )
    assert "run_id" not in got
    assert got["module_index"] == "2"


# --- init_telemetry ---------------------------------------------------------------------------


@pytest.fixture
def fresh_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "_backend", None)


@pytest.mark.usefixtures("fresh_backend")
def test_init_telemetry_without_tracking_uri_installs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    before = trace_api.get_tracer_provider()
    telemetry.init_telemetry()
    assert telemetry.telemetry_backend() == "none"
    assert trace_api.get_tracer_provider() is before


@pytest.mark.usefixtures("fresh_backend")
def test_init_telemetry_survives_a_missing_mlflow(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    monkeypatch.setitem(sys.modules, "mlflow", None)  # makes `import mlflow` raise ImportError
    with caplog.at_level(logging.ERROR, logger="agent_runtime.telemetry"):
        telemetry.init_telemetry()
    assert telemetry.telemetry_backend() == "none"
    assert "mlflow is not installed" in caplog.text


@pytest.mark.usefixtures("fresh_backend")
def test_init_telemetry_installs_mlflow_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent_runtime.telemetry import _mlflow

    calls: list[str] = []
    monkeypatch.setattr(_mlflow, "install", calls.append)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    telemetry.init_telemetry()
    telemetry.init_telemetry()
    assert calls == ["http://mlflow:5000"]
    assert telemetry.telemetry_backend() == "mlflow"


def test_runtime_telemetry_never_imports_mlflow_without_a_tracking_uri() -> None:
    probe = (
        "import os, sys; os.environ.pop('MLFLOW_TRACKING_URI', None)\n"
        "import agent_runtime.telemetry as t; t.init_telemetry()\n"
        "print('mlflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_sigterm_flushes_the_traces_and_still_ends_the_process() -> None:
    """Uvicorn re-raises SIGTERM after its graceful shutdown; the handler must flush, then die by it."""
    probe = (
        "import os, signal, agent_runtime.telemetry as t, agent_runtime.telemetry._mlflow as m\n"
        "m.install = lambda uri: None\n"
        "t.shutdown_telemetry = lambda *a, **k: print('flushed', flush=True)\n"
        "os.environ['MLFLOW_TRACKING_URI'] = 'http://127.0.0.1:9'\n"
        "t.init_telemetry()\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "print('not reached', flush=True)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "flushed"
    assert out.returncode == -signal.SIGTERM


def test_an_unreachable_tracking_server_is_detected_quickly() -> None:
    from agent_runtime.telemetry import _mlflow

    assert _mlflow._reachable("sqlite:///var/mlflow.db") is True
    assert _mlflow._reachable("http://127.0.0.1:9", timeout=1.0) is False


# --- spans ------------------------------------------------------------------------------------


def test_every_span_of_an_agent_run_carries_the_correlation_ids(spans: InMemorySpanExporter) -> None:
    model = ScriptedModel([("tool", "add_tasks", {"module_index": 0, "tasks": ["a", "b"]}), ("text", "done")])
    agent = _agent(model, "orchestrator", name="orchestrator", tools=[add_tasks])
    with telemetry.log_context(session_id=IDS["session.id"], run_id="run-1"):
        agent("plan it")
    model.assert_complete()

    finished = spans.get_finished_spans()
    operations = sorted({str(s.attributes.get("gen_ai.operation.name")) for s in finished})  # type: ignore[union-attr]
    assert operations == ["chat", "execute_event_loop_cycle", "execute_tool", "invoke_agent"]
    for span in finished:
        got = dict(span.attributes or {})
        assert {k: got.get(k) for k in IDS} == IDS, span.name
        assert got.get("agent_type") == "orchestrator", span.name
        assert got.get("run_id") == "run-1", span.name


def test_model_spans_carry_usage_and_the_agent_span_this_runs_tokens_and_latency(
    spans: InMemorySpanExporter,
) -> None:
    model = ScriptedModel(
        [("text", "first"), ("tool", "add_tasks", {"module_index": 0, "tasks": ["a"]}), ("text", "second")]
    )
    agent = _agent(model, "orchestrator", name="orchestrator", tools=[add_tasks])
    with telemetry.log_context(run_id="run-1"):
        agent("one")
    with telemetry.log_context(run_id="run-2"):
        agent("two")  # the same (cached) agent, a new run

    finished = spans.get_finished_spans()
    for span in finished:
        if (span.attributes or {}).get("gen_ai.operation.name") == "chat":
            assert span.attributes["gen_ai.usage.input_tokens"] == 10  # type: ignore[index]
            assert span.attributes["gen_ai.usage.total_tokens"] == 15  # type: ignore[index]
    agent_spans = {str(s.attributes["run_id"]): s for s in finished if s.parent is None}  # type: ignore[index]
    assert set(agent_spans) == {"run-1", "run-2"}
    second = dict(agent_spans["run-2"].attributes or {})
    # Strands' own gen_ai.usage on the agent span is the agent's lifetime total (3 calls) …
    assert second["gen_ai.usage.total_tokens"] == 45
    # … the hook adds this run's own numbers (2 model calls).
    assert second[attrs.RUN_TOTAL_TOKENS] == 30
    assert second[attrs.RUN_INPUT_TOKENS] == 20
    assert second[attrs.RUN_OUTPUT_TOKENS] == 10
    assert second[attrs.RUN_MODEL_CALLS] == 2
    assert float(second[attrs.RUN_LATENCY_MS]) > 0  # type: ignore[arg-type]
    assert dict(agent_spans["run-1"].attributes or {})[attrs.RUN_TOTAL_TOKENS] == 15


def test_the_hook_alone_puts_the_ids_on_every_span(spans: InMemorySpanExporter) -> None:
    attributes = _attributes("router")
    model = ScriptedModel([("text", "hello")])
    Agent(
        model=model,
        name="router",
        callback_handler=None,
        hooks=[telemetry.AgentObservabilityHook(attributes)],
    )("hi")
    for span in spans.get_finished_spans():
        got = dict(span.attributes or {})
        assert {k: got.get(k) for k in IDS} == IDS, span.name
        assert got["agent_type"] == "router"


def _run_build(
    spans: InMemorySpanExporter, *, detach: bool, modules: int = 4
) -> dict[int, list[ReadableSpan]]:
    """An orchestrator whose tool starts one builder per module on a thread pool (like build_modules)."""
    pool = ThreadPoolExecutor(max_workers=3)
    futures: list[Future[Any]] = []

    def build_one(index: int) -> None:
        model = ScriptedModel(
            [("tool", "add_tasks", {"module_index": index, "tasks": ["t1", "t2"]}), ("text", "ok")]
        )
        builder = _agent(model, "builder", name=f"builder_{index}", tools=[add_tasks], module_index=index)
        builder(f"build module {index}")
        model.assert_complete()

    def job(index: int) -> None:
        if detach:
            with telemetry.detached_otel_context(), telemetry.log_context(agent_type="builder"):
                build_one(index)
        else:
            build_one(index)

    @tool
    def build_modules(count: int) -> str:
        """Start building modules in the background.

        Args:
            count: How many modules.
        """
        futures.extend(pool.submit(job, i) for i in range(count))
        return "building"

    model = ScriptedModel([("tool", "build_modules", {"count": modules}), ("text", "Building now")])
    orchestrator = _agent(model, "orchestrator", name="orchestrator", tools=[build_modules])
    with telemetry.log_context(session_id=IDS["session.id"], run_id="run-build"):
        orchestrator("build it")
    for future in futures:
        future.result(timeout=30)
    pool.shutdown()
    return _by_trace(spans.get_finished_spans())


def test_builders_inside_detached_context_start_their_own_root_traces(spans: InMemorySpanExporter) -> None:
    traces = _run_build(spans, detach=True)
    roots: dict[str, list[ReadableSpan]] = {}
    for trace_spans in traces.values():
        root = _root(trace_spans)
        roots.setdefault(str((root.attributes or {})["agent_type"]), []).append(root)
        for span in trace_spans:
            got = dict(span.attributes or {})
            assert {k: got.get(k) for k in IDS} == IDS, span.name
    assert len(roots["orchestrator"]) == 1
    assert sorted(str(r.attributes["module_index"]) for r in roots["builder"]) == ["0", "1", "2", "3"]  # type: ignore[index]
    assert all(r.name.startswith("invoke_agent builder_") for r in roots["builder"])


def test_without_detaching_builders_would_nest_under_the_orchestrator(spans: InMemorySpanExporter) -> None:
    # Strands instruments threading, so pool jobs inherit the submitting tool span; this is why
    # builders must run inside detached_otel_context().
    traces = _run_build(spans, detach=False, modules=2)
    assert len(traces) == 1


# --- logs -------------------------------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    telemetry.configure_logging("INFO", stream=stream)
    yield stream
    for handler in list(root.handlers):
        if getattr(handler, "_playbook_handler", False):
            root.removeHandler(handler)
    root.setLevel(level)


def test_json_logs_carry_session_run_and_trace_ids(json_log: io.StringIO) -> None:
    log = logging.getLogger("agent_runtime.test")
    tracer = TracerProvider().get_tracer("test")
    with (
        telemetry.log_context(session_id="sess-1", run_id="run-1"),
        tracer.start_as_current_span("turn") as span,
    ):
        log.info("session_id=<%s> | turn finished", "sess-1", extra={"tool_calls": 3})
    log.info("outside")
    first, second = (json.loads(line) for line in json_log.getvalue().splitlines())
    assert first["message"] == "session_id=<sess-1> | turn finished"
    assert first["session_id"] == "sess-1" and first["run_id"] == "run-1"
    assert first["trace_id"] == trace_api.format_trace_id(span.get_span_context().trace_id)
    assert first["tool_calls"] == 3 and first["level"] == "info"
    assert "session_id" not in second and "trace_id" not in second


def test_log_context_nests_and_restores() -> None:
    with telemetry.log_context(session_id="s1"):
        with telemetry.log_context(run_id="r1"):
            assert (telemetry.current_session_id(), telemetry.current_run_id()) == ("s1", "r1")
        assert (telemetry.current_session_id(), telemetry.current_run_id()) == ("s1", None)
    assert telemetry.current_session_id() is None


def test_configure_logging_is_idempotent(json_log: io.StringIO) -> None:
    telemetry.configure_logging("INFO", stream=json_log)
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_playbook_handler", False)]
    assert len(ours) == 1


# --- one full session through the real runtime, in process ------------------------------------

SECRET = "telemetry-test-signing-secret-" + "x" * 16
ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"


def _post(client: Any, sid: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    from agent_runtime.contract import SESSION_HEADER

    response = client.post("/invocations", json=body, headers={SESSION_HEADER: sid})
    assert response.status_code == 200, response.text
    events = [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
    assert events and events[-1]["type"] == "RUN_FINISHED", [e["type"] for e in events][-5:]
    return events


def test_one_full_session_yields_per_turn_orchestrator_traces_and_four_builder_roots(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    """First turn + a build of 4 modules, driven through the real app with the offline model."""
    from starlette.testclient import TestClient

    with warnings.catch_warnings():
        # bedrock-agentcore's RequestContext still uses a class-based pydantic Config (third party).
        warnings.filterwarnings("ignore", "Support for class-based `config` is deprecated")
        from agent_runtime.app import create_app
    from agent_runtime.config import load_settings
    from agent_runtime.contract import TokenCodec

    settings = load_settings(
        {"AGENT_SIGNING_SECRET": SECRET, "MODEL_PROVIDER": "offline", "DATA_DIR": str(tmp_path / "data")}
    )
    app = create_app(settings)
    sid = str(uuid.uuid4())
    ids = {"session.id": sid, "user.id": "7", "vendor_id": "3"}
    token = TokenCodec([SECRET]).mint(sid=sid, uid=7, vid=3, typ="copilot")
    with TestClient(app) as client:
        first = _post(
            client, sid, {"action": "chat", "session_id": sid, "token": token, "prompt": ONBOARDING}
        )
        build = _post(
            client,
            sid,
            {"action": "chat", "session_id": sid, "token": token, "prompt": "build modules 1, 2, 3 and 4"},
        )
        _post(
            client, sid, {"action": "watch", "session_id": sid, "token": token}
        )  # ends when the build is done
    run_ids = [first[0]["runId"], build[0]["runId"]]

    traces = _by_trace(spans.get_finished_spans())
    roots = {trace_id: _root(trace_spans) for trace_id, trace_spans in traces.items()}
    kinds = sorted(str(root.attributes["agent_type"]) for root in roots.values())  # type: ignore[index]
    assert kinds == ["builder"] * 4 + ["orchestrator"] * 2 + ["router"]

    # Every span of every trace carries the same session, user and vendor.
    for trace_spans in traces.values():
        for span in trace_spans:
            got = dict(span.attributes or {})
            assert {k: got.get(k) for k in ids} == ids, span.name

    # One orchestrator trace per chat turn, each with agent-loop, model and tool spans.
    orchestrators = sorted(
        (t for t, r in roots.items() if r.attributes["agent_type"] == "orchestrator"),  # type: ignore[index]
        key=lambda t: roots[t].start_time or 0,
    )
    for trace_id, run_id in zip(orchestrators, run_ids, strict=True):
        operations = Counter(str((s.attributes or {}).get("gen_ai.operation.name")) for s in traces[trace_id])
        assert operations["invoke_agent"] == 1 and operations["execute_event_loop_cycle"] >= 1
        assert operations["chat"] >= 1 and operations["execute_tool"] >= 1
        assert {str(s.attributes["run_id"]) for s in traces[trace_id]} == {run_id}  # type: ignore[index]
    build_tools = [s.attributes.get("gen_ai.tool.name") for s in traces[orchestrators[1]] if s.attributes]
    assert "build_modules" in build_tools

    # Four builder root traces, one per module, none inside the orchestrator's trace.
    builders = [t for t, r in roots.items() if r.attributes["agent_type"] == "builder"]  # type: ignore[index]
    assert sorted(str(roots[t].attributes["module_index"]) for t in builders) == ["0", "1", "2", "3"]  # type: ignore[index]
    for trace_id in builders:
        assert roots[trace_id].parent is None
        tools = {s.attributes.get("gen_ai.tool.name") for s in traces[trace_id] if s.attributes}
        assert {"add_tasks", "add_task_step"} <= tools
        root_attrs = dict(roots[trace_id].attributes or {})
        assert int(root_attrs[attrs.RUN_TOTAL_TOKENS]) > 0 and float(root_attrs[attrs.RUN_LATENCY_MS]) > 0  # type: ignore[arg-type]
