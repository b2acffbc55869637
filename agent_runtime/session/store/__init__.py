"""Durable session storage through Strands session managers (DESIGN §6 "Session store").

Chosen by ``SESSION_STORE``: ``file`` (default, ``<DATA_DIR>/sessions``), ``s3``,
``agentcore-memory`` or ``none`` (memory only). See :mod:`agent_runtime.session.store._base`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent_runtime.session.store._base import NullStore, SessionStore, commit, store_io

if TYPE_CHECKING:
    from agent_runtime.config import Settings

__all__ = ["NullStore", "SessionStore", "commit", "create_store", "store_io"]


def create_store(settings: Settings) -> SessionStore:
    """The configured store (no I/O beyond creating a local folder)."""
    if settings.session_store == "file":
        from agent_runtime.session.store.file import FileStore

        return FileStore(settings.data_dir / "sessions")
    if settings.session_store == "s3":
        from agent_runtime.session.store.s3 import S3Store

        return S3Store(
            bucket=str(settings.session_s3_bucket),
            prefix=settings.session_s3_prefix,
            region=settings.session_s3_region or settings.aws_region,
            endpoint_url=settings.session_s3_endpoint_url,
        )
    if settings.session_store == "agentcore-memory":
        from agent_runtime.session.store.agentcore import AgentCoreMemoryStore

        return AgentCoreMemoryStore(
            memory_id=str(settings.agentcore_memory_id),
            region=settings.session_s3_region or settings.aws_region,
        )
    return NullStore()
