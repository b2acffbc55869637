"""The runtime's long-lived collaborators, built once at start-up and shared by every request."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from strands.models.model import Model

from agent_runtime.agents.builder import BuildManager, TaskTracker
from agent_runtime.agents.builder_extras import BuilderExtras
from agent_runtime.agents.registry import BUILDER, ORCHESTRATOR, AgentRegistry, AgentSpec, load_registry
from agent_runtime.budget import Budget
from agent_runtime.config import Settings
from agent_runtime.contract import TokenCodec
from agent_runtime.models.factory import ModelFactory
from agent_runtime.persistence import SessionKeeper
from agent_runtime.session.cache import AgentSessionCache
from agent_runtime.session.store import create_store
from agent_runtime.session.writer import SessionWriter
from agent_runtime.toolservers import McpPool
from agent_runtime.usage import PriceTable, load_prices
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
    """Opens sessions (cache, else store)."""
    writer: SessionWriter
    """Writes sessions to the store; the stored stop flag."""
    mcp: McpPool
    prices: PriceTable
    attachments: BlobStore | None = None
    """Where a turn's attached files are read (the web app writes them)."""

    def close(self) -> None:
        """Stop the builders' pool and every MCP server (runtime shutdown)."""
        self.builds.shutdown()
        self.mcp.close()


def turn_budget(settings: Settings, spec: AgentSpec) -> Budget:
    """The chat-turn budget: ``TURN_BUDGET_SECONDS``/``MAX_AGENT_CYCLES`` or the orchestrator's limits."""
    return Budget(
        seconds=settings.turn_budget_seconds or spec.limits.budget_seconds,
        max_cycles=settings.max_agent_cycles or spec.limits.max_cycles,
    )


def build_services(
    settings: Settings,
    tracker: TaskTracker,
    *,
    models: ModelSource | None = None,
    environ: Mapping[str, str] | None = None,
) -> Services:
    """Build the services.

    Args:
        settings: Validated settings.
        tracker: AgentCore's async-task registry.
        models: Model source override (tests); defaults to the configured factory.
        environ: Where ``${NAME}`` in MCP server declarations is resolved (default ``os.environ``).

    Raises:
        ConfigError: The agents file, an MCP server declaration, the price table or the model
            provider is unusable.
    """
    registry = load_registry(settings.agents_config)
    prices = load_prices(settings.price_table)
    mcp = McpPool(registry.mcp_servers, os.environ if environ is None else environ)
    mcp.check()
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
    writer = SessionWriter(
        store=create_store(settings),
        cache=cache,
        agent_id=ORCHESTRATOR,
        stop_poll_seconds=settings.stop_poll_seconds,
    )
    builds = BuildManager(
        workers=settings.builder_workers,
        fair=settings.builder_scheduling == "fair",
        spec=registry.get(BUILDER),
        model_factory=models,
        tracker=tracker,
        on_finished=writer.build_finished,
        on_module_finished=writer.store_between_turns,
        stop_probe=writer.probe,
        extras=BuilderExtras(
            mcp=mcp,
            prices=prices,
            token_budget=settings.build_token_budget or settings.turn_token_budget,
            session_token_budget=settings.session_token_budget,
        ),
    )
    keeper = SessionKeeper(
        writer=writer,
        cache=cache,
        registry=registry,
        models=models,
        builds=builds,
        rules=settings.approval_rule_set(),
        build_recovery=settings.build_recovery,
        prices=prices,
    )
    return Services(
        settings=settings,
        codec=settings.codec(),
        cache=cache,
        models=models,
        registry=registry,
        builds=builds,
        keeper=keeper,
        writer=writer,
        mcp=mcp,
        prices=prices,
        attachments=open_store(settings.attachment_store_url()),
    )
