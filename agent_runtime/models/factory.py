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
import logging
import threading
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

__all__ = [
    "ALLOW_MODEL_REQUESTS",
    "ROLES",
    "GuardedModel",
    "ModelFactory",
    "prompt_cache_supported",
]

logger = logging.getLogger(__name__)

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


class _OpenStreams:
    """Bedrock response streams a model opened, so a stream an error cut short gets closed.

    botocore raises an in-stream exception (``throttlingException`` …) before reading the rest of
    the body and Strands does not close the response, so its pooled connection would only be
    released by the garbage collector. An ``after-call`` hook on the client records each
    ``ConverseStream`` response; :meth:`close_all` closes them once the call is over.
    """

    def __init__(self, client: Any) -> None:
        self._streams: list[Any] = []
        self._lock = threading.Lock()
        client.meta.events.register("after-call.bedrock-runtime.ConverseStream", self._seen)

    def _seen(self, parsed: Any = None, **_: Any) -> None:
        stream = parsed.get("stream") if isinstance(parsed, dict) else None
        if stream is not None:
            with self._lock:
                self._streams.append(stream)

    def close_all(self) -> None:
        with self._lock:
            streams, self._streams = self._streams, []
        for stream in streams:
            try:
                stream.close()
            except Exception:  # already closed or torn down
                logger.debug("could not close a bedrock response stream", exc_info=True)


class GuardedModel(Model):
    """Delegates to a real provider model, unless :data:`ALLOW_MODEL_REQUESTS` is off."""

    def __init__(self, inner: Model, provider: str) -> None:
        """Wrap ``inner`` (from ``provider``)."""
        self.inner = inner
        self.provider = provider
        setattr(self, STRUCTURED_OUTPUT_FLAG, supports_structured_output(inner))
        client = getattr(inner, "client", None) if provider == "bedrock" else None
        self._streams = _OpenStreams(client) if client is not None else None

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
        try:
            async for event in self.inner.stream(messages, tool_specs, system_prompt, **kwargs):
                yield event
        except Exception:
            # The provider's worker thread is done (it raised): its half-read stream can be closed.
            if self._streams is not None:
                self._streams.close_all()
            raise
        if self._streams is not None:
            self._streams.close_all()


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

            return OfflineModel(
                role,
                latency_ms=settings.offline_model_latency_ms,
                flaws=frozenset(settings.offline_model_flaws),
                hold_file=settings.offline_model_hold_file,
            )
        model_id = self.model_id(role)
        if self.provider == "bedrock":
            inner: Model = _bedrock_model(model_id, settings.aws_region)
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


BEDROCK_READ_TIMEOUT_S = 120


def _bedrock_model(model_id: str, region: str) -> Model:
    """Strands' ``BedrockModel`` as the runtime uses it.

    * botocore's retries are off (``total_max_attempts=1``): throttling is retried in one place,
      Strands' retry hook (:class:`~agent_runtime.models.retry.ModelRetry`, with jitter and a
      stop-aware wait), so attempts never multiply and a stop is never stuck in botocore's sleep;
    * prompt caching on (``CacheConfig(strategy="auto")``): a cache point after the tool specs,
      where the model supports it (Claude); the system prompt's own cache point is placed by the
      orchestrator after its stable part (the canvas part changes every turn);
    * the endpoint comes from botocore's configuration, so ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``
      points it elsewhere (the tests' loopback fake).
    """
    from botocore.config import Config as BotocoreConfig
    from strands.models.bedrock import BedrockModel
    from strands.models.model import CacheConfig

    return BedrockModel(
        model_id=model_id,
        region_name=region,
        boto_client_config=BotocoreConfig(
            retries={"mode": "standard", "total_max_attempts": 1},
            read_timeout=BEDROCK_READ_TIMEOUT_S,
            connect_timeout=10,
        ),
        cache_config=CacheConfig(strategy="auto", system_prompt_ttl=False, tools_ttl=True),
    )


def prompt_cache_supported(model: Model) -> bool:
    """Whether ``model`` takes prompt-cache points (Claude on Bedrock)."""
    if not isinstance(model, GuardedModel) or model.provider != "bedrock":
        return False
    model_id = str(model.get_config().get("model_id", "")).lower()
    return "anthropic" in model_id or "claude" in model_id
