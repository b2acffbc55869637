"""Where attached files live: once per vendor and content hash, in a local folder or an S3 bucket.

Both processes open the same store from one setting, ``ATTACHMENT_STORE``: ``file:///abs/folder``
(``make run``; a shared volume under docker compose) or ``s3://bucket/prefix`` (deployed; moto's S3
in tests). The web app writes; the runtime reads the blobs a turn references. A blob's key is
``<vendor_id>/<sha256>``: the runtime derives it from the *verified token's* vendor and the hash,
so a payload cannot point it at another vendor's file or at an arbitrary path.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

__all__ = ["BlobStore", "BlobMissing", "LocalBlobStore", "S3BlobStore", "open_store", "sha256_hex"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobMissing(LookupError):
    """The store has no blob for that vendor and hash (or it does not match its hash)."""


def sha256_hex(data: bytes) -> str:
    """The content hash that names a blob."""
    return hashlib.sha256(data).hexdigest()


def _key(vendor_id: int, digest: str) -> str:
    if not _SHA256.match(digest) or int(vendor_id) < 0:
        raise BlobMissing("not a blob key")
    return f"{int(vendor_id)}/{digest}"


class BlobStore(Protocol):
    """Content-addressed, vendor-scoped blobs."""

    def put(self, vendor_id: int, data: bytes) -> str:
        """Store ``data`` (once: an existing blob is kept) and return its sha256."""

    def get(self, vendor_id: int, digest: str) -> bytes:
        """The blob's bytes, checked against its hash. Raises :class:`BlobMissing`."""


class LocalBlobStore:
    """Blobs as files under one folder (written atomically: temp file + rename)."""

    def __init__(self, root: str | Path) -> None:
        """Use (and create) ``root``."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, vendor_id: int, data: bytes) -> str:
        """See :meth:`BlobStore.put`."""
        digest = sha256_hex(data)
        path = self.root / _key(vendor_id, digest)
        if path.is_file():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, vendor_id: int, digest: str) -> bytes:
        """See :meth:`BlobStore.get`."""
        path = self.root / _key(vendor_id, digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BlobMissing(digest) from None
        if sha256_hex(data) != digest:
            raise BlobMissing(f"{digest} does not match its content")
        return data


class S3BlobStore:
    """Blobs as objects ``<prefix>/<vendor_id>/<sha256>`` in one bucket (boto3)."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        """Use ``bucket`` under ``prefix``; ``client`` defaults to ``boto3.client("s3")``."""
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or boto3.client("s3")

    def _object(self, vendor_id: int, digest: str) -> str:
        key = _key(vendor_id, digest)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, vendor_id: int, data: bytes) -> str:
        """See :meth:`BlobStore.put`."""
        digest = sha256_hex(data)
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._object(vendor_id, digest),
            Body=data,
            ChecksumAlgorithm="SHA256",
            ServerSideEncryption="AES256",
        )
        return digest

    def get(self, vendor_id: int, digest: str) -> bytes:
        """See :meth:`BlobStore.get`."""
        from botocore.exceptions import ClientError

        try:
            data: bytes = self.client.get_object(Bucket=self.bucket, Key=self._object(vendor_id, digest))[
                "Body"
            ].read()
        except ClientError as exc:
            raise BlobMissing(f"{digest}: {exc.response.get('Error', {}).get('Code', 'error')}") from None
        if sha256_hex(data) != digest:
            raise BlobMissing(f"{digest} does not match its content")
        return data


def open_store(url: str, *, client: Any = None) -> BlobStore:
    """The store a ``file:///…`` or ``s3://bucket/prefix`` URL names."""
    parts = urlsplit(url)
    if parts.scheme == "s3" and parts.netloc:
        return S3BlobStore(parts.netloc, parts.path, client=client)
    if parts.scheme == "file" and parts.path:
        return LocalBlobStore(parts.path)
    if not parts.scheme and url:
        return LocalBlobStore(url)
    raise ValueError(f"ATTACHMENT_STORE must be file:///folder or s3://bucket/prefix, not {url!r}")
