"""A watch that joins a session opens with the transcript; a saved playbook seeds an empty session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent_runtime.contract import PlaybookSpec, TokenCodec, seed_digest
from tests.support.sse import Frame, check_stream, text_of
from tests.unit.agent_runtime.conftest import SECRET, SID

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"
OTHER_SID = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
SAVED = PlaybookSpec.model_validate(
    {
        "title": "Vendor onboarding",
        "description": "Bring a new vendor on board.",
        "modules": [
            {
                "title": "Kickoff",
                "tasks": [{"title": "Book the call", "steps": [{"title": "Send the invite"}]}],
            },
            {"title": "Contracts", "tasks": [{"title": "Collect the NDA"}]},
            {"title": "Review"},
        ],
    }
)


def _types(frames: list[Frame]) -> list[str]:
    return [f.type for f in frames]


def _messages(frames: list[Frame]) -> list[dict[str, Any]]:
    return next(f.event["messages"] for f in frames if f.type == "MESSAGES_SNAPSHOT")


def _seed_body(harness: Any, playbook: PlaybookSpec = SAVED, sid: str = SID, **extra: Any) -> dict[str, Any]:
    codec = TokenCodec([SECRET])
    return {
        "session_id": sid,
        "token": harness.token(sid),
        "action": "seed",
        "playbook": playbook.model_dump(mode="json"),
        "seed_token": codec.mint_seed(sid=sid, digest=seed_digest(playbook)),
        **extra,
    }


def test_a_joining_watch_opens_with_the_transcript_then_the_canvas_also_after_a_restart(
    make_harness: Any, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = make_harness(None, DATA_DIR=str(data))
    turn = first.chat(ONBOARDING)
    said = text_of(turn)

    joined = first.action("watch")
    check_stream(joined)
    assert _types(joined)[:3] == ["RUN_STARTED", "MESSAGES_SNAPSHOT", "STATE_SNAPSHOT"]
    messages = _messages(joined)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == ONBOARDING
    assert messages[1]["content"] in said  # the reply as it was streamed
    canvas = [f for f in turn if f.type == "STATE_SNAPSHOT"][-1].event["snapshot"]
    assert joined[2].event["snapshot"]["canvas"] == canvas["canvas"]

    again = first.action("watch")
    assert _messages(again) == messages  # stable ids: the same message has the same id every time

    resumed = first.action("watch", last_event_id=turn[-1].id)
    assert "MESSAGES_SNAPSHOT" not in _types(resumed)  # a resume has nothing to catch up on

    restarted = make_harness(None, DATA_DIR=str(data))
    after = restarted.action("watch")
    check_stream(after)
    assert _messages(after) == messages
    assert after[2].event["snapshot"]["canvas"] == canvas["canvas"]


def test_a_joining_watch_of_an_unknown_session_has_an_empty_transcript(make_harness: Any) -> None:
    harness = make_harness(None)
    frames = harness.action("watch")
    check_stream(frames)
    assert _types(frames)[:3] == ["RUN_STARTED", "MESSAGES_SNAPSHOT", "STATE_SNAPSHOT"]
    assert _messages(frames) == []


def test_a_seed_puts_the_saved_playbook_on_an_empty_session_and_chat_refines_it(
    make_harness: Any, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    harness = make_harness(None, DATA_DIR=str(data))
    seeded = harness.run(_seed_body(harness, playbook_id="abc"))
    check_stream(seeded)
    assert _types(seeded) == ["RUN_STARTED", "STATE_SNAPSHOT", "CUSTOM", "RUN_FINISHED"]
    snapshot = seeded[1].event["snapshot"]
    assert snapshot["phase"] == "refinement" and snapshot["version"] == 1
    modules = snapshot["canvas"]["modules"]
    assert [m["title"] for m in modules] == ["Kickoff", "Contracts", "Review"]
    assert [m["status"] for m in modules] == ["built", "built", "pending"]  # no tasks: "build it" builds it
    assert modules[0]["tasks"][0]["steps"] == [{"title": "Send the invite", "description": ""}]

    # Stored at once: a restarted runtime continues it, and the first message goes to the orchestrator.
    restarted = make_harness(None, DATA_DIR=str(data))
    turn = restarted.chat("add a module about customer notification")
    check_stream(turn)
    assert "CUSTOM" in _types(turn)
    assert not any(f.event.get("name") == "control.handoff" for f in turn)  # no router turn
    after = [f for f in turn if f.type == "STATE_SNAPSHOT"][-1].event["snapshot"]
    titles = [m["title"] for m in after["canvas"]["modules"]]
    assert titles[:3] == ["Kickoff", "Contracts", "Review"] and len(titles) == 4
    assert after["canvas"]["modules"][0]["tasks"] == modules[0]["tasks"]  # the saved content stays
    assert after["version"] > 1


def test_a_seed_is_refused_unless_the_web_app_signed_it_for_this_session_and_playbook(
    make_harness: Any,
) -> None:
    harness = make_harness(None)
    other = SAVED.model_copy(update={"title": "Something else"})
    forged = _seed_body(harness)
    forged["playbook"] = other.model_dump(mode="json")  # the signature is for SAVED
    assert _types(refused := harness.run(forged)) == ["RUN_ERROR"]
    assert refused[0].event["code"] == "SESSION_MISMATCH"

    for_another = _seed_body(harness)
    for_another["seed_token"] = TokenCodec([SECRET]).mint_seed(sid=OTHER_SID, digest=seed_digest(SAVED))
    assert harness.run(for_another)[0].event["code"] == "SESSION_MISMATCH"

    session_token = _seed_body(harness)
    session_token["seed_token"] = harness.token()  # a session token is not a seed token
    assert harness.run(session_token)[0].event["code"] == "TOKEN_INVALID"

    wrong_key = _seed_body(harness)
    wrong_key["seed_token"] = TokenCodec(["another-secret-" + "x" * 40]).mint_seed(
        sid=SID, digest=seed_digest(SAVED)
    )
    assert harness.run(wrong_key)[0].event["code"] == "TOKEN_INVALID"
    assert harness.action("watch")[2].event["snapshot"]["canvas"]["modules"] == []  # nothing was seeded


def test_a_seed_is_refused_for_a_session_that_already_has_content(make_harness: Any) -> None:
    harness = make_harness(None)
    harness.chat(ONBOARDING)
    refused = harness.run(_seed_body(harness))
    assert _types(refused) == ["RUN_ERROR"] and refused[0].event["code"] == "CONFLICT"

    restarted = make_harness(None)  # the same store: the stored session is not empty either
    assert restarted.run(_seed_body(restarted))[0].event["code"] == "CONFLICT"

    assert _types(harness.run(_seed_body(harness, sid=OTHER_SID), OTHER_SID))[-1] == "RUN_FINISHED"
    twice = harness.run(_seed_body(harness, sid=OTHER_SID), OTHER_SID)
    assert _types(twice) == ["RUN_ERROR"] and twice[0].event["code"] == "CONFLICT"


def test_a_seed_waits_for_no_turn_a_turn_in_flight_refuses_it(make_harness: Any) -> None:
    harness = make_harness(None)
    claims = harness.services.codec.verify(harness.token())
    entry = harness.services.keeper.open(claims, create=True)
    control = entry.begin_turn("run_held")  # a chat turn holds the session (the gap a seed could race)
    try:
        refused = harness.run(_seed_body(harness))
        assert _types(refused) == ["RUN_ERROR"] and refused[0].event["code"] == "SESSION_BUSY"
    finally:
        entry.end_turn(control)
    assert _types(harness.run(_seed_body(harness)))[-1] == "RUN_FINISHED"  # once it is free


def test_the_transcript_is_the_text_of_prompts_and_replies_with_ids_by_position() -> None:
    from types import SimpleNamespace

    from agent_runtime.actions.transcript import transcript
    from agent_runtime.agents.registry import ORCHESTRATOR

    messages = [
        {"role": "user", "content": [{"text": "Onboard vendors"}, {"document": {"name": "sop"}}]},
        {"role": "assistant", "content": [{"text": "Here is "}, {"toolUse": {"toolUseId": "t1"}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "ok"}]}}]},
        {"role": "assistant", "content": [{"text": "  "}]},  # blank: not shown
        {"role": "user", "content": [{"interruptResponse": {"interruptId": "i", "response": {}}}]},
        {"role": "assistant", "content": [{"text": "an outline."}, {"text": "Build it?"}]},
    ]
    agent = SimpleNamespace(messages=messages, conversation_manager=SimpleNamespace(removed_message_count=4))
    entry = SimpleNamespace(agents={ORCHESTRATOR: (agent, None)})
    assert transcript(entry) == [  # type: ignore[arg-type]
        {"id": "msg-4", "role": "user", "content": "Onboard vendors"},
        {"id": "msg-5", "role": "assistant", "content": "Here is"},
        {"id": "msg-9", "role": "assistant", "content": "an outline.\nBuild it?"},
    ]
    assert transcript(SimpleNamespace(agents={})) == []  # type: ignore[arg-type]


def test_a_seeded_module_without_tasks_is_built_when_asked(make_harness: Any) -> None:
    harness = make_harness(None)
    harness.run(_seed_body(harness))
    turn = harness.chat("build it")
    check_stream(turn)
    assert [f for f in turn if f.type == "STATE_SNAPSHOT"][-1].event["snapshot"]["phase"] == "building"
    # Every build event after the turn began (the builder may be done before the turn closes).
    watched = harness.action("watch", last_event_id=turn[0].id)
    check_stream(watched)
    started = [f.event["metadata"]["module_index"] for f in watched if f.type == "SUBAGENT_STARTED"]
    assert started == [2]  # only "Review" (no tasks); the saved modules stay as they were
    final = [f for f in watched if f.type == "STATE_SNAPSHOT"][-1].event["snapshot"]
    assert final["phase"] == "refinement" and final["canvas"]["modules"][2]["tasks"]
    assert final["canvas"]["modules"][0]["tasks"] == SAVED.model_dump(mode="json")["modules"][0]["tasks"]


def test_a_seed_the_store_cannot_keep_is_refused_and_forgotten(make_harness: Any) -> None:
    harness = make_harness(None)
    writer = harness.services.writer
    real = writer.persist

    def broken(entry: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    writer.persist = broken  # type: ignore[method-assign]
    refused = harness.run(_seed_body(harness))
    assert _types(refused) == ["RUN_ERROR"] and refused[0].event["code"] == "INTERNAL"
    writer.persist = real  # type: ignore[method-assign]
    assert _types(harness.run(_seed_body(harness)))[-1] == "RUN_FINISHED"  # a retry seeds it cleanly
