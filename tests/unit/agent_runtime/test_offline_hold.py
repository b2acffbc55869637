"""``OFFLINE_MODEL_HOLD_FILE``: while the file exists the offline builders wait before each call,
so a test holds a build mid-way (its builders started, none finished) and lets it go by removing
the file; a stop still ends a held call, and the other roles never wait."""

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
