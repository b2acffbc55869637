"""The S3 store: Strands' ``S3SessionManager`` under ``s3://<bucket>/<prefix>/``.

The stop flag is the object ``<prefix>/session_<sid>/stop.flag`` (a ``HEAD`` to check it); a
``reset`` deletes every object under the session's prefix (the flag included).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import boto3
from botocore.config import Config as BotocoreConfig
from botocore.exceptions import ClientError
from strands.session.s3_session_manager import S3SessionManager

from agent_runtime.session.store._base import STOP_FLAG, SessionStore

__all__ = ["S3Store"]

logger = logging.getLogger(__name__)

_CLIENT_CONFIG = BotocoreConfig(
    retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=10
)


class _Reader(S3SessionManager):
    """Strands' S3 repository without the manager's side effects (it creates no session)."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:  # noqa: D107 - skips super().__init__
        self.bucket = bucket
        self.prefix = prefix
        self.client = client


class S3Store(SessionStore):
    """Sessions as objects in one bucket."""

    def __init__(self, *, bucket: str, prefix: str, region: str | None, endpoint_url: str | None) -> None:
        """Configure the bucket (no request is made here)."""
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.endpoint_url = endpoint_url
        self._boto = boto3.Session(region_name=region)
        client = self._boto.client("s3", config=_CLIENT_CONFIG, endpoint_url=endpoint_url)
        self._reader = _Reader(bucket, prefix, client)

    def manager(self, session_id: str) -> S3SessionManager:
        """Strands' S3 session manager for the session."""
        return S3SessionManager(
            session_id,
            bucket=self.bucket,
            prefix=self.prefix,
            boto_session=self._boto,
            boto_client_config=_CLIENT_CONFIG,
            endpoint_url=self.endpoint_url,
        )

    def read_agent_state(self, session_id: str, agent_id: str) -> dict[str, Any] | None:
        """The stored state of ``agent_id``."""
        agent = self._reader.read_agent(session_id, agent_id)
        return dict(agent.state) if agent is not None else None

    def delete(self, session_id: str) -> None:
        """Delete every object under the session's prefix."""
        client = self._reader.client
        prefix = self._reader._get_session_path(session_id)
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})

    def set_stop(self, session_id: str) -> bool:
        """Put the flag object if the session is stored."""
        if self._reader.read_session(session_id) is None:
            return False
        self._reader.client.put_object(
            Bucket=self.bucket, Key=self._flag_key(session_id), Body=str(time.time()).encode()
        )
        logger.info("session_id=<%s> | stored stop flag raised", session_id)
        return True

    def stop_requested(self, session_id: str) -> bool:
        """``HEAD`` the flag object."""
        try:
            self._reader.client.head_object(Bucket=self.bucket, Key=self._flag_key(session_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def clear_stop(self, session_id: str) -> None:
        """Delete the flag object."""
        self._reader.client.delete_object(Bucket=self.bucket, Key=self._flag_key(session_id))

    def truncate_messages(self, session_id: str, agent_id: str, keep: int) -> int:
        """Delete the ``message_<n>.json`` objects with ``n >= keep``."""
        client = self._reader.client
        prefix = f"{self._reader._get_agent_path(session_id, agent_id)}messages/"
        paginator = client.get_paginator("list_objects_v2")
        removed = 0
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys = []
            for item in page.get("Contents", []):
                suffix = item["Key"].rpartition("message_")[2].removesuffix(".json")
                if suffix.isdigit() and int(suffix) >= keep:
                    keys.append({"Key": item["Key"]})
            if keys:
                client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})
                removed += len(keys)
        return removed

    def _flag_key(self, session_id: str) -> str:
        return f"{self._reader._get_session_path(session_id)}{STOP_FLAG}"
