"""One factory maps a role (``router``, ``orchestrator``, ``builder``) to a Strands model.

``MODEL_PROVIDER`` chooses the provider: ``offline`` (default, no network), ``bedrock`` (Claude
Haiku for the router, Sonnet for the orchestrator and builders; ids configurable), ``ollama`` or
``openai`` (any OpenAI-compatible server). Providers with optional dependencies are imported
lazily; :meth:`ModelFactory.check` turns a missing one into a one-line
:class:`~agent_runtime.errors.ConfigError` at start-up.

Every cloud model is wrapped in :class:`GuardedModel`, which refuses to call out while the
module flag :data:`ALLOW_MODEL_REQUESTS` is ``False`` (``tests/conftest.py`` turns it off).
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncGenerator, AsyncIterable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel
from strands.models.model import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

from agent_runtime.errors import ConfigError, ModelRequestsBlocked
from agent_runtime.strands_compat import STRUCTURED_OUTPUT_FLAG, supports_structured_output

if TYPE_CHECKING:
    from agent_runtime.config import Settings

__all__ = ["ALLOW_MODEL_REQUESTS", "ROLES", "GuardedModel", "ModelFactory"]

ALLOW_MODEL_REQUESTS = True
"""When ``False``, any call to a real (non-offline) model raises ``ModelRequestsBlocked``."""

Role = Literal["router", "orchestrator", "builder"]
ROLES: tuple[str, ...] = ("router", "orchestrator", "builder")

T = TypeVar("T", bound=BaseModel)

_PROVIDER_MODULES = {
    "bedrock": ("strands.models.bedrock", "boto3", "pip install 'strands-agents'"),
    "ollama": ("strands.models.ollama", "ollama", "pip install 'strands-agents[ollama]'"),
    "openai": ("strands.models.openai", "openai", "pip install 'strands-agents[openai]'"),
}


class GuardedModel(Model):
    """Delegates to a real provider model, unless :data:`ALLOW_MODEL_REQUESTS` is off."""

    def __init__(self, inner: Model, provider: str) -> None:
        """Wrap ``inner`` (from ``provider``)."""
        self.inner = inner
        self.provider = provider
        setattr(self, STRUCTURED_OUTPUT_FLAG, supports_structured_output(inner))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def update_config(self, **model_config: Any) -> None:
        """Delegate."""
        self.inner.update_config(**model_config)

    def get_config(self) -> Any:
        """Delegate."""
        return self.inner.get_config()

    def _check(self) -> None:
        if not ALLOW_MODEL_REQUESTS:
            raise ModelRequestsBlocked(f"real model requests are disabled ({self.provider})")

    async def structured_output(
        self, output_model: type[T], prompt: Messages, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, T | Any], None]:
        """Delegate (guarded)."""
        self._check()
        async for event in self.inner.structured_output(output_model, prompt, system_prompt, **kwargs):
            yield event

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncIterable[StreamEvent]:
        """Delegate (guarded)."""
        self._check()
        async for event in self.inner.stream(messages, tool_specs, system_prompt, **kwargs):
            yield event


class ModelFactory:
    """Creates a fresh model per agent for a role, from the settings."""

    def __init__(self, settings: Settings) -> None:
        """Bind the factory to the settings (call :meth:`check` at start-up)."""
        self.settings = settings
        self.provider = settings.model_provider

    def check(self) -> None:
        """Fail fast when the configured provider cannot be used.

        Raises:
            ConfigError: The provider's optional dependency is missing or its settings are incomplete.
        """
        if self.provider == "offline":
            return
        module, dependency, hint = _PROVIDER_MODULES[self.provider]
        try:
            importlib.import_module(dependency)
            importlib.import_module(module)
        except ImportError:
            raise ConfigError(
                f"MODEL_PROVIDER={self.provider} needs the '{dependency}' package: {hint}"
            ) from None
        if self.provider == "openai" and not self.settings.openai_api_key:
            raise ConfigError(
                "MODEL_PROVIDER=openai needs OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server)"
            )

    def model_id(self, role: str) -> str:
        """The configured model id for a role."""
        return {
            "router": self.settings.router_model_id,
            "orchestrator": self.settings.orchestrator_model_id,
            "builder": self.settings.builder_model_id,
        }[role]

    def create(self, role: str) -> Model:
        """A new model instance for ``role``.

        Raises:
            ValueError: Unknown role.
        """
        if role not in ROLES:
            raise ValueError(f"unknown model role: {role!r}")
        settings = self.settings
        if self.provider == "offline":
            from agent_runtime.models.offline_model import OfflineModel

            return OfflineModel(role, latency_ms=settings.offline_model_latency_ms)
        model_id = self.model_id(role)
        if self.provider == "bedrock":
            from strands.models.bedrock import BedrockModel

            inner: Model = BedrockModel(model_id=model_id, region_name=settings.aws_region)
        elif self.provider == "ollama":
            from strands.models.ollama import OllamaModel

            inner = OllamaModel(settings.ollama_host, model_id=model_id)
        else:
            from strands.models.openai import OpenAIModel

            client_args: dict[str, Any] = {"api_key": settings.openai_api_key}
            if settings.openai_base_url:
                client_args["base_url"] = settings.openai_base_url
            inner = OpenAIModel(client_args=client_args, model_id=model_id)
        return GuardedModel(inner, self.provider)
