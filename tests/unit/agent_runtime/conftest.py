"""In-process runtime fixtures: services with scripted models, and a stream collector."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import pytest
from strands.models.model import Model

from agent_runtime.config import Settings, load_settings
from agent_runtime.contract import SESSION_HEADER, TokenCodec
from agent_runtime.dispatcher import Dispatcher
from agent_runtime.models.scripted import ScriptedModel
from agent_runtime.services import Services, build_services
from tests.support.sse import Frame, parse_frames
from tests.unit.agent_runtime.bedrock_support import bedrock  # noqa: F401  (fixture)

SECRET = "unit-test-secret-" + "u" * 32
SID = "0f4e8c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"
_ = SESSION_HEADER


class FakeTracker:
    """Stands in for ``BedrockAgentCoreApp``'s async-task registry."""

    def __init__(self) -> None:
        self.active: dict[int, str] = {}
        self._next = 0
        self._lock = threading.Lock()

    def add_async_task(self, name: str, metadata: dict[str, Any] | None = None) -> int:
        with self._lock:
            self._next += 1
            self.active[self._next] = name
            return self._next

    def complete_async_task(self, task_id: int) -> bool:
        with self._lock:
            return self.active.pop(task_id, None) is not None


class ScriptedModels:
    """A model source handing out scripted models per role, in order; strict about extra requests."""

    def __init__(self, scripts: dict[str, Iterable[ScriptedModel]] | None = None) -> None:
        self._queues: dict[str, deque[ScriptedModel]] = defaultdict(deque)
        for role, models in (scripts or {}).items():
            self._queues[role].extend(models)
        self.handed_out: list[ScriptedModel] = []

    def add(self, role: str, model: ScriptedModel) -> None:
        self._queues[role].append(model)

    def create(self, role: str) -> Model:
        if not self._queues[role]:
            raise AssertionError(f"no scripted model left for role {role!r}")
        model = self._queues[role].popleft()
        self.handed_out.append(model)
        return model

    def assert_complete(self) -> None:
        for model in self.handed_out:
            model.assert_complete()
        left = {role: len(q) for role, q in self._queues.items() if q}
        assert not left, f"scripted models never used: {left}"


def settings_for(**env: str) -> Settings:
    """Settings from a minimal environment plus overrides."""
    return load_settings({"AGENT_SIGNING_SECRET": SECRET, **env})


class Harness:
    """A dispatcher on its own event loop thread, like the AgentCore worker loop."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.dispatcher = Dispatcher(services)
        self.codec = TokenCodec([SECRET])
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def token(self, sid: str = SID, uid: int = 1, vid: int = 1) -> str:
        return self.codec.mint(sid=sid, uid=uid, vid=vid, typ="copilot")

    def run(self, body: dict[str, Any], header: str | None = SID) -> list[Frame]:
        """Dispatch on the worker loop and read the whole body (on this thread's own loop)."""
        stream = asyncio.run_coroutine_threadsafe(self.dispatcher.dispatch(body, header), self.loop).result(
            10
        )
        return asyncio.run(_collect(stream))

    def chat(self, prompt: str, sid: str = SID) -> list[Frame]:
        return self.run(
            {"session_id": sid, "token": self.token(sid), "action": "chat", "prompt": prompt}, sid
        )

    def action(self, action: str, sid: str = SID, **extra: Any) -> list[Frame]:
        return self.run({"session_id": sid, "token": self.token(sid), "action": action, **extra}, sid)

    def close(self) -> None:
        self.services.builds.shutdown()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


async def _collect(stream: AsyncIterator[bytes]) -> list[Frame]:
    raw = b"".join([chunk async for chunk in stream])
    return parse_frames(raw)


@pytest.fixture
def make_harness(tmp_path: Any) -> Iterable[Callable[..., Harness]]:
    """Build harnesses from scripted models and setting overrides; closed after the test.

    Each test gets its own data folder (the file session store lives there).
    """
    made: list[Harness] = []

    def make(models: ScriptedModels | None, **env: str) -> Harness:
        """``models=None``: the offline model for every role."""
        env.setdefault("DATA_DIR", str(tmp_path / "data"))
        services = build_services(settings_for(**env), tracker=FakeTracker(), models=models)
        harness = Harness(services)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()
