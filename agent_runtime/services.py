"""The runtime's long-lived collaborators, built once at start-up and shared by every request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from strands.models.model import Model

from agent_runtime.agents.builder import BuildManager, TaskTracker
from agent_runtime.agents.registry import BUILDER, ORCHESTRATOR, AgentRegistry, AgentSpec, load_registry
from agent_runtime.budget import Budget
from agent_runtime.config import Settings
from agent_runtime.contract import TokenCodec
from agent_runtime.models.factory import ModelFactory
from agent_runtime.persistence import SessionKeeper
from agent_runtime.session.cache import AgentSessionCache, SessionEntry
from agent_runtime.session.control import RunControl
from agent_runtime.session.store import create_store
from attachments.store import BlobStore, open_store

__all__ = ["ModelSource", "Services", "build_services", "turn_budget"]


class ModelSource(Protocol):
    """Gives a fresh model for a role (the factory; tests pass scripted models)."""

    def create(self, role: str) -> Model:
        """A new model for ``role``."""


@dataclass
class Services:
    """Everything a request handler needs."""

    settings: Settings
    codec: TokenCodec
    cache: AgentSessionCache
    models: ModelSource
    registry: AgentRegistry
    builds: BuildManager
    keeper: SessionKeeper
    attachments: BlobStore | None = None
    """Where a turn's attached files are read (the web app writes them)."""


def turn_budget(settings: Settings, spec: AgentSpec) -> Budget:
    """The chat-turn budget: ``TURN_BUDGET_SECONDS``/``MAX_AGENT_CYCLES`` or the orchestrator's limits."""
    return Budget(
        seconds=settings.turn_budget_seconds or spec.limits.budget_seconds,
        max_cycles=settings.max_agent_cycles or spec.limits.max_cycles,
    )


def build_services(
    settings: Settings, tracker: TaskTracker, *, models: ModelSource | None = None
) -> Services:
    """Build the services.

    Raises:
        ConfigError: The agents file or the model provider is unusable.
    """
    registry = load_registry(settings.agents_config)
    registry.get(ORCHESTRATOR)
    if models is None:
        factory = ModelFactory(settings)
        factory.check()
        models = factory
    cache = AgentSessionCache(
        capacity=settings.session_cache_capacity,
        idle_seconds=settings.session_idle_seconds,
        event_log_size=settings.event_log_size,
    )
    store = create_store(settings)
    holder: dict[str, SessionKeeper] = {}

    def store_between_turns(entry: SessionEntry) -> None:
        # A turn running now stores the session itself when it ends; writing mid-turn would store
        # half a turn's conversation (and canvas) as if it were complete. Nor over a copy another
        # runtime wrote (or deleted) meanwhile.
        if entry.turn is None:
            holder["keeper"].persist_quietly(entry, if_current=True)

    def build_finished(entry: SessionEntry) -> None:
        cache.touch(entry)
        store_between_turns(entry)

    def build_probe(session_id: str, control: RunControl) -> Callable[[], bool] | None:
        return holder["keeper"].probe(session_id, control)

    builds = BuildManager(
        workers=settings.builder_workers,
        fair=settings.builder_scheduling == "fair",
        spec=registry.get(BUILDER),
        model_factory=models,
        tracker=tracker,
        on_finished=build_finished,
        on_module_finished=store_between_turns,
        stop_probe=build_probe,
    )
    keeper = SessionKeeper(
        store=store,
        cache=cache,
        registry=registry,
        models=models,
        builds=builds,
        rules=settings.approval_rule_set(),
        stop_poll_seconds=settings.stop_poll_seconds,
        build_recovery=settings.build_recovery,
    )
    holder["keeper"] = keeper
    return Services(
        settings=settings,
        codec=settings.codec(),
        cache=cache,
        models=models,
        registry=registry,
        builds=builds,
        keeper=keeper,
        attachments=open_store(settings.attachment_store_url()),
    )
