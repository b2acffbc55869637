"""``make run``'s process supervisor: a runtime that crashes is restarted and the web app stays up.

Starts ``supervisord`` with the real ``scripts/supervisord.conf`` (as the Makefile does), kills the
runtime with SIGKILL and watches the web app's ``/healthz`` report it down, then back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.runtime_process import free_port
from tests.support.waiting import wait_until
from webapp.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _children(pid: int) -> dict[int, str]:
    """Child pid → command line."""
    out = {}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            out[int(child)] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except FileNotFoundError:
            continue
    return out


def _until(check: Callable[[], Any], what: str, log: Path, timeout: float = 90) -> Any:
    return wait_until(
        check, what, timeout=timeout, interval=0.2, detail=lambda: log.read_text(errors="replace")[-4000:]
    )


@pytest.fixture()
def supervised(tmp_path: Path) -> Iterator[dict[str, Any]]:
    runtime_port, web_port = free_port(), free_port()
    database = f"sqlite:///{tmp_path / 'playbook.db'}"
    upgrade(database)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "WEB_", "MLFLOW_", "OTEL_"))}
    env.update(
        {
            "APP_ENV": "development",
            "SECRET_KEY": "s" * 48,
            "AGENT_SIGNING_SECRET": "a" * 48,
            "DATABASE_URL": database,
            "RUNTIME_URL": f"http://127.0.0.1:{runtime_port}",
            "RUNTIME_PORT": str(runtime_port),
            "WEBAPP_PORT": str(web_port),
            "WEB_CONCURRENCY": "1",
            "MODEL_PROVIDER": "offline",
            "DATA_DIR": str(tmp_path / "data"),
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "PATH": f"{BIN}:{env.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),
        }
    )
    (ROOT / "var").mkdir(exist_ok=True)  # the config names var/supervisord.pid (-j overrides it)
    log = (tmp_path / "supervisord.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "supervisord"), "-c", "scripts/supervisord.conf", "-j", str(tmp_path / "sd.pid")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield {"proc": proc, "web": f"http://127.0.0.1:{web_port}", "log": tmp_path / "supervisord.log"}
    finally:
        proc.send_signal(signal.SIGTERM)  # supervisord stops its programs, then exits
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def _runtime_health(web: str) -> bool | None:
    try:
        response = httpx.get(f"{web}/healthz", timeout=3)
    except httpx.TransportError:
        return None  # the web app is not up (yet)
    return bool(response.json()["runtime"]["ok"])


def _pid_of(proc: subprocess.Popen[bytes], module: str) -> int | None:
    return next((pid for pid, cmd in _children(proc.pid).items() if f"-m {module}" in cmd), None)


def test_a_crashed_runtime_is_restarted_and_the_web_app_stays_up(supervised: dict[str, Any]) -> None:
    proc, web, log = supervised["proc"], supervised["web"], supervised["log"]
    _until(lambda: _runtime_health(web), "the runtime and the web app to come up", log)
    runtime_pid = _pid_of(proc, "agent_runtime")
    web_pid = _pid_of(proc, "webapp")
    assert runtime_pid is not None and web_pid is not None

    os.kill(runtime_pid, signal.SIGKILL)

    restarted = _until(
        lambda: (pid := _pid_of(proc, "agent_runtime")) not in (None, runtime_pid) and pid,
        "supervisord to start a new runtime",
        log,
    )
    _until(lambda: _runtime_health(web), "the restarted runtime to answer through the web app", log)
    assert _pid_of(proc, "webapp") == web_pid  # the same web app process throughout
    assert proc.poll() is None and restarted != runtime_pid
    text = log.read_text(errors="replace")
    assert "exited: runtime" in text and "exited: web" not in text
