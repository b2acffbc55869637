"""Web app benchmark → ``bench/results/webapp.json``: an honest account of streams held open.

Loopback only. A runtime stub (``tests/support/runtime_stub.py``, its own process) sends one frame a
second on every stream, each stamped with its send time; the web app is served the production way
(``python -m webapp``: gunicorn, ONE worker process) and an asyncio client (this process) holds the
streams. For each worker class (``uvicorn`` — the ASGI edge, streams relayed on the event loop —,
``gthread``, gthread with a 1 ms GIL switch interval, ``gevent``: :data:`CLASSES`) and each level N
(250, 500, 1,000, 1,500):

* N streams are opened at once and held for ``--seconds`` (30 by default) at one frame a second;
* EVERY frame of every stream is scored: latency = receive time − the stub's send time, p50/p99/max;
  frames lost (expected − received), streams that failed or arrived out of order; time to first byte
  of each stream (p50/p99) — the opening rush is part of the score, nothing is excluded. Shown
  apart as well (deciding nothing): the p50/p99 of each stream's FIRST frame, which leaves the stub
  with the response headers while other streams are still opening, and of the LATER frames, which
  are the relay's alone;
* the worker's RSS is sampled while all N streams are open: (RSS − idle RSS) / N per open stream;
* each level runs ONCE: there is no best-of-N and no retry; a failed level is recorded as failed
  and the class stops there (larger levels would not pass either).

The same load is run through nginx (``proxy_buffering off``, one worker process; Debian's
``nginx-light``, installed by ``scripts/bench-deps.sh``) and straight to the stub (``direct``: the
client's and stub's own floor). The added latency is the issue's definition: receive time − the
stub's send time, the same measurement for the web app and for nginx. The headline ratio
(``p99_vs_nginx``) is the web app's p99 over nginx's p99 at the same level of the same run. The
figures over ``direct`` (``over_direct_ms``) are kept as extra information only: they subtract the
percentiles of two different runs, which is noisy (nginx once came out 1.3 ms faster than no proxy),
so they decide nothing. A level passes with zero loss, no failed stream and p99 ≤ 50 ms. The largest
passing N per class is reported and the recommended worker class is picked from those numbers
(compare with the default in ``webapp/__main__.py``).

Also measured: CPU per stream opened (the worker's CPU time over 250 one-frame streams opened at
once, divided by 250, after 20 unscored warm-up streams per target: a fresh process's one-time
costs are not a stream's; ``--open-rounds K`` rounds, 5 by default, interleaved across the targets,
every round kept, the median round the figure: one round swung 2.4-4.2 ms on this shared machine)
and the time to save a 12 × 10 × 5 playbook on Postgres. The open cost is measured for ``bare`` too
(:mod:`bench.bare_relay`: the web app's server and runtime transport relaying the same requests with
no app in between), so a class's figure minus ``bare``'s is what the app itself adds per stream.

Pieces can be run alone: ``--sections open`` (only the open cost), ``--sections levels``, and
``--classes`` takes variants of a class with environment overrides, each its own web app process
measured side by side, e.g. ``--classes gthread,gthread+WEB_SWITCH_INTERVAL_MS=1``.

``python -m bench webapp`` runs it (``make bench``); ``python bench/webapp_bench.py --levels 250,500
--seconds 30`` is a shorter run. Every loop is bounded: each stream has a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "webapp.json"
SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
TARGET_P99_MS = 50.0
LEVELS = [250, 500, 1000, 1500]
FRAME_BYTES = 300
OPEN_COST_STREAMS = 250
SECTIONS = ("open", "levels", "save")
CLASSES = ("uvicorn", "gthread", "gthread+WEB_SWITCH_INTERVAL_MS=1", "gevent")
"""The worker classes compared, and gthread with a 1 ms GIL switch interval side by side: under a
rush of openings it cut the frame p99 at 500 streams (3 of 3 loaded runs) but cost 20-40 % more
CPU per stream opened (2 of 2), so the default stays Python's 5 ms until a quiet run decides."""
WARMUP_STREAMS = 20
OPEN_COST_SETTLE_SECONDS = 1.0
QUIET_BUSY_FRACTION = 0.15
"""An open-cost round starts once the machine's CPUs are at most this busy (over half a second), so the
previous target's deferred work (its lease releases, the database's own) does not land in its window."""
QUIET_WAIT_SECONDS = 15.0
RATIO_FLOOR_MS = 1.0
_T = re.compile(rb'"t":(\d+)')


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------------
# a light asyncio SSE client (raw HTTP/1.1, chunked) so the client is not the bottleneck
# --------------------------------------------------------------------------------------------------


@dataclass
class StreamResult:
    """What one stream delivered."""

    latencies_ms: list[float] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    first_byte_ms: float = float("nan")
    status: int = 0
    error: str = ""
    run_errors: int = 0


async def _read_stream(
    port: int, path: str, body: bytes, headers: dict[str, str], result: StreamResult
) -> None:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    try:
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        head += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()
        status_head = await reader.readuntil(b"\r\n\r\n")
        result.status = int(status_head.split(b" ", 2)[1])
        if result.status != 200:
            return
        chunked = b"chunked" in status_head.lower()
        buffer = b""
        while True:
            if chunked:
                size_line = await reader.readline()
                if not size_line:
                    break
                size = int(size_line.strip() or b"0", 16)
                if size == 0:
                    break
                data = (await reader.readexactly(size + 2))[:-2]
            else:
                data = await reader.read(65536)
                if not data:
                    break
            now_ns = time.time_ns()
            if result.first_byte_ms != result.first_byte_ms:  # NaN: the first body bytes
                result.first_byte_ms = (time.perf_counter() - started) * 1000
            buffer += data
            while b"\n\n" in buffer:
                frame, buffer = buffer.split(b"\n\n", 1)
                if b"RUN_ERROR" in frame:
                    result.run_errors += 1
                match = _T.search(frame)
                if match and frame.startswith(b"id: "):
                    result.ids.append(int(frame[4 : frame.index(b"\n")]))
                    result.latencies_ms.append((now_ns - int(match.group(1))) / 1e6)
    finally:
        writer.close()


async def sse_request(
    port: int, path: str, body: bytes, headers: dict[str, str], deadline_s: float
) -> StreamResult:
    """One streamed POST, read to its end or until ``deadline_s`` (then it counts as failed)."""
    result = StreamResult()
    try:
        await asyncio.wait_for(_read_stream(port, path, body, headers, result), deadline_s)
    except TimeoutError:
        result.error = "deadline"
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    return result


@dataclass
class Target:
    """Where the client sends its streams: the stub itself, nginx in front of it, or the web app."""

    name: str
    port: int
    path: str = "/invocations"
    cookie: str = ""
    csrf: str = ""
    sessions: list[dict[str, str]] = field(default_factory=list)

    def request(self, i: int, prompt: str) -> tuple[bytes, dict[str, str]]:
        if not self.sessions:  # the stub's own protocol (direct or through nginx)
            sid = str(uuid.uuid4())
            body = {"session_id": sid, "token": "t", "action": "chat", "prompt": prompt}
            return json.dumps(body).encode(), {SESSION_HEADER: sid}
        session = self.sessions[i]
        body = {
            "session_id": session["session_id"],
            "token": session["token"],
            "action": "chat",
            "prompt": prompt,
        }
        return json.dumps(body).encode(), {
            "Cookie": self.cookie,
            "X-CSRFToken": self.csrf,
            "Origin": f"http://127.0.0.1:{self.port}",
            "Sec-Fetch-Site": "same-origin",
        }


async def open_streams(target: Target, n: int, prompt: str, deadline_s: float) -> list[StreamResult]:
    """N streams opened at once (no ramp) and read to their ends."""
    tasks = []
    for i in range(n):
        body, headers = target.request(i, prompt)
        tasks.append(asyncio.ensure_future(sse_request(target.port, target.path, body, headers, deadline_s)))
    return list(await asyncio.gather(*tasks))


# --------------------------------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------------------------------


class Proc:
    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="bench-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        os.unlink(self.log.name)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")


def wait_http(url: str, proc: Proc, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.proc.poll() is not None:
            raise RuntimeError(proc.output())
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer: {proc.output()}")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def worker_pid(master: int) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker")


def class_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``gthread`` or ``gthread+WEB_SWITCH_INTERVAL_MS=1+…``: a worker class and env overrides.

    A spec with overrides is a variant of its class measured side by side in the same run (e.g. a
    setting with and without), each its own web app process.
    """
    worker_class, *pairs = spec.split("+")
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"bad class spec {spec!r}: expected CLASS+NAME=VALUE+…")
        overrides[key] = value
    return worker_class, overrides


def start_webapp(
    worker_class: str, database_url: str, stub_url: str, secret: str, overrides: dict[str, str] | None = None
) -> tuple[Proc, int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "WEB_"))}
    env.update(
        {
            "APP_ENV": "development",
            "SECRET_KEY": "b" * 40,
            "AGENT_SIGNING_SECRET": secret,
            "DATABASE_URL": database_url,
            "RUNTIME_URL": stub_url,
            "WEBAPP_PORT": str(port),
            "WEB_WORKER_CLASS": worker_class,
            "WEB_CONCURRENCY": "1",
            "WEB_THREADS": "1700" if worker_class != "uvicorn" else "32",
            "WEB_ACCESS_LOG": "",
            "LOG_LEVEL": "warning",
            "PYTHONPATH": str(ROOT),
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "DB_POOL_SIZE": "20",
            "DB_MAX_OVERFLOW": "80",
        }
    )
    env.update(overrides or {})
    return serving([sys.executable, "-m", "webapp"], env, f"http://127.0.0.1:{port}/healthz"), port


def start_bare(stub_url: str) -> tuple[Proc, int]:
    """:mod:`bench.bare_relay` served as the web app is (gunicorn, one gevent worker): the floor."""
    port = free_port()
    env = {**os.environ, "RUNTIME_URL": stub_url, "PYTHONPATH": str(ROOT)}
    args = ["-k", "gevent", "-w", "1", "--worker-connections", "4000", "--log-level", "warning"]
    args += ["-b", f"127.0.0.1:{port}", "bench.bare_relay:app"]
    return serving([sys.executable, "-m", "gunicorn", *args], env, f"http://127.0.0.1:{port}/"), port


def serving(args: list[str], env: dict[str, str], ready_url: str) -> Proc:
    """A server process started and answering ``ready_url`` (stopped again if it never does)."""
    proc = Proc(args, env)
    try:
        wait_http(ready_url, proc, timeout=120)
    except BaseException:
        proc.stop()
        raise
    return proc


def login(port: int, email: str, password: str) -> tuple[httpx.Client, str, str]:
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    origin = {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}
    assert (
        client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}, headers=origin
        ).status_code
        == 302
    )
    csrf = client.get("/api/csrf").json()["csrf_token"]
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    return client, cookie, csrf


def mint(client: httpx.Client, csrf: str, port: int, n: int) -> list[dict[str, str]]:
    headers = {"X-CSRFToken": csrf, "Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}
    return [client.post("/api/agent/copilot/session", headers=headers).json() for _ in range(n)]


# --------------------------------------------------------------------------------------------------
# measurements
# --------------------------------------------------------------------------------------------------


def cpu_times(pids: list[int]) -> tuple[float, float]:
    """User and system CPU seconds of these processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        user += int(fields[11])
        system += int(fields[12])
    return user / ticks, system / ticks


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far."""
    return sum(cpu_times(pids))


def run_level(target: Target, n: int, seconds: int, pids: list[int]) -> dict[str, Any]:
    """Hold N streams for ``seconds`` at one frame a second; score every frame.

    The level starts once the machine is quiet (:func:`wait_quiet`): the previous level's streams
    have just ended, and the work their server defers past that (lease releases, audit and draft
    writes, the database's) would otherwise run beside this target's openings.
    """
    prompt = f"frames={seconds} interval=1 size={FRAME_BYTES}"
    busy = wait_quiet()
    idle = sum(rss_kb(pid) for pid in pids)
    rss_open = 0

    async def go() -> list[StreamResult]:
        nonlocal rss_open
        streams = asyncio.ensure_future(open_streams(target, n, prompt, seconds + 60))
        # RSS while every stream is open (half-way through), before any has ended
        await asyncio.sleep(seconds / 2)
        rss_open = sum(rss_kb(pid) for pid in pids)
        return await streams

    started = time.monotonic()
    results = asyncio.run(go())
    latencies = [x for r in results for x in r.latencies_ms]
    first_bytes = [r.first_byte_ms for r in results if r.first_byte_ms == r.first_byte_ms]
    # A stream's first frame leaves the stub with the response headers, while other streams are
    # still opening; the later frames are the relay's alone. Both are in latency_ms.
    first_frames = [r.latencies_ms[0] for r in results if r.latencies_ms]
    later_frames = [x for r in results for x in r.latencies_ms[1:]]
    failed = [r.error or f"status {r.status}" for r in results if r.error or r.status != 200 or r.run_errors]
    level = {
        "streams": n,
        "seconds": seconds,
        "frames_expected": n * seconds,
        "frames_received": len(latencies),
        "lost_frames": n * seconds - len(latencies),
        "failed_streams": len(failed),
        "failure_sample": sorted(set(failed))[:3],
        "out_of_order_streams": sum(1 for r in results if r.ids != sorted(r.ids)),
        "latency_ms": {
            "p50": pct(latencies, 50),
            "p99": pct(latencies, 99),
            "max": max(latencies, default=0),
        },
        "first_byte_ms": {"p50": pct(first_bytes, 50), "p99": pct(first_bytes, 99)},
        "latency_ms_first_frames": {"p50": pct(first_frames, 50), "p99": pct(first_frames, 99)},
        "latency_ms_later_frames": {"p50": pct(later_frames, 50), "p99": pct(later_frames, 99)},
        "rss_kb_idle": idle,
        "rss_kb_open": rss_open,
        "rss_kb_per_open_stream": round((rss_open - idle) / n, 1) if pids else None,
        "wall_seconds": round(time.monotonic() - started, 1),
        "machine_busy_at_start": busy,
    }
    return level


def machine_busy(window: float = 0.5) -> float:
    """The fraction of the machine's CPU time spent busy over ``window`` seconds (``/proc/stat``)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields), idle

    total0, idle0 = sample()
    time.sleep(window)
    total1, idle1 = sample()
    return 1.0 - (idle1 - idle0) / max(1, total1 - total0)


def wait_quiet() -> float:
    """Wait (at most :data:`QUIET_WAIT_SECONDS`) until the machine is quiet; how busy it was then."""
    deadline = time.monotonic() + QUIET_WAIT_SECONDS
    busy = machine_busy()
    while busy > QUIET_BUSY_FRACTION and time.monotonic() < deadline:
        busy = machine_busy()
    return round(busy, 3)


def open_cost(target: Target, n: int, pids: list[int]) -> dict[str, Any]:
    """CPU per stream opened: n one-frame streams at once; the server's CPU time divided by n.

    The window closes :data:`OPEN_COST_SETTLE_SECONDS` after the last stream ended, so work a
    server defers past a stream's end (a batched lease release) is counted too.
    """
    user0, system0 = cpu_times(pids)
    results = asyncio.run(open_streams(target, n, "frames=1 size=200", 60))
    time.sleep(OPEN_COST_SETTLE_SECONDS)
    user1, system1 = cpu_times(pids)
    first_bytes = [r.first_byte_ms for r in results if r.first_byte_ms == r.first_byte_ms]
    failures = {r.error or f"status {r.status}" for r in results if r.error or r.status != 200}
    return {
        "streams": n,
        "cpu_ms_per_stream": round((user1 - user0 + system1 - system0) * 1000 / n, 2) if pids else None,
        "user_ms_per_stream": round((user1 - user0) * 1000 / n, 2) if pids else None,
        "system_ms_per_stream": round((system1 - system0) * 1000 / n, 2) if pids else None,
        "first_byte_ms": {"p50": pct(first_bytes, 50), "p99": pct(first_bytes, 99)},
        "failed_streams": sum(1 for r in results if r.error or r.status != 200),
        "failure_sample": sorted(failures)[:3],
        "measured": "server CPU (utime+stime, /proc) over n one-frame streams opened at once, / n"
        f" (after {WARMUP_STREAMS} unscored warm-up streams; the window closes"
        f" {OPEN_COST_SETTLE_SECONDS} s after the last stream ended)",
    }


def run_open_cost(
    targets: dict[str, Target],
    pids: dict[str, list[int]],
    names: list[str],
    rounds: int,
    results: dict[str, Any],
) -> None:
    """The open-cost section: each target warmed up, then ``rounds`` rounds interleaved across targets.

    Interleaving pairs the targets in time (a load change on the shared machine hits every target of
    a round alike), and each round starts once the machine is quiet again (:func:`wait_quiet`): the
    work the previous target or the database defers past its window would otherwise run beside this
    one and inflate its CPU time. Every round is kept; the median round (by CPU per stream) is the
    figure.
    """
    for name in names:
        # Unscored warm-up: a fresh process's first requests pay one-time costs (imports,
        # pools, caches) that are not the cost of opening a stream.
        asyncio.run(open_streams(targets[name], WARMUP_STREAMS, "frames=1 size=200", 60))
    measured: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for round_no in range(rounds):
        for name in names:
            busy = wait_quiet()
            cost = open_cost(targets[name], OPEN_COST_STREAMS, pids[name])
            cost["machine_busy_at_start"] = busy
            cost["load_avg_1m"] = round(os.getloadavg()[0], 2)
            measured[name].append(cost)
            print(f"  {name:8s} open cost (round {round_no + 1}): {cost}", flush=True)
    for name, costs in measured.items():
        ordered = sorted(costs, key=lambda c: (c["cpu_ms_per_stream"] or 0, c["first_byte_ms"]["p99"]))
        figure = dict(ordered[(len(ordered) - 1) // 2])
        if rounds > 1:
            figure["rounds"] = costs
        results[name]["open_cost"] = figure


def score(level: dict[str, Any], direct: dict[str, Any] | None, nginx: dict[str, Any] | None) -> None:
    """Pass or fail, and the ratio to nginx's p99 in the same run (both vs the stub's send time).

    The added latency is the issue's: receive time − the stub's send time (``latency_ms``), for the
    web app and for nginx alike, so the ratio compares two measurements of the same thing. The
    figures over the ``direct`` run (``over_direct_ms``) are extra information only: they subtract
    percentiles of two different runs, which is noisy (it can come out negative).
    """
    if direct is not None:
        level["over_direct_ms"] = {
            q: round(level["latency_ms"][q] - direct["latency_ms"][q], 3) for q in ("p50", "p99")
        }
    if nginx is not None:
        level["nginx_p99_ms"] = round(nginx["latency_ms"]["p99"], 3)
        # Floored at RATIO_FLOOR_MS so a near-zero denominator never inflates the ratio.
        ratio = level["latency_ms"]["p99"] / max(nginx["latency_ms"]["p99"], RATIO_FLOOR_MS)
        level["p99_vs_nginx"] = round(ratio, 2)
    level["ok"] = (
        level["lost_frames"] == 0
        and level["failed_streams"] == 0
        and level["out_of_order_streams"] == 0
        and level["latency_ms"]["p99"] <= TARGET_P99_MS
    )


def _line(name: str, level: dict[str, Any]) -> str:
    first, later = level["latency_ms_first_frames"], level["latency_ms_later_frames"]
    return (
        f"  {name:8s} {level['streams']:5d} streams: lost={level['lost_frames']} "
        f"failed={level['failed_streams']} "
        f"p50={level['latency_ms']['p50']:.1f}ms p99={level['latency_ms']['p99']:.1f}ms "
        f"first-byte p99={level['first_byte_ms']['p99']:.0f}ms "
        f"(p99 of first frames {first['p99']:.1f}ms, of later ones {later['p99']:.1f}ms) "
        f"rss/stream={level['rss_kb_per_open_stream']}KB vs-nginx={level.get('p99_vs_nginx')} "
        f"ok={level.get('ok')}"
    )


def start_nginx(upstream_port: int) -> tuple[Proc, int, list[int]]:
    """nginx, one worker process, ``proxy_buffering off``, in front of the stub."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise RuntimeError("nginx is not installed: run scripts/bench-deps.sh")
    port = free_port()
    prefix = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    (prefix / "logs").mkdir()
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
worker_rlimit_nofile 16384;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  upstream stub {{ server 127.0.0.1:{upstream_port}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://stub;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 120s;
    }}
  }}
}}
"""
    )
    proc = Proc([binary, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"], dict(os.environ))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.proc.poll() is not None:
            raise RuntimeError(proc.output())
        try:
            httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    workers = [
        int(p) for p in Path(f"/proc/{proc.proc.pid}/task/{proc.proc.pid}/children").read_text().split()
    ]
    return proc, port, workers


def save_timing(database_url: str, iterations: int) -> dict[str, Any]:
    from tests.support.playbooks import make_playbook
    from tests.support.webapp_harness import Browser, add_user, app_config
    from webapp import create_app

    app = create_app(app_config(database_url))
    try:
        user = add_user(app)
        browser = Browser(app.test_client())
        browser.login(user["email"], user["password"])
        body = make_playbook(12, 10, 5)
        times = []
        for i in range(iterations + 3):
            started = time.perf_counter()
            response = browser.post_json(
                "/agent/save-playbook", {"playbook": body, "idempotency_key": f"bench-{i}"}
            )
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 201, response.get_data(as_text=True)
            if i >= 3:  # warm-up
                times.append(elapsed)
        return {
            "shape": "12 modules x 10 tasks x 5 steps",
            "rows": 1 + 12 + 120 + 600,
            "iterations": iterations,
            "p50_ms": statistics.median(times),
            "p99_ms": pct(times, 99),
            "target_p50_ms": 100,
            "measured": "POST /agent/save-playbook end to end in-process (validation, hash, one transaction)",
        }
    finally:
        app.extensions["database"].dispose()
        app.extensions["agent_transport"].close()


def _default_worker_class() -> str:
    text = (ROOT / "webapp" / "__main__.py").read_text()
    match = re.search(r'WEB_WORKER_CLASS", "(\w+)"', text)
    return match.group(1) if match else "?"


def summarize(results: dict[str, Any], classes: list[str], levels: list[int]) -> dict[str, Any]:
    """The headline: largest passing N per class, each class's targets met or not, and the pick."""

    def at(name: str, n: int) -> dict[str, Any] | None:
        return next((lvl for lvl in results[name]["levels"] if lvl["streams"] == n), None)

    best = {c: results[c]["max_streams_ok"] for c in classes}
    top = max(best.values())

    def p99_at_top(c: str) -> float:
        level = at(c, top) if top else None
        return level["latency_ms"]["p99"] if level is not None else float("inf")

    def targets_for(c: str) -> dict[str, Any]:
        at500 = at(c, 500)
        opened = results[c].get("open_cost", {})
        at250 = at(c, 250)
        largest_ok = at(c, best[c]) if best[c] else None
        targets = {
            "p99_vs_nginx_at_500": {
                "value": at500.get("p99_vs_nginx") if at500 else None,
                "target": "<= 1.5",
                "measured": "latency p99 (receive - the stub's send time), web app / nginx, same run",
            },
            "streams_at_p99_50ms_zero_loss": {"value": best[c] if levels else None, "target": ">= 1000"},
            "rss_kb_per_open_stream": {
                "value": largest_ok["rss_kb_per_open_stream"] if largest_ok else None,
                "target": "<= 100",
            },
            "cpu_ms_per_stream_opened": {"value": opened.get("cpu_ms_per_stream"), "target": "<= 3"},
            "first_byte_p99_ms_250_at_once": {
                "value": (at250 or opened)["first_byte_ms"]["p99"] if (at250 or opened) else None,
                "target": "<= 500",
                "measured": "the 250-stream level" if at250 else "the open-cost section (250 at once)",
            },
        }
        checks = {
            "p99_vs_nginx_at_500": lambda v: v <= 1.5,
            "streams_at_p99_50ms_zero_loss": lambda v: v >= 1000,
            "rss_kb_per_open_stream": lambda v: v <= 100,
            "cpu_ms_per_stream_opened": lambda v: v <= 3,
            "first_byte_p99_ms_250_at_once": lambda v: v <= 500,
        }
        for name, item in targets.items():
            item["met"] = None if item["value"] is None else bool(checks[name](item["value"]))
        return targets

    by_class = {c: targets_for(c) for c in classes}

    def met(c: str) -> int:
        return sum(1 for item in by_class[c].values() if item["met"])

    # The class meeting the most of the targets (holding 1,000 streams is one of them); among
    # those tied, the one holding more streams, then the lower p99 at the top level (not at a smaller
    # level every class passed, where loopback noise decides). Holding the most streams alone is not
    # the rule: a class at its limit at 1,500 held it in one run and lost thousands of frames there
    # in the next, and one run's edge must not outweigh the targets.
    pick = min(classes, key=lambda c: (-met(c), -best[c], p99_at_top(c)))
    default = _default_worker_class()
    return {
        "max_streams_ok_one_process": {**best, "nginx": results["nginx"]["max_streams_ok"]},
        "targets_met": {c: f"{met(c)} of {len(by_class[c])}" for c in classes},
        "recommended_worker_class": pick,
        "default_worker_class_in_code": default,
        "targets_for_recommended": by_class[pick],
        "targets_for_default": by_class.get(default),
        "levels_run": levels,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="web app benchmark")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)), help="stream counts, e.g. 250,500")
    parser.add_argument("--seconds", type=int, default=30, help="how long each level holds its streams")
    parser.add_argument(
        "--classes",
        default=",".join(CLASSES),
        help="gunicorn worker classes to compare (CLASS+NAME=VALUE+… for a variant with settings)",
    )
    parser.add_argument("--skip-save", action="store_true", help="skip the save timing")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help="what to run, any of open (CPU per stream opened), levels (streams held), save",
    )
    parser.add_argument(
        "--open-rounds",
        type=int,
        default=5,
        help="rounds of the open-cost section, interleaved across targets; every round is kept and"
        " the median round is the figure",
    )
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv if argv is not None else [])
    levels = sorted(int(x) for x in args.levels.split(","))
    classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    specs = {c: class_spec(c) for c in classes}
    sections = {x.strip() for x in args.sections.split(",") if x.strip()}
    if sections - set(SECTIONS):
        parser.error(f"unknown section(s): {', '.join(sorted(sections - set(SECTIONS)))}")
    if args.skip_save:
        sections.discard("save")
    if "levels" not in sections:
        levels = []
    seconds = max(5, args.seconds)
    from tests.support.webapp_harness import SIGNING_SECRET, add_user, app_config, fresh_postgres_database
    from webapp import create_app
    from webapp.migrate import upgrade

    started = time.monotonic()
    server = os.environ.get("TEST_DATABASE_URL")
    drop = None
    if server:
        database_url, drop = fresh_postgres_database(server)
        engine_name = "postgresql"
    else:
        database_url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-')}/bench.db"
        engine_name = "sqlite (TEST_DATABASE_URL not set)"
    upgrade(database_url)
    seeder = create_app(app_config(database_url))
    stub_port = free_port()
    stub = Proc(
        [sys.executable, "tests/support/runtime_stub.py", "--port", str(stub_port)],
        {**os.environ, "PYTHONPATH": str(ROOT)},
    )
    procs: list[Proc] = [stub]
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_avg_at_start": os.getloadavg(),
        },
        "database": engine_name,
        "load": {
            "frames_per_second_per_stream": 1,
            "seconds_per_level": seconds,
            "frame_bytes": FRAME_BYTES,
            "streams_opened": "all at once",
            "scored": "every frame of every stream; one attempt per level",
        },
        "webapp_processes": 1,
        "target_p99_added_ms": TARGET_P99_MS,
    }
    try:
        wait_http(f"http://127.0.0.1:{stub_port}/ping", stub)
        nginx, nginx_port, nginx_pids = start_nginx(stub_port)
        procs.append(nginx)
        webapps: dict[str, tuple[Proc, int, int]] = {}
        for worker_class in classes:
            worker, overrides = specs[worker_class]
            proc, port = start_webapp(
                worker, database_url, f"http://127.0.0.1:{stub_port}", SIGNING_SECRET, overrides
            )
            procs.append(proc)
            webapps[worker_class] = (proc, port, worker_pid(proc.proc.pid))
        user = add_user(seeder)
        first_port = webapps[classes[0]][1]
        client, cookie, csrf = login(first_port, user["email"], user["password"])
        sessions = mint(client, csrf, first_port, max(*levels, OPEN_COST_STREAMS, 1))
        client.close()
        targets = {"direct": Target("direct", stub_port), "nginx": Target("nginx", nginx_port)}
        pids: dict[str, list[int]] = {"direct": [], "nginx": nginx_pids}
        if "open" in sections:
            bare, bare_port = start_bare(f"http://127.0.0.1:{stub_port}")
            procs.append(bare)
            targets["bare"] = Target("bare", bare_port, "/api/agent/run", cookie, csrf, sessions)
            pids["bare"] = [worker_pid(bare.proc.pid)]
            results["bare"] = {"what": "bench/bare_relay.py: the web app's server and transport, no app"}
        for worker_class, (_proc, port, pid) in webapps.items():
            targets[worker_class] = Target(worker_class, port, "/api/agent/run", cookie, csrf, sessions)
            pids[worker_class] = [pid]
        for name in ["nginx", *classes]:
            results[name] = {"levels": [], "max_streams_ok": 0}
            if name in classes:
                results[name]["worker_class"] = specs[name][0]
                results[name]["env"] = specs[name][1]
        results["direct"] = {"levels": []}
        if "open" in sections:
            names = ["direct", "nginx", "bare", *classes]
            run_open_cost(targets, pids, names, max(1, args.open_rounds), results)
        for n in levels:
            direct = run_level(targets["direct"], n, seconds, [])
            score(direct, None, None)
            results["direct"]["levels"].append(direct)
            print(_line("direct", direct), flush=True)
            nginx_level = run_level(targets["nginx"], n, seconds, pids["nginx"])
            score(nginx_level, direct, None)
            results["nginx"]["levels"].append(nginx_level)
            if nginx_level["ok"] and results["nginx"]["max_streams_ok"] == n_prev(levels, n):
                results["nginx"]["max_streams_ok"] = n
            print(_line("nginx", nginx_level), flush=True)
            for worker_class in classes:
                entry = results[worker_class]
                if entry["max_streams_ok"] != n_prev(levels, n):
                    continue  # failed a smaller level: stop there
                level = run_level(targets[worker_class], n, seconds, pids[worker_class])
                score(level, direct, nginx_level)
                entry["levels"].append(level)
                if level["ok"]:
                    entry["max_streams_ok"] = n
                print(_line(worker_class, level), flush=True)
        if "save" in sections:
            print("webapp bench: save", flush=True)
            results["save"] = save_timing(database_url, 30)
            results["save"]["database"] = engine_name
    finally:
        for proc in reversed(procs):
            proc.stop()
        seeder.extensions["database"].dispose()
        seeder.extensions["agent_transport"].close()
        if drop:
            drop()
    results["machine"]["load_avg_at_end"] = os.getloadavg()
    results["summary"] = summarize(results, classes, levels)
    results["summary"]["seconds"] = round(time.monotonic() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=float))
    print(json.dumps(results["summary"], indent=2))
    return 0


def n_prev(levels: list[int], n: int) -> int:
    """The level before ``n`` (0 for the first): a class runs ``n`` only if it passed that one."""
    index = levels.index(n)
    return levels[index - 1] if index else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
