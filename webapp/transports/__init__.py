"""Webapp → runtime transports (DESIGN §5), chosen by ``AGENT_TRANSPORT``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import runtime_urls
from .base import Transport, UpstreamBroken, UpstreamError, UpstreamRequest, UpstreamStream

__all__ = [
    "Transport",
    "UpstreamBroken",
    "UpstreamError",
    "UpstreamRequest",
    "UpstreamStream",
    "make_transport",
]


def make_transport(config: Mapping[str, Any]) -> Transport:
    """Build the configured transport."""
    connect_timeout = float(config["RUNTIME_CONNECT_TIMEOUT"])
    read_timeout = float(config["RUNTIME_READ_TIMEOUT"])
    max_connections = int(config["RUNTIME_MAX_CONNECTIONS"])
    if config["AGENT_TRANSPORT"] == "agentcore":
        from .agentcore import AgentCoreTransport

        return AgentCoreTransport(
            runtime_arn=str(config["AGENTCORE_RUNTIME_ARN"]),
            qualifier=str(config.get("AGENTCORE_QUALIFIER") or "") or None,
            region=str(config["AWS_REGION"]),
            endpoint_url=str(config.get("AGENTCORE_ENDPOINT_URL") or "") or None,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_connections=max_connections,
        )
    from .http import HttpTransport

    return HttpTransport(
        runtime_urls(config),
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_connections=max_connections,
        idle_connections=int(config.get("RUNTIME_IDLE_CONNECTIONS", 64)),
    )
