"""``OFFLINE_MODEL_HOLD_FILE``: while the file exists the offline builders wait before each call,
so a test holds a build mid-way (its builders started, none finished) and lets it go by removing
the file; a stop still ends a held call, and the other roles never wait. The file's text may name
the roles held instead and let calls through first (``orchestrator pass=1``): a test cuts a turn
right after its first model call, with no margin."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from agent_runtime.config import load_settings
from agent_runtime.models.factory import ModelFactory
from agent_runtime.models.offline_model import OfflineModel

PROMPT: list[Any] = [{"role": "user", "content": [{"text": "Build module 1: Kickoff"}]}]


async def _events(model: OfflineModel, cancel: threading.Event | None = None) -> list[Any]:
    return [event async for event in model.stream(PROMPT, [], "", cancel_signal=cancel)]


def test_a_held_builder_answers_only_once_the_file_is_gone(tmp_path: Path) -> None:
    hold = tmp_path / "hold"
    hold.touch()
    model = OfflineModel("builder", hold_file=hold)

    async def scenario() -> list[Any]:
        call = asyncio.create_task(_events(model))
        await asyncio.sleep(0.2)  # ten hold polls: a builder that ignored the file has answered
        assert not call.done()
        hold.unlink()
        return await asyncio.wait_for(call, 5)

    assert asyncio.run(scenario())  # the reply, once let go


def test_a_stop_ends_a_held_call_and_other_roles_never_wait(tmp_path: Path) -> None:
    hold = tmp_path / "hold"
    hold.touch()
    stopped = threading.Event()
    stopped.set()
    assert asyncio.run(asyncio.wait_for(_events(OfflineModel("builder", hold_file=hold), stopped), 5)) == []
    orchestrator = OfflineModel("orchestrator", hold_file=hold)
    assert asyncio.run(asyncio.wait_for(_events(orchestrator), 5))


def test_the_setting_reaches_the_builders(tmp_path: Path) -> None:
    hold = tmp_path / "hold"
    settings = load_settings({"AGENT_SIGNING_SECRET": "s" * 32, "OFFLINE_MODEL_HOLD_FILE": str(hold)})
    builder = ModelFactory(settings).create("builder")
    assert isinstance(builder, OfflineModel) and builder._hold == hold
    orchestrator = ModelFactory(settings).create("orchestrator")
    assert isinstance(orchestrator, OfflineModel) and orchestrator._hold == hold


def test_a_named_role_is_held_after_its_passes_are_used_up(tmp_path: Path) -> None:
    hold = tmp_path / "hold"
    hold.write_text("orchestrator pass=1", encoding="utf-8")
    orchestrator = OfflineModel("orchestrator", hold_file=hold)
    builder = OfflineModel("builder", hold_file=hold)

    async def scenario() -> list[Any]:
        assert await asyncio.wait_for(_events(orchestrator), 5)  # the pass: the first call answers
        assert hold.read_text(encoding="utf-8").split() == ["orchestrator", "pass=0"]
        assert await asyncio.wait_for(_events(builder), 5)  # a role the file does not name
        second = asyncio.create_task(_events(orchestrator))
        await asyncio.sleep(0.2)  # ten hold polls: a call that ignored the file has answered
        assert not second.done()
        hold.unlink()
        return await asyncio.wait_for(second, 5)

    assert asyncio.run(scenario())


def test_an_empty_or_absent_file_decides_by_the_default(tmp_path: Path) -> None:
    from agent_runtime.models.offline_model import hold_decision

    hold = tmp_path / "hold"
    assert not hold_decision(hold, "builder")
    hold.touch()
    assert hold_decision(hold, "builder") and not hold_decision(hold, "orchestrator")
    hold.write_text("builder orchestrator", encoding="utf-8")
    assert hold_decision(hold, "orchestrator") and not hold_decision(hold, "router")
