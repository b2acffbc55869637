"""Issue 10 against the real runtime process: the body cap (chunked too), the text and depth rules,
the bind address, the loopback-only stats page and production start-up with weak secrets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent_runtime.contract import SESSION_HEADER
from tests.support.runtime_process import ROOT, RuntimeProcess, free_port
from tests.support.sse import parse_frames

MB = 1024 * 1024


def _run_error(raw: bytes) -> dict:
    frames = parse_frames(raw)
    assert [f.type for f in frames] == ["RUN_ERROR"], raw[:300]
    return dict(frames[0].event)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _chunks(prefix: bytes, total: int, suffix: bytes = b"", chunk: int = 256 * 1024) -> Iterator[bytes]:
    yield prefix
    sent = len(prefix)
    while sent < total:
        piece = b"x" * min(chunk, total - sent)
        sent += len(piece)
        yield piece
    yield suffix


def _chunked_post(runtime: RuntimeProcess, sid: str, body: Iterator[bytes]) -> tuple[int, bytes]:
    """POST a chunked body (no Content-Length); the server may answer before it is all sent."""
    try:
        response = httpx.post(
            f"{runtime.url}/invocations",
            content=body,
            headers={"Content-Type": "application/json", SESSION_HEADER: sid},
            timeout=30,
        )
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
        pytest.fail(f"the runtime dropped the connection instead of answering: {exc!r}")
    return response.status_code, response.content


def test_a_chunked_10mb_body_with_a_valid_token_is_refused_not_run(runtime: RuntimeProcess) -> None:
    sid, token = runtime.new_session()
    # Valid JSON: a short prompt and 10 MB of padding in ui_context.
    body = {
        "session_id": sid,
        "token": token,
        "action": "chat",
        "prompt": "Onboard clients",
        "ui_context": {},
    }
    prefix = json.dumps(body)[:-3].encode() + b'{"pad": "'
    sessions = runtime.stats()["sessions"]
    status, raw = _chunked_post(runtime, sid, _chunks(prefix, 10 * MB, suffix=b'"}}'))
    assert status == 200
    error = _run_error(raw)
    assert error["code"] == "PAYLOAD_TOO_LARGE"
    assert runtime.stats()["sessions"] == sessions  # no turn ran


def test_a_chunked_200mb_body_without_a_token_is_never_held_in_memory(runtime: RuntimeProcess) -> None:
    before = _rss_kb(runtime.proc.pid)
    status, raw = _chunked_post(runtime, "s" * 36, _chunks(b'{"action":"chat","prompt":"', 200 * MB))
    assert status == 200 and _run_error(raw)["code"] == "PAYLOAD_TOO_LARGE"
    grew_mb = (_rss_kb(runtime.proc.pid) - before) / 1024
    assert grew_mb < 20, f"RSS grew by {grew_mb:.0f} MB"


def test_a_declared_50mb_body_is_refused_before_it_is_sent(runtime: RuntimeProcess) -> None:
    """Only the headers go out; the answer comes back without the body ever being read."""
    with socket.create_connection(("127.0.0.1", runtime.port), timeout=10) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {50 * MB}\r\n\r\n".encode()
        )
        sock.settimeout(10)
        answer = b""
        while b"RUN_ERROR" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert _run_error(body)["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"[" * 1000 + b"]" * 1000, "INVALID_PAYLOAD"),  # small: parsed, refused for its depth
        (b"[" * 100_000 + b"]" * 100_000, "TOKEN_MISSING"),  # large: refused before any parse
    ],
)
def test_deep_json_is_a_refusal_not_a_500(runtime: RuntimeProcess, raw: bytes, code: str) -> None:
    status, _frames, body = runtime.invoke(None, session_id="s" * 36, content=raw)
    assert status == 200
    error = _run_error(body)
    assert error["code"] == code
    if code == "INVALID_PAYLOAD":
        assert "nested deeper than 32" in error["message"]


@pytest.mark.parametrize("bad", ["Kick\\u0000off", "Kick\\ud800off", "Kick\\udc00off"])
def test_bad_text_in_a_prompt_never_reaches_the_canvas(runtime: RuntimeProcess, bad: str) -> None:
    sid, token = runtime.new_session()
    sessions = runtime.stats()["sessions"]
    raw = (
        '{"session_id":"%s","token":"%s","action":"chat","prompt":"%s"}' % (sid, token, bad)  # noqa: UP031
    ).encode()
    status, _frames, body = runtime.invoke(None, session_id=sid, content=raw)
    assert status == 200
    error = _run_error(body)
    assert error["code"] == "INVALID_PAYLOAD" and "NUL" in error["message"]
    assert runtime.stats()["sessions"] == sessions


def _large_deep_body(token_member: str) -> bytes:
    """~1 MB: padding, then nesting far past the depth cap (what an attacker makes us parse)."""
    deep = "[" * 50 + "]" * 50
    body = '{"action":"chat","prompt":"hi",' + token_member + '"ui_context":{"pad":"' + "x" * (1024 * 1024)
    return (body + '","deep":' + deep + "}}").encode()


def test_a_large_body_without_a_valid_token_is_refused_before_it_is_parsed(runtime: RuntimeProcess) -> None:
    """The token is checked first: the refusal names the token, not the (unparsed) nesting."""
    sid, token = runtime.new_session()
    for member, code in (("", "TOKEN_MISSING"), ('"token":"forged.token-value",', "TOKEN_INVALID")):
        status, _frames, raw = runtime.invoke(None, session_id=sid, content=_large_deep_body(member))
        assert status == 200 and _run_error(raw)["code"] == code, raw[:200]
    # With a valid token the same body is parsed, and refused for its nesting.
    member = f'"session_id":"{sid}","token":"{token}",'
    status, _frames, raw = runtime.invoke(None, session_id=sid, content=_large_deep_body(member))
    error = _run_error(raw)
    assert error["code"] == "INVALID_PAYLOAD" and "nested deeper" in error["message"]


def test_a_normal_turn_still_runs(runtime: RuntimeProcess) -> None:
    sid, token = runtime.new_session()
    frames = runtime.chat(sid, token, "Onboard new clients with a kickoff call \U0001f680")
    assert frames[-1].type == "RUN_FINISHED"


# ---------------------------------------------------------------- bind address and stats


def _external_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent; picks the outward interface
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


def _spawn(env_overrides: dict[str, str], *, drop: tuple[str, ...] = ()) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("MLFLOW_", "OTEL_"))}
    env.update(
        {
            "AGENT_SIGNING_SECRET": "integration-test-secret-" + "x" * 24,
            "APP_ENV": "development",
            "PORT": str(port),
            "MODEL_PROVIDER": "offline",
            "SESSION_STORE": "none",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(env_overrides)
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_runtime"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, port


def _wait_ping(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the runtime exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("runtime did not start")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_without_host_the_runtime_listens_on_loopback_even_in_a_container() -> None:
    external = _external_address()
    if external is None:
        pytest.fail("this machine has no non-loopback IPv4 address to probe from")
    # DOCKER_CONTAINER is the SDK's other "I am in a container" signal (like /.dockerenv).
    proc, port = _spawn({"DOCKER_CONTAINER": "1"}, drop=("HOST",))
    try:
        _wait_ping(port, proc)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://{external}:{port}/ping", timeout=2)
    finally:
        _stop(proc)


def test_stats_answer_loopback_peers_only() -> None:
    external = _external_address()
    if external is None:
        pytest.fail("this machine has no non-loopback IPv4 address to probe from")
    proc, port = _spawn({"HOST": "0.0.0.0"})
    try:
        _wait_ping(port, proc)
        assert httpx.get(f"http://127.0.0.1:{port}/_runtime/stats", timeout=5).status_code == 200
        outside = httpx.get(f"http://{external}:{port}/_runtime/stats", timeout=5)
        assert outside.status_code == 404
        assert httpx.get(f"http://{external}:{port}/ping", timeout=5).status_code == 200
    finally:
        _stop(proc)


# ---------------------------------------------------------------- production start-up


@pytest.mark.parametrize(
    "secret",
    [
        "dev-only-insecure-agent-signing-secret-change-me",
        "a" * 40,
        "integration-test-secret-" + "x" * 24,
        "Zr4Tq8Wm1Ys6Kp3Hd9Lx2Nc7Vb5Jf0Gu4Ea8Qo1Ri6St,changemechangemechangemechangeme",
    ],
)
def test_production_refuses_weak_or_published_secrets(secret: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "APP_ENV"}
    env.update(AGENT_SIGNING_SECRET=secret, PORT=str(free_port()), PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "agent_runtime"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "refusing to start in production" in lines[0]
    assert secret.split(",")[-1] not in lines[0]  # the secret itself is never printed
