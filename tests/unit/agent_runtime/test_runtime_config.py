"""Settings, the agents file and the model factory: bad configuration is one clear line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent_runtime.agents.registry import load_registry
from agent_runtime.config import DEFAULT_AGENTS_CONFIG, load_settings
from agent_runtime.errors import ConfigError, ModelRequestsBlocked
from agent_runtime.models.factory import GuardedModel, ModelFactory
from agent_runtime.models.offline_model import OfflineModel

SECRET = "s" * 40
ROOT = Path(__file__).resolve().parents[3]


def test_defaults() -> None:
    settings = load_settings({"AGENT_SIGNING_SECRET": f"{SECRET}, {'o' * 40}"})
    assert settings.signing_secrets == (SECRET, "o" * 40)
    assert settings.model_provider == "offline" and settings.builder_workers == 3
    assert settings.builder_scheduling == "fair"
    assert settings.session_cache_capacity == 1000 and settings.session_idle_seconds == 900
    assert settings.port == 8080 and settings.heartbeat_seconds == 15


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "AGENT_SIGNING_SECRET is not set"),
        ({"AGENT_SIGNING_SECRET": "short"}, "AGENT_SIGNING_SECRET is invalid: every signing secret"),
        ({"BUILDER_WORKERS": "abc"}, "BUILDER_WORKERS='abc' is invalid"),
        ({"BUILDER_WORKERS": "0"}, "BUILDER_WORKERS='0' is invalid"),
        ({"BUILDER_SCHEDULING": "lifo"}, "BUILDER_SCHEDULING='lifo' is invalid"),
        ({"MODEL_PROVIDER": "gpt"}, "MODEL_PROVIDER='gpt' is invalid"),
        ({"SESSION_IDLE_SECONDS": "-1"}, "SESSION_IDLE_SECONDS='-1' is invalid"),
        (
            {"AGENTS_CONFIG": "/nope/agents.yaml"},
            "AGENTS_CONFIG='/nope/agents.yaml' is invalid: no such file",
        ),
    ],
)
def test_bad_settings_are_one_line(env: dict[str, str], expected: str) -> None:
    base = {} if env == {} else {"AGENT_SIGNING_SECRET": SECRET}
    with pytest.raises(ConfigError) as error:
        load_settings({**base, **env})
    assert expected in error.value.message
    assert "\n" not in error.value.message
    assert "short" not in error.value.message or "AGENT_SIGNING_SECRET=" not in error.value.message


def test_the_process_exits_with_one_line_on_bad_settings() -> None:
    env = {k: v for k, v in os.environ.items() if k != "AGENT_SIGNING_SECRET"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "agent_runtime"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "AGENT_SIGNING_SECRET" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("agents: [", "not valid YAML"),
        ("agents: []", "agents"),
        ("nothing: 1", "agents"),
    ],
)
def test_bad_agents_file(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_registry(path)
    assert expected in error.value.message and "\n" not in error.value.message


def test_agents_file_with_unknown_tool_or_missing_agent(tmp_path: Path) -> None:
    original = DEFAULT_AGENTS_CONFIG.read_text()
    (tmp_path / "prompts").mkdir()
    for name in ("router", "orchestrator", "builder"):
        (tmp_path / "prompts" / f"{name}.md").write_text("Be helpful.")
    path = tmp_path / "agents.yaml"
    path.write_text(original.replace("- suggest_replies", "- launch_rockets"))
    with pytest.raises(ConfigError, match="unknown tool"):
        load_registry(path)
    path.write_text(original.replace("name: module_builder", "name: other_builder"))
    with pytest.raises(ConfigError, match="'module_builder'"):
        load_registry(path)
    path.write_text(original.replace("prompts/builder.md", "prompts/missing.md"))
    with pytest.raises(ConfigError, match="prompt file not found"):
        load_registry(path)
    path.write_text(original)
    assert load_registry(path).get("module_builder").limits.max_cycles >= 10


def test_factory_maps_roles_to_models() -> None:
    offline = ModelFactory(load_settings({"AGENT_SIGNING_SECRET": SECRET}))
    offline.check()
    model = offline.create("builder")
    assert isinstance(model, OfflineModel) and model.get_config()["role"] == "builder"
    with pytest.raises(ValueError):
        offline.create("pilot")

    bedrock = ModelFactory(
        load_settings(
            {"AGENT_SIGNING_SECRET": SECRET, "MODEL_PROVIDER": "bedrock", "ROUTER_MODEL_ID": "haiku-x"}
        )
    )
    bedrock.check()
    router = bedrock.create("router")
    assert isinstance(router, GuardedModel) and router.get_config()["model_id"] == "haiku-x"
    assert bedrock.create("orchestrator").get_config()["model_id"].startswith("us.anthropic.claude-sonnet")


def test_real_model_calls_are_blocked_in_tests() -> None:
    router = ModelFactory(
        load_settings({"AGENT_SIGNING_SECRET": SECRET, "MODEL_PROVIDER": "bedrock"})
    ).create("router")

    async def call() -> None:
        async for _ in router.stream([{"role": "user", "content": [{"text": "hi"}]}]):
            pass

    with pytest.raises(ModelRequestsBlocked):
        asyncio.run(call())


@pytest.mark.parametrize("provider", ["ollama", "openai"])
def test_missing_optional_provider_is_a_config_error(provider: str) -> None:
    factory = ModelFactory(
        load_settings({"AGENT_SIGNING_SECRET": SECRET, "MODEL_PROVIDER": provider, "OPENAI_API_KEY": "k"})
    )
    try:
        __import__(provider)
    except ImportError:
        with pytest.raises(ConfigError, match=f"MODEL_PROVIDER={provider} needs"):
            factory.check()
    else:
        factory.check()
