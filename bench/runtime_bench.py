"""Agent runtime benchmarks; writes ``bench/results/runtime.json``.

1. **Chat-turn overhead** with the offline model at zero latency: a first turn (router →
   handoff → orchestrator outline, the whole DESIGN §7 sequence) on a fresh session each time,
   ≥ 200 turns, p50/p99 in ms — through HTTP on loopback against ``python -m agent_runtime``, and
   in-process (dispatcher + agents, no HTTP). Target: HTTP p50 ≤ 25 ms.

   In-process, side by side in one run (turns interleaved, so the machine's load hits every
   variant alike): **bare Strands** — a plain router ``Agent`` and orchestrator ``Agent`` with
   the same offline models, prompts and tools (the canvas tools and the playbook library's MCP
   tools, as Strands' own ``MCPAgentTool``), no dispatcher, events or store — against the
   runtime with its file store (the session journal), with Strands' ``FileSessionManager`` (the
   store before the journal) and with no store. Wall-clock p50 and CPU time per turn
   (``process_time``, all threads; steadier on a shared machine), and each variant's ratio to
   bare Strands. Target: runtime ≤ 1.3× bare Strands. ``bare_strands_canvas_tools_only`` is the
   baseline as it was before the orchestrator had MCP tools (kept to compare with older results).
2. **Build wall time** for 9 modules at ``OFFLINE_MODEL_LATENCY_MS=100`` with 3 workers, against
   the ideal ``ceil(9/3) × per-module time``, the per-module time measured by building each
   module alone in the same run (mean). Also the tighter lower bound ``max(Σt/3, max t)``.
   Target: efficiency (ideal / wall) ≥ 0.9. Measured in-process (the builder pool itself) and
   end to end over HTTP (``build it`` → ``watch`` finished).
3. **Builder fairness** between sessions, in-process, same latency and workers, the fair pool
   (``BUILDER_SCHEDULING=fair``) against first come, first served (``fifo``) in the same run:
   five sessions each building 9 modules submitted together (per session: first builder started
   and build finished), and a 1-module build submitted just after another session's 20-module
   build (its wall time against the same module built alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "runtime.json"
SECRET = "bench-secret-" + "b" * 40
ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"
HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
TURNS = int(os.environ.get("BENCH_TURNS", "250"))
WARMUP = 20
BUILD_LATENCY_MS = 100
BUILD_MODULES = 9
WORKERS = 3
FAIR_SESSIONS = 5
LARGE_BUILD = 20


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def _summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(values_ms),
        "p50_ms": round(statistics.median(values_ms), 2),
        "p99_ms": round(_percentile(values_ms, 99), 2),
        "mean_ms": round(statistics.fmean(values_ms), 2),
        "max_ms": round(max(values_ms), 2),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _runtime(**env: str) -> Iterator[str]:
    port = _free_port()
    full_env = {
        **os.environ,
        "AGENT_SIGNING_SECRET": SECRET,
        "APP_ENV": "development",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        **env,
    }
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent_runtime"], cwd=ROOT, env=full_env, stdout=log, stderr=log
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"runtime exited: {log.read().decode(errors='replace')}")
                try:
                    if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("runtime did not start")
                time.sleep(0.05)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _codec() -> Any:
    from agent_runtime.contract import TokenCodec

    return TokenCodec([SECRET])


def _session(codec: Any) -> tuple[str, str]:
    sid = str(uuid.uuid4())
    return sid, codec.mint(sid=sid, uid=1, vid=1, typ="copilot")


def _frames(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in raw.decode().split("\n") if line.startswith("data: ")]


# ------------------------------------------------------------------------------------------------
# 1. chat-turn overhead
# ------------------------------------------------------------------------------------------------


def http_turn_overhead() -> dict[str, Any]:
    """First turns on fresh sessions through HTTP on loopback."""
    codec = _codec()
    with _runtime(OFFLINE_MODEL_LATENCY_MS="0") as url, httpx.Client(timeout=30) as client:
        times: list[float] = []
        for i in range(WARMUP + TURNS):
            sid, token = _session(codec)
            body = {"session_id": sid, "token": token, "action": "chat", "prompt": ONBOARDING}
            started = time.perf_counter()
            response = client.post(f"{url}/invocations", json=body, headers={HEADER: sid})
            raw = response.content
            elapsed = (time.perf_counter() - started) * 1000
            frames = _frames(raw)
            if not frames or frames[-1]["type"] != "RUN_FINISHED":
                raise RuntimeError(f"turn {i} did not finish: {raw[-300:]!r}")
            if i >= WARMUP:
                times.append(elapsed)
    return {"turns": TURNS, "fresh_session_each": True, "events_per_turn": len(frames), **_summary(times)}


class _Tracker:
    def __init__(self) -> None:
        self.active: set[int] = set()
        self._n = 0

    def add_async_task(self, name: str, metadata: dict[str, Any] | None = None) -> int:
        self._n += 1
        self.active.add(self._n)
        return self._n

    def complete_async_task(self, task_id: int) -> bool:
        self.active.discard(task_id)
        return True


class _CanvasApplier:
    """Bare Strands' tool target: applies calls to a plain canvas (no events, no builds)."""

    def __init__(self) -> None:
        from agent_runtime.canvas import Canvas

        self.canvas = Canvas()

    def apply(self, tool_use_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        return dict(self.canvas.apply(name, args))


def _bare_strands_turn(models: Any, registry: Any, mcp_tools: list[Any] | None = None) -> Any:
    """One first turn on plain Strands agents: router (structured output), then orchestrator.

    ``mcp_tools``: the orchestrator's MCP tools (Strands' ``MCPAgentTool``s), as the runtime's has.
    """
    from strands import Agent
    from strands.tools.executors import SequentialToolExecutor

    from agent_runtime.agents.orchestrator import build_system_prompt
    from agent_runtime.agents.registry import ORCHESTRATOR, ROUTER
    from agent_runtime.agents.router import RouterDecision
    from agent_runtime.tools import make_tools

    async def turn() -> int:
        router_spec = registry.get(ROUTER)
        router = Agent(
            model=models.create(router_spec.model_role),
            system_prompt=router_spec.prompt_text,
            tools=[],
            callback_handler=None,
        )
        result = await router.invoke_async(ONBOARDING, structured_output_model=RouterDecision)
        decision = result.structured_output
        spec = registry.get(ORCHESTRATOR)
        applier = _CanvasApplier()
        orchestrator = Agent(
            model=models.create(spec.model_role),
            tools=[*make_tools(list(spec.tools), applier), *(mcp_tools or [])],
            system_prompt=build_system_prompt(
                applier.canvas, decision.handoff_context, instructions=spec.prompt_text
            ),
            tool_executor=SequentialToolExecutor(),
            callback_handler=None,
        )
        async for _ in orchestrator.stream_async(ONBOARDING):
            pass
        return len(applier.canvas.snapshot()["canvas"]["modules"])

    return turn


def _strands_file_store(root: Path) -> Any:
    """The file store as it was before the journal: Strands' ``FileSessionManager``, I/O in a thread."""
    from strands.session.file_session_manager import FileSessionManager

    from agent_runtime.session.store.file import FileStore

    class StrandsFileStore(FileStore):
        inline_io = False

        def manager(self, session_id: str) -> Any:
            return FileSessionManager(session_id, storage_dir=str(self.root))

    return StrandsFileStore(root)


def in_process_turn_overhead() -> dict[str, Any]:
    """Bare Strands and the runtime (journal, Strands file store, no store), turns interleaved."""
    from agent_runtime.agents.registry import ORCHESTRATOR
    from agent_runtime.config import load_settings
    from agent_runtime.dispatcher import Dispatcher
    from agent_runtime.services import build_services

    codec = _codec()
    folders: list[tempfile.TemporaryDirectory[str]] = []

    def runtime(store: str, *, strands_files: bool = False) -> Any:
        folder = tempfile.TemporaryDirectory(prefix="bench-sessions-")
        folders.append(folder)
        env = {"AGENT_SIGNING_SECRET": SECRET, "SESSION_STORE": store, "DATA_DIR": folder.name}
        services = build_services(load_settings(env), tracker=_Tracker())
        if strands_files:
            services.writer.store = _strands_file_store(Path(folder.name) / "sessions")
        dispatcher = Dispatcher(services)
        # The web app mints the tokens: minted before the clock starts, as in the HTTP figure.
        sessions = iter([_session(codec) for _ in range(WARMUP + TURNS)])

        async def turn() -> bytes:
            sid, token = next(sessions)
            body = {"session_id": sid, "token": token, "action": "chat", "prompt": ONBOARDING}
            stream = await dispatcher.dispatch(body, sid)
            raw = b"".join([chunk async for chunk in stream])
            if b'"type":"RUN_FINISHED"' not in raw[raw.rfind(b"data: ") :]:  # cheap: the last frame only
                raise RuntimeError("in-process turn did not finish")
            return raw

        return services, turn

    journal_services, journal_turn = runtime("file")
    strands_services, strands_turn = runtime("file", strands_files=True)
    none_services, none_turn = runtime("none")
    orchestrator = journal_services.registry.get(ORCHESTRATOR)
    mcp_tools = [tool for _, tool in journal_services.mcp.attach(orchestrator.mcp_servers, 1).tools]
    variants = {
        "bare_strands": _bare_strands_turn(journal_services.models, journal_services.registry, mcp_tools),
        "bare_strands_canvas_tools_only": _bare_strands_turn(
            journal_services.models, journal_services.registry
        ),
        "runtime": journal_turn,
        "runtime_strands_file_store": strands_turn,
        "runtime_no_store": none_turn,
    }
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    load_before = os.getloadavg()
    try:
        for i in range(WARMUP + TURNS):
            for name, turn in variants.items():
                started, started_cpu = time.perf_counter(), time.process_time()
                asyncio.run_coroutine_threadsafe(turn(), loop).result(30)
                if i >= WARMUP:
                    wall[name].append((time.perf_counter() - started) * 1000)
                    cpu[name].append((time.process_time() - started_cpu) * 1000)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        for services in (journal_services, strands_services, none_services):
            services.close()
        for folder in folders:
            folder.cleanup()
    bare_wall = statistics.median(wall["bare_strands"])
    bare_cpu = statistics.median(cpu["bare_strands"])
    side_by_side = {
        name: {
            **_summary(wall[name]),
            "cpu_p50_ms": round(statistics.median(cpu[name]), 2),
            "ratio_to_bare_p50": round(statistics.median(wall[name]) / bare_wall, 3),
            "cpu_ratio_to_bare_p50": round(statistics.median(cpu[name]) / bare_cpu, 3),
        }
        for name in variants
    }
    old_wall = statistics.median(wall["bare_strands_canvas_tools_only"])
    old_cpu = statistics.median(cpu["bare_strands_canvas_tools_only"])
    return {
        "turns": TURNS,
        **_summary(wall["runtime"]),
        "load_average_1_5_15_min": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
        },
        "side_by_side": side_by_side,
        "runtime_vs_canvas_tools_only_baseline": {
            "ratio_p50": round(statistics.median(wall["runtime"]) / old_wall, 3),
            "cpu_ratio_p50": round(statistics.median(cpu["runtime"]) / old_cpu, 3),
        },
    }


# ------------------------------------------------------------------------------------------------
# 2. build wall time vs. the ideal for 3 workers
# ------------------------------------------------------------------------------------------------


def _nine_module_outline() -> dict[str, Any]:
    from agent_runtime.models.offline import plan_turn

    outline = dict(
        plan_turn(ONBOARDING, {"title": "", "description": "", "modules": []}, "empty")[0].tool_calls[0].args
    )
    modules = list(outline["modules"])
    extras = ["Security Review", "Billing Setup", "Executive Sponsor Check-in", "Renewal Planning"]
    for title in extras:
        if len(modules) >= BUILD_MODULES:
            break
        modules.append({"title": title, "description": f"{title} for the new client."})
    outline["modules"] = modules[:BUILD_MODULES]
    return outline


def in_process_build() -> dict[str, Any]:
    """Build 9 modules with 3 workers, then each module alone, in one process."""
    from agent_runtime.config import load_settings
    from agent_runtime.services import build_services

    settings = load_settings(
        {
            "AGENT_SIGNING_SECRET": SECRET,
            "OFFLINE_MODEL_LATENCY_MS": str(BUILD_LATENCY_MS),
            "BUILDER_WORKERS": str(WORKERS),
        }
    )
    services = build_services(settings, tracker=_Tracker())
    outline = _nine_module_outline()

    def build(indices: list[int]) -> tuple[float, Any]:
        entry = services.cache.get_or_create(str(uuid.uuid4()), user_id=1, vendor_id=1, agent_type="bench")
        entry.canvas.apply("set_playbook_outline", outline)
        entry.canvas.apply("build_modules", {"module_indices": indices})
        started = time.perf_counter()
        job = services.builds.start(entry, indices)
        if not job.control.done.wait(120):
            raise RuntimeError("build did not finish")
        return time.perf_counter() - started, entry

    try:
        build([0])  # warm up: first builder agent, schemas, thread pool
        wall, entry = build(list(range(BUILD_MODULES)))
        statuses = [m["status"] for m in entry.canvas.snapshot()["canvas"]["modules"]]
        if statuses != ["built"] * BUILD_MODULES:
            raise RuntimeError(f"not every module built: {statuses}")
        alone = [build([index])[0] for index in range(BUILD_MODULES)]
    finally:
        services.close()
    return _build_figures(wall, alone, services.builds.max_active_seen)


def _build_figures(wall: float, alone: list[float], max_parallel: int) -> dict[str, Any]:
    mean = statistics.fmean(alone)
    ideal = math.ceil(BUILD_MODULES / WORKERS) * mean
    bound = max(sum(alone) / WORKERS, max(alone))
    return {
        "modules": BUILD_MODULES,
        "workers": WORKERS,
        "latency_ms": BUILD_LATENCY_MS,
        "wall_s": round(wall, 3),
        "per_module_alone_s": [round(t, 3) for t in alone],
        "per_module_mean_s": round(mean, 3),
        "ideal_s": round(ideal, 3),
        "efficiency": round(ideal / wall, 3),
        "lower_bound_s": round(bound, 3),
        "efficiency_vs_lower_bound": round(bound / wall, 3),
        "max_parallel_builders": max_parallel,
    }


def http_build() -> dict[str, Any]:
    """9 modules over HTTP: outline + edits to 9 modules, ``build it``, ``watch`` to the end."""
    codec = _codec()
    # Approvals off: this measures build throughput, not the wait for a person (9 > the threshold of 8).
    with _runtime(
        OFFLINE_MODEL_LATENCY_MS=str(BUILD_LATENCY_MS), BUILDER_WORKERS=str(WORKERS), APPROVAL_RULES="none"
    ) as url:
        with httpx.Client(timeout=120) as client:
            sid, token = _session(codec)

            def post(action: str, **extra: Any) -> list[dict[str, Any]]:
                body = {"session_id": sid, "token": token, "action": action, **extra}
                return _frames(client.post(f"{url}/invocations", json=body, headers={HEADER: sid}).content)

            frames = post("chat", prompt=ONBOARDING)
            modules = len(frames[-3]["snapshot"]["canvas"]["modules"])
            extras = iter(
                ["security review", "billing setup", "executive sponsor check-in", "renewal planning"]
            )
            while modules < BUILD_MODULES:
                frames = post("chat", prompt=f"add a module about {next(extras)}")
                modules = len(frames[-3]["snapshot"]["canvas"]["modules"])
            if modules != BUILD_MODULES:
                raise RuntimeError(f"could not reach {BUILD_MODULES} modules (have {modules})")

            build_started = build_id = None
            body = {"session_id": sid, "token": token, "action": "chat", "prompt": "build it"}
            with client.stream("POST", f"{url}/invocations", json=body, headers={HEADER: sid}) as response:
                current_id = None
                for line in response.iter_lines():
                    if line.startswith("id: "):
                        current_id = int(line[4:])
                    elif line.startswith("data: ") and json.loads(line[6:])["type"] == "TOOL_CALL_END":
                        build_started, build_id = time.perf_counter(), current_id
            if build_started is None:
                raise RuntimeError("build_modules was not called")
            watch = post("watch", last_event_id=build_id)
            wall = time.perf_counter() - build_started
            final = [f for f in watch if f["type"] == "STATE_SNAPSHOT"][-1]["snapshot"]
            statuses = [m["status"] for m in final["canvas"]["modules"]]
            if statuses != ["built"] * BUILD_MODULES:
                raise RuntimeError(f"not every module built over HTTP: {statuses}")
            stats = client.get(f"{url}/_runtime/stats").json()
    return {"wall_s": round(wall, 3), "max_parallel_builders": stats["max_builders_seen"]}


# ------------------------------------------------------------------------------------------------
# 3. builder fairness between sessions: fair pool vs first come, first served
# ------------------------------------------------------------------------------------------------


def _outline(modules: int) -> dict[str, Any]:
    base = _nine_module_outline()
    extra = [
        {"title": f"Follow-up Area {n}", "description": f"Follow-up area {n} for the new client."}
        for n in range(max(0, modules - len(base["modules"])))
    ]
    return {**base, "modules": (list(base["modules"]) + extra)[:modules]}


def _fairness_run(fair: bool) -> dict[str, Any]:
    """Both scenarios on one builder pool (``fair`` or FIFO)."""
    from agent_runtime.agents.builder import BuildJob, BuildManager
    from agent_runtime.agents.registry import BUILDER, load_registry
    from agent_runtime.config import load_settings
    from agent_runtime.models.factory import ModelFactory
    from agent_runtime.session.cache import AgentSessionCache

    settings = load_settings(
        {"AGENT_SIGNING_SECRET": SECRET, "OFFLINE_MODEL_LATENCY_MS": str(BUILD_LATENCY_MS)}
    )
    first_start: dict[str, float] = {}

    class TimedBuilds(BuildManager):
        """Records when each session's first builder starts."""

        def _build(self, job: BuildJob, index: int) -> None:
            first_start.setdefault(job.entry.session_id, time.perf_counter())
            super()._build(job, index)

    builds = TimedBuilds(
        workers=WORKERS,
        spec=load_registry(settings.agents_config).get(BUILDER),
        model_factory=ModelFactory(settings),
        tracker=_Tracker(),
        fair=fair,
    )
    cache = AgentSessionCache(capacity=100, idle_seconds=3600, event_log_size=100_000)

    def session(modules: int) -> Any:
        entry = cache.get_or_create(str(uuid.uuid4()), user_id=1, vendor_id=1, agent_type="bench")
        entry.canvas.apply("set_playbook_outline", _outline(modules))
        entry.canvas.apply("build_modules", {"module_indices": list(range(modules))})
        return entry

    def finished(job: Any) -> float:
        if not job.control.done.wait(300):
            raise RuntimeError("build did not finish")
        return time.perf_counter()

    try:
        builds.start(session(1), [0]).control.done.wait(60)  # warm up
        entries = [session(BUILD_MODULES) for _ in range(FAIR_SESSIONS)]
        started = time.perf_counter()
        jobs = [builds.start(entry, list(range(BUILD_MODULES))) for entry in entries]
        ends = [finished(job) for job in jobs]
        sessions = [
            {
                "first_builder_started_s": round(first_start[entry.session_id] - started, 3),
                "finished_s": round(end - started, 3),
            }
            for entry, end in zip(entries, ends, strict=True)
        ]
        large, small = session(LARGE_BUILD), session(1)
        started = time.perf_counter()
        large_job = builds.start(large, list(range(LARGE_BUILD)))
        small_job = builds.start(small, [0])
        small_wall = finished(small_job) - started
        large_wall = finished(large_job) - started
        alone = session(1)
        started = time.perf_counter()
        alone_wall = finished(builds.start(alone, [0])) - started
    finally:
        builds.shutdown()
    return {
        "five_sessions": {
            "sessions": sessions,
            "last_finished_s": max(s["finished_s"] for s in sessions),
            "slowest_first_builder_s": max(s["first_builder_started_s"] for s in sessions),
            "mean_finished_s": round(statistics.fmean(s["finished_s"] for s in sessions), 3),
        },
        "head_of_line": {
            "small_build_s": round(small_wall, 3),
            "large_build_s": round(large_wall, 3),
            "small_alone_s": round(alone_wall, 3),
            "small_slowdown": round(small_wall / alone_wall, 2),
        },
    }


def builder_fairness() -> dict[str, Any]:
    """The fair pool and FIFO, one after the other in the same run."""
    fifo = _fairness_run(fair=False)
    fair = _fairness_run(fair=True)
    return {
        "modules_per_session": BUILD_MODULES,
        "sessions": FAIR_SESSIONS,
        "large_build_modules": LARGE_BUILD,
        "workers": WORKERS,
        "latency_ms": BUILD_LATENCY_MS,
        "fifo": fifo,
        "fair": fair,
        "head_of_line_speedup": round(
            fifo["head_of_line"]["small_build_s"] / fair["head_of_line"]["small_build_s"], 2
        ),
    }


# ------------------------------------------------------------------------------------------------


def main() -> int:
    """Run the runtime benchmarks and write ``bench/results/runtime.json``."""
    print("chat-turn overhead over HTTP …", flush=True)
    http = http_turn_overhead()
    print(f"  p50 {http['p50_ms']} ms, p99 {http['p99_ms']} ms", flush=True)
    print("chat-turn overhead in-process, side by side with bare Strands …", flush=True)
    local = in_process_turn_overhead()
    for name, row in local["side_by_side"].items():
        print(
            f"  {name}: p50 {row['p50_ms']} ms ({row['ratio_to_bare_p50']}x bare), "
            f"cpu p50 {row['cpu_p50_ms']} ms ({row['cpu_ratio_to_bare_p50']}x bare)",
            flush=True,
        )
    print("build of 9 modules, in-process …", flush=True)
    build = in_process_build()
    print(
        f"  wall {build['wall_s']} s, ideal {build['ideal_s']} s, efficiency {build['efficiency']}",
        flush=True,
    )
    print("build of 9 modules, over HTTP …", flush=True)
    build_http = http_build()
    build_http["ideal_s"] = build["ideal_s"]
    build_http["efficiency"] = round(build["ideal_s"] / build_http["wall_s"], 3)
    print(f"  wall {build_http['wall_s']} s, efficiency {build_http['efficiency']}", flush=True)
    print("builder fairness: fifo vs fair …", flush=True)
    fairness = builder_fairness()
    for policy in ("fifo", "fair"):
        five, hol = fairness[policy]["five_sessions"], fairness[policy]["head_of_line"]
        print(
            f"  {policy}: 5 sessions — last finished {five['last_finished_s']} s, slowest first builder "
            f"{five['slowest_first_builder_s']} s; 1 module behind {LARGE_BUILD}: {hol['small_build_s']} s "
            f"(alone {hol['small_alone_s']} s)",
            flush=True,
        )

    results = {
        "benchmark": "runtime",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "chat_turn_overhead": {
            "model": "offline, OFFLINE_MODEL_LATENCY_MS=0",
            "http": http,
            "in_process": local,
            "target_p50_ms": 25,
            "meets_target": http["p50_ms"] <= 25,
            "target_ratio_to_bare_strands": 1.3,
            "meets_ratio_target": local["side_by_side"]["runtime"]["ratio_to_bare_p50"] <= 1.3,
        },
        "build": {
            "in_process": build,
            "http": build_http,
            "target_efficiency": 0.9,
            "meets_target": build["efficiency"] >= 0.9,
        },
        "builder_fairness": fairness,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
