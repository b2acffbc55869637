"""Running the runtime on the Bedrock path against the loopback Bedrock fake (in-process harness)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent_runtime.config import DEFAULT_AGENTS_CONFIG
from agent_runtime.models import factory
from tests.support.bedrock_fake import BedrockFake
from tests.support.sse import Frame

RETRY_FAST = {"max_attempts": 4, "initial_delay_seconds": 0.05, "max_delay_seconds": 0.2}


def agents_config(tmp_path: Path, **overrides: dict[str, Any]) -> Path:
    """A copy of the packaged ``agents.yaml`` (prompts by absolute path), with fast retries.

    ``overrides`` maps an agent name to fields merged into it (e.g. ``conversation``).
    """
    data = yaml.safe_load(DEFAULT_AGENTS_CONFIG.read_text(encoding="utf-8"))
    for agent in data["agents"]:
        agent["prompt"] = str((DEFAULT_AGENTS_CONFIG.parent / agent["prompt"]).resolve())
        agent["retry"] = dict(RETRY_FAST)
        for key, value in overrides.get(agent["name"], {}).items():
            agent[key] = {**agent.get(key, {}), **value} if isinstance(value, dict) else value
    path = tmp_path / "agents.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def bedrock(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make_harness: Any
) -> Iterator[Callable[..., tuple[BedrockFake, Any]]]:
    """``bedrock(**env)`` → ``(fake, harness)``: MODEL_PROVIDER=bedrock with the endpoint at the fake."""
    fakes: list[BedrockFake] = []
    models: list[Any] = []
    create = factory.ModelFactory.create

    def recording_create(self: factory.ModelFactory, role: str) -> Any:
        model = create(self, role)
        models.append(model)
        return model

    monkeypatch.setattr(factory.ModelFactory, "create", recording_create)

    def make(overrides: dict[str, dict[str, Any]] | None = None, **env: str) -> tuple[BedrockFake, Any]:
        fake = BedrockFake().start()
        fakes.append(fake)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
        # The guard stays on for real endpoints; this one is a loopback fake.
        monkeypatch.setattr(factory, "ALLOW_MODEL_REQUESTS", True)
        config = agents_config(tmp_path, **(overrides or {}))
        harness = make_harness(None, MODEL_PROVIDER="bedrock", AGENTS_CONFIG=str(config), **env)
        return fake, harness

    yield make
    for model in models:  # close botocore's pooled connections to the fake
        client = getattr(getattr(model, "inner", None), "client", None)
        if client is not None:
            client.close()
    for fake in fakes:
        fake.stop()


def shape(frames: list[Frame]) -> list[tuple[str, str]]:
    """The stream as (type, tool name or custom name): comparable across runs (no ids, no timing)."""
    out: list[tuple[str, str]] = []
    for f in frames:
        detail = f.event.get("toolCallName") or f.event.get("name") or ""
        item = (f.type, str(detail))
        if item == ("TEXT_MESSAGE_CONTENT", "") and out and out[-1] == item:
            continue  # text is chunked differently by each provider
        out.append(item)
    return out
