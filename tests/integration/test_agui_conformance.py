"""Every stream a live runtime sends, checked by the official AG-UI client (``@ag-ui/client``).

A real runtime (``python -m agent_runtime``, offline model) is driven through the product's
scenarios — first turn, edit, build, watches that join (``MESSAGES_SNAPSHOT`` first; mid-build,
after it, of a seeded session), from the turn's closing snapshot, from every id of a build and
after a ``Last-Event-ID`` reconnect, stop during a chat turn and during a build, approval
interrupt and resume, reset, a saved playbook seeded into a session, direct edits, undo and redo
(done, refused, by chat words, during a build), refusals — and the raw bytes of each response are
kept. ``frontend/scripts/verify-agui-streams.mjs`` then runs each through ``@ag-ui/client``'s own
``HttpAgent`` pipeline (SSE parsing, ``enforceEvents``, ``verifyEvents``, event application) and
``@ag-ui/core``'s schemas; any stream it rejects fails the test.

Resumed watches are also checked against the session's event log (the watch that covers the
whole build): each replays exactly the log after its resume point, announcing the builders open
there first — nothing missed, nothing doubled.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_runtime.contract import SESSION_HEADER, PlaybookSpec, seed_digest
from tests.support.runtime_process import ROOT, RuntimeProcess, SseReader, start_runtime
from tests.support.sse import Frame, check_stream, parse_frames

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"
TWELVE = (
    "Create a playbook with 12 modules: intake, kickoff, discovery, design, build, test, train, launch, "
    "support, review, audit, close"
)
SCRIPT = ROOT / "frontend" / "scripts" / "verify-agui-streams.mjs"
_GROUP_OPEN = {"TOOL_CALL_START": "toolCallId", "TEXT_MESSAGE_START": "messageId"}
_GROUP_CLOSE = {"TOOL_CALL_END": "toolCallId", "TEXT_MESSAGE_END": "messageId"}


# --------------------------------------------------------------------------------------------
# Capturing streams
# --------------------------------------------------------------------------------------------


@dataclass
class Captured:
    """One response's raw bytes and its frames."""

    name: str
    raw: bytes
    frames: list[Frame] = field(default_factory=list)


class Recorder:
    """Talks to the runtime and keeps the raw bytes of every complete response it reads."""

    def __init__(self, runtime: RuntimeProcess, folder: Path, client: httpx.Client, hold: Path) -> None:
        self.runtime = runtime
        self.folder = folder
        self.hold = hold  # the runtime's OFFLINE_MODEL_HOLD_FILE: builders wait while it exists
        self.streams: list[Captured] = []
        self._lock = threading.Lock()
        self._client = client  # one pooled connection: a new client per request costs ~0.3 s

    def keep(self, name: str, raw: bytes) -> Captured:
        """Store a complete stream under ``name`` (made unique)."""
        with self._lock:
            name = f"{len(self.streams):04d}-{name}"
            captured = Captured(name, raw, parse_frames(raw))
            (self.folder / f"{name}.sse").write_bytes(raw)
            self.streams.append(captured)
            return captured

    def call(self, name: str, body: Any, session_id: str | None = None) -> Captured:
        """One request read to its end."""
        sid = session_id if session_id is not None else body.get("session_id")
        response = self._client.post(
            f"{self.runtime.url}/invocations", json=body, headers={SESSION_HEADER: str(sid)}
        )
        assert response.status_code == 200, response.content
        assert response.headers["content-type"].startswith("text/event-stream")
        return self.keep(name, response.content)

    def read(
        self, body: dict[str, Any], until: Callable[[list[Frame]], bool] | None = None
    ) -> tuple[bytes, list[Frame]]:
        """Stream a request; with ``until``, hang up as soon as it holds (a dropped connection)."""
        headers = {SESSION_HEADER: body["session_id"]}
        raw = bytearray()
        reader = SseReader()
        with httpx.Client(timeout=60) as client:  # its own connection (it may hang up)
            with client.stream(
                "POST", f"{self.runtime.url}/invocations", json=body, headers=headers
            ) as response:
                assert response.status_code == 200
                for chunk in response.iter_bytes():
                    raw += chunk
                    reader.feed(chunk.decode("utf-8"))
                    if until is not None and until(reader.frames):
                        break
        return bytes(raw), list(reader.frames)

    def background(
        self, name: str, body: dict[str, Any], *, started: str = "RUN_STARTED"
    ) -> Callable[[], Captured]:
        """Read a whole stream on a thread; the returned function waits and keeps it.

        Returns once the stream sent an event of type ``started``.
        """
        result: dict[str, Any] = {}
        seen = threading.Event()

        def note(frames: list[Frame]) -> bool:
            if any(f.type == started or _named([f], started) for f in frames):
                seen.set()
            return False

        def run() -> None:
            try:
                result["raw"] = self.read(body, until=note)[0]
            except BaseException as exc:  # surfaced by wait
                result["error"] = exc
            finally:
                seen.set()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        seen.wait(60)

        def wait() -> Captured:
            thread.join(60)
            assert not thread.is_alive(), f"{name} did not end"
            if "error" in result:
                raise result["error"]
            return self.keep(name, result["raw"])

        return wait


def _body(runtime: RuntimeProcess, sid: str, token: str, action: str, **extra: Any) -> dict[str, Any]:
    return runtime.body(sid, token, action, **extra)


def _named(frames: list[Frame], name: str) -> list[Frame]:
    return [f for f in frames if f.type == "CUSTOM" and f.event.get("name") == name]


def _until_started(count: int, then: str) -> Callable[[list[Frame]], bool]:
    def enough(frames: list[Frame]) -> bool:
        started = [i for i, f in enumerate(frames) if f.type == "SUBAGENT_STARTED"]
        return len(started) >= count and any(f.type == then for f in frames[started[count - 1] + 1 :])

    return enough


# --------------------------------------------------------------------------------------------
# The scenarios
# --------------------------------------------------------------------------------------------


@dataclass
class Build:
    """One build's streams: the turn that started it and the watch covering all of it."""

    turn: Captured
    whole: Captured
    resumed: dict[int, Captured] = field(default_factory=dict)


def _chat_edit_build(rec: Recorder) -> Build:
    runtime = rec.runtime
    sid, token = runtime.new_session()
    rec.call("first-turn", _body(runtime, sid, token, "chat", prompt=ONBOARDING))
    rec.call("edit-add", _body(runtime, sid, token, "chat", prompt="add a module about security review"))
    rec.call("edit-rename", _body(runtime, sid, token, "chat", prompt="rename module 2 to Kickoff"))
    rec.hold.touch()  # the builders start and wait: the watches below join a build that runs
    turn = rec.call("build-turn", _body(runtime, sid, token, "chat", prompt="build it"))
    closing = [f for f in turn.frames if f.type == "STATE_SNAPSHOT"][-1]
    build_end = next(f for f in turn.frames if f.type == "TOOL_CALL_END")
    assert closing.event["snapshot"]["phase"] == "building"

    # While the build runs: what the page opens, a fresh watch, one from build_modules' end.
    waits = [
        rec.background(
            "watch-fresh-mid-build", _body(runtime, sid, token, "watch"), started="SUBAGENT_STARTED"
        ),
        rec.background(
            "watch-from-closing-snapshot", _body(runtime, sid, token, "watch", last_event_id=closing.id)
        ),
        rec.background(
            "watch-from-tool-call-end", _body(runtime, sid, token, "watch", last_event_id=build_end.id)
        ),
    ]
    rec.hold.unlink()
    # A dropped connection mid-build, reconnected with the last id it saw (Last-Event-ID).
    for count, then in ((1, "TOOL_CALL_START"), (2, "TOOL_CALL_ARGS"), (3, "CUSTOM")):
        _, seen = rec.read(_body(runtime, sid, token, "watch"), until=_until_started(count, then))
        rec.call(
            f"watch-reconnect-after-{count}-{then.lower()}",
            _body(runtime, sid, token, "watch", last_event_id=seen[-1].id),
        )
    for wait in waits:
        wait()
    rec.call("watch-idle-after-build", _body(runtime, sid, token, "watch"))

    # The watch covering the whole build (every log entry after the turn started): the reference.
    whole = rec.call(
        "watch-whole-build", _body(runtime, sid, token, "watch", last_event_id=turn.frames[0].id)
    )
    build = Build(turn, whole)
    last = whole.frames[-1].id
    assert last is not None
    for event_id in range(turn.frames[0].id or 0, last + 1):
        build.resumed[event_id] = rec.call(
            f"watch-resumed-at-{event_id}", _body(runtime, sid, token, "watch", last_event_id=event_id)
        )
    rec.call("reset", _body(runtime, sid, token, "reset"))
    return build


def _stops(rec: Recorder) -> None:
    runtime = rec.runtime
    # stop during a chat turn
    sid, token = runtime.new_session()
    chat = _body(runtime, sid, token, "chat", prompt=ONBOARDING)
    wait = rec.background("chat-stopped", chat, started="control.handoff")
    rec.call("stop-during-chat", _body(runtime, sid, token, "stop"))
    wait()
    rec.call("chat-after-stop", _body(runtime, sid, token, "chat", prompt=ONBOARDING))

    # stop during a build, with a watch open and one resumed afterwards
    rec.call("build-to-stop-turn", _body(runtime, sid, token, "chat", prompt="build it"))
    raw, seen = rec.read(_body(runtime, sid, token, "watch"), until=_until_started(2, "TOOL_CALL_END"))
    watch = rec.background("watch-stopped", _body(runtime, sid, token, "watch", last_event_id=seen[-1].id))
    rec.call("stop-during-build", _body(runtime, sid, token, "stop"))
    watch()
    rec.call("watch-after-stop-resumed", _body(runtime, sid, token, "watch", last_event_id=seen[1].id))
    rec.call("stop-when-idle", _body(runtime, sid, token, "stop"))


def _approvals(rec: Recorder) -> None:
    runtime = rec.runtime
    sid, token = runtime.new_session()
    rec.call("twelve-outline", _body(runtime, sid, token, "chat", prompt=TWELVE))
    paused = rec.call("build-paused-for-approval", _body(runtime, sid, token, "chat", prompt="build it"))
    (item,) = paused.frames[-1].event["outcome"]["interrupts"]
    approve = _body(runtime, sid, token, "resume_interrupt", interrupt_id=item["id"], decision="approve")
    resumed = rec.call("resume-approve", approve)
    closing = [f for f in resumed.frames if f.type == "STATE_SNAPSHOT"][-1]
    rec.call("watch-after-resume", _body(runtime, sid, token, "watch", last_event_id=closing.id))
    rec.call("resume-replayed", approve)
    sid, token = runtime.new_session()
    rec.call("twelve-outline-again", _body(runtime, sid, token, "chat", prompt=TWELVE))
    paused = rec.call("build-paused-again", _body(runtime, sid, token, "chat", prompt="build it"))
    (item,) = paused.frames[-1].event["outcome"]["interrupts"]
    reject = _body(runtime, sid, token, "resume_interrupt", interrupt_id=item["id"], decision="reject")
    rec.call("resume-reject", reject)


def _snapshot_of(captured: Captured) -> dict[str, Any]:
    return dict([f for f in captured.frames if f.type == "STATE_SNAPSHOT"][-1].event["snapshot"])


def _code(captured: Captured) -> str:
    assert captured.frames[-1].type == "RUN_ERROR", captured.name
    return str(captured.frames[-1].event["code"])


def _canvas_changes(rec: Recorder) -> None:
    """Direct edits, undo and redo (issue 11): done, refused with the current canvas, by chat words."""
    runtime = rec.runtime
    sid, token = runtime.new_session()
    first = rec.call("changes-outline", _body(runtime, sid, token, "chat", prompt=ONBOARDING))
    version = _snapshot_of(first)["version"]
    rename = {"tool": "update_module", "args": {"module_index": 1, "title": "Kickoff call"}}
    edited = rec.call("edit-done", _body(runtime, sid, token, "edit", base_version=version, ops=[rename]))
    assert _snapshot_of(edited)["canvas"]["modules"][1]["title"] == "Kickoff call"
    stale = rec.call("edit-stale", _body(runtime, sid, token, "edit", base_version=version, ops=[rename]))
    assert _code(stale) == "VERSION_CONFLICT"
    current = _snapshot_of(edited)["version"]
    bad = {"tool": "remove_module", "args": {"module_index": 19}}
    invalid = rec.call("edit-invalid-op", _body(runtime, sid, token, "edit", base_version=current, ops=[bad]))
    assert _code(invalid) == "INVALID_PAYLOAD"
    schema = {"tool": "build_modules", "args": {}}
    rec.call("edit-refused-schema", _body(runtime, sid, token, "edit", base_version=current, ops=[schema]))
    rec.call("watch-after-edit", _body(runtime, sid, token, "watch", last_event_id=first.frames[-1].id))
    rec.call("undo-done", _body(runtime, sid, token, "undo"))
    rec.call("redo-done", _body(runtime, sid, token, "redo"))
    assert _code(rec.call("redo-nothing", _body(runtime, sid, token, "redo"))) == "NOTHING_TO_REDO"
    rec.call("chat-undo", _body(runtime, sid, token, "chat", prompt="undo"))
    rec.call("chat-redo", _body(runtime, sid, token, "chat", prompt="redo"))
    rec.call("build-for-edits", _body(runtime, sid, token, "chat", prompt="build it"))
    during = rec.call("undo-during-build", _body(runtime, sid, token, "undo"))
    assert _code(during) == "BUILD_IN_PROGRESS"
    rec.call("stop-build-for-edits", _body(runtime, sid, token, "stop"))
    fresh_sid, fresh_token = runtime.new_session()
    assert (
        _code(rec.call("undo-nothing", _body(runtime, fresh_sid, fresh_token, "undo"))) == "NOTHING_TO_UNDO"
    )


def _refusals(rec: Recorder) -> None:
    runtime = rec.runtime
    sid, token = runtime.new_session()
    other_sid, _ = runtime.new_session()
    chat = _body(runtime, sid, token, "chat", prompt=ONBOARDING)
    rec.call("refused-token-invalid", {**chat, "token": token[:-3] + "AAA"}, sid)
    rec.call("refused-session-mismatch", chat, other_sid)
    rec.call("refused-unknown-action", {**chat, "action": "dance"}, sid)
    unknown = _body(runtime, sid, token, "resume_interrupt", interrupt_id="i1", decision="approve")
    rec.call("refused-unknown-interrupt", unknown)
    rec.call("watch-unknown-session", _body(runtime, sid, token, "watch"))


SAVED = PlaybookSpec.model_validate(
    {
        "title": "Vendor onboarding",
        "modules": [
            {
                "title": "Kickoff",
                "tasks": [{"title": "Book the call", "steps": [{"title": "Send the invite"}]}],
            },
            {"title": "Contracts"},
            {"title": "Security Review"},
        ],
    }
)


def _joins_and_seeds(rec: Recorder) -> None:
    """Issue 11: a saved playbook seeded into a session; watches that join it (transcript first),
    also while its build runs (re-attach: the running builders announced)."""
    runtime = rec.runtime
    sid, token = runtime.new_session()
    seed_token = runtime.codec.mint_seed(sid=sid, digest=seed_digest(SAVED))
    seed = _body(runtime, sid, token, "seed", playbook=SAVED.model_dump(mode="json"), seed_token=seed_token)
    rec.call("seed", seed)
    rec.call("seed-refused-not-empty", seed)
    rec.call("watch-joins-seeded", _body(runtime, sid, token, "watch"))
    rec.call(
        "seeded-edit", _body(runtime, sid, token, "chat", prompt="add a module about customer notification")
    )
    rec.hold.touch()  # the builders start and wait until the watch has joined
    rec.call("seeded-build-turn", _body(runtime, sid, token, "chat", prompt="build it"))
    # Joined while the build runs (as another tab would): re-attached, the builders announced.
    joined = rec.background(
        "watch-joins-mid-build", _body(runtime, sid, token, "watch"), started="SUBAGENT_STARTED"
    )
    rec.hold.unlink()
    joined()
    rec.call("watch-joins-after-build", _body(runtime, sid, token, "watch"))


@dataclass
class Captures:
    """Everything captured, and the build used for the event-log comparison."""

    folder: Path
    streams: list[Captured]
    build: Build


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captures]:
    """Drive a live runtime through every scenario once; keep every stream."""
    folder = tmp_path_factory.mktemp("agui-streams")
    hold = tmp_path_factory.mktemp("agui-hold") / "hold"
    env = {"OFFLINE_MODEL_LATENCY_MS": "25", "OFFLINE_MODEL_HOLD_FILE": str(hold)}
    with start_runtime(env) as runtime, httpx.Client(timeout=60) as client:
        rec = Recorder(runtime, folder, client, hold)
        build = _chat_edit_build(rec)
        _stops(rec)
        _approvals(rec)
        _canvas_changes(rec)
        _refusals(rec)
        _joins_and_seeds(rec)
        yield Captures(folder, rec.streams, build)


# --------------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------------


def _verify(paths: list[Path]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node is not None, "node is needed for the AG-UI conformance check"
    assert (ROOT / "frontend" / "node_modules" / "@ag-ui" / "client").is_dir(), "run npm ci in frontend/"
    command = [node, str(SCRIPT), *map(str, paths)]
    done = subprocess.run(command, cwd=ROOT / "frontend", capture_output=True, text=True, timeout=300)
    results = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert len(results) == len(paths), done.stderr
    assert done.returncode == (1 if any(not r["ok"] for r in results) else 0), done.stderr
    return results


def test_the_official_client_accepts_every_stream(captures: Captures) -> None:
    results = _verify(sorted(captures.folder.glob("*.sse")))
    rejected = [f"{r['file']}: {r['error']}" for r in results if not r["ok"]]
    assert not rejected, f"{len(rejected)} of {len(results)} streams rejected:\n" + "\n".join(rejected)
    assert len(results) > 100  # every id of a build, plus the scenarios


def test_every_stream_keeps_the_products_stream_rules(captures: Captures) -> None:
    for captured in captures.streams:
        try:
            check_stream(captured.frames)
        except AssertionError as exc:
            raise AssertionError(f"{captured.name}: {exc}") from exc


def test_a_watch_that_joins_opens_with_the_transcript_then_the_canvas(captures: Captures) -> None:
    joining = [c for c in captures.streams if "watch-join" in c.name or "watch-fresh" in c.name]
    joining += [
        c for c in captures.streams if c.name.endswith(("watch-idle-after-build", "watch-unknown-session"))
    ]
    assert len(joining) == 6, [c.name for c in joining]
    for captured in joining:
        types = [f.type for f in captured.frames]
        assert types[:3] == ["RUN_STARTED", "MESSAGES_SNAPSHOT", "STATE_SNAPSHOT"], (captured.name, types[:4])
    for captured in captures.streams:  # a resumed watch never has it
        if "watch-resumed" in captured.name or "watch-reconnect" in captured.name:
            assert "MESSAGES_SNAPSHOT" not in [f.type for f in captured.frames], captured.name

    by_name = {c.name.split("-", 1)[1]: c for c in captures.streams}
    seeded = by_name["watch-joins-seeded"].frames
    assert seeded[1].event["messages"] == []  # the assistant has said nothing in a seeded session yet
    assert [m["title"] for m in seeded[2].event["snapshot"]["canvas"]["modules"]] == [
        "Kickoff",
        "Contracts",
        "Security Review",
    ]
    after = by_name["watch-joins-after-build"].frames[1].event["messages"]
    assert [m["role"] for m in after][:2] == ["user", "assistant"]
    assert after[0]["content"] == "add a module about customer notification"
    assert "build it" in [m["content"] for m in after if m["role"] == "user"]
    # Joined while the build ran: every builder announced before anything of it, the build to its end.
    mid = by_name["watch-joins-mid-build"].frames
    started: set[str] = set()
    for f in mid:
        if f.type == "SUBAGENT_STARTED":
            started.add(f.event["subagentRunId"])
        elif f.event.get("subagentRunId"):
            assert f.event["subagentRunId"] in started, (f.type, f.event)
    assert len(started) == 3 and any(f.type == "TOOL_CALL_START" for f in mid)
    assert [f for f in mid if f.type == "STATE_SNAPSHOT"][-1].event["snapshot"]["phase"] == "refinement"
    assert by_name["seed-refused-not-empty"].frames[0].event["code"] == "CONFLICT"


def test_the_verifier_rejects_a_watch_that_resumes_without_announcing_its_builders(
    captures: Captures, tmp_path: Path
) -> None:
    # What resumed watches used to send: the build's events without the SUBAGENT_STARTED frames.
    whole = captures.build.whole
    started = {f.event["subagentRunId"] for f in whole.frames if f.type == "SUBAGENT_STARTED"}
    assert started
    blocks = [b for b in whole.raw.decode().split("\n\n") if b and '"SUBAGENT_STARTED"' not in b]
    broken = tmp_path / "broken.sse"
    broken.write_text("\n\n".join(blocks) + "\n\n")
    (result,) = _verify([broken])
    assert not result["ok"] and "no active subagent" in result["error"], result


def _log_entries(frames: list[Frame]) -> list[Frame]:
    """A watch's replayed log entries: everything but RUN_STARTED and the watch's own ending."""
    return [f for f in frames[1:] if f.type not in ("RUN_STARTED", "RUN_FINISHED")]


def _open_group_start(entries: list[Frame], cursor: int) -> int:
    """The id just before the tool call or text message ``cursor`` is inside (else ``cursor``)."""
    start: int | None = None
    for f in entries:
        if f.id is None or f.id > cursor:
            break
        if f.type in _GROUP_OPEN:
            start = f.id
        elif f.type in _GROUP_CLOSE:
            start = None
    return start - 1 if start is not None else cursor


def test_resumed_watches_replay_the_log_exactly_and_announce_open_builders(captures: Captures) -> None:
    build = captures.build
    log = _log_entries(build.whole.frames)
    assert sum(f.type == "SUBAGENT_STARTED" for f in log) >= 3
    checked = 0
    for cursor, captured in build.resumed.items():
        point = _open_group_start(log, cursor)
        frames = _log_entries(captured.frames)
        open_builders: dict[str, Frame] = {}
        for f in log:
            if f.id is not None and f.id <= point:
                if f.type == "SUBAGENT_STARTED":
                    open_builders[f.event["subagentRunId"]] = f
                elif f.type in ("SUBAGENT_FINISHED", "SUBAGENT_ERROR"):
                    open_builders.pop(f.event["subagentRunId"], None)
        announced = frames[: len(open_builders)]
        assert [f.data for f in announced] == [f.data for f in open_builders.values()], cursor
        assert all(f.id == point for f in announced), cursor
        replay = frames[len(open_builders) :]
        expected = [f for f in log if f.id is not None and f.id > point]
        if not expected:  # resumed at (or after) the build's end: just the ending
            assert [f.type for f in replay] == ["CUSTOM"], cursor
            continue
        assert [(f.id, f.data) for f in replay] == [(f.id, f.data) for f in expected], cursor
        checked += 1
    assert checked > 50
