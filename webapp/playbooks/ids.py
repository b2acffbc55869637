"""Opaque playbook ids in URLs (sqids)."""

from __future__ import annotations

from flask import current_app
from sqids import Sqids

_cache: dict[tuple[str, int], Sqids] = {}


def _sqids() -> Sqids:
    alphabet = str(current_app.config.get("SQIDS_ALPHABET") or "")
    min_length = int(current_app.config.get("SQIDS_MIN_LENGTH", 8))
    key = (alphabet, min_length)
    if key not in _cache:
        _cache[key] = (
            Sqids(alphabet=alphabet, min_length=min_length) if alphabet else Sqids(min_length=min_length)
        )
    return _cache[key]


def encode_id(value: int) -> str:
    """The opaque form of a playbook's integer id."""
    return _sqids().encode([value])


def decode_id(value: str) -> int | None:
    """The integer behind an opaque id, or None unless ``value`` is that id's canonical form."""
    if not value or len(value) > 64:
        return None
    numbers = _sqids().decode(value)
    if len(numbers) != 1 or _sqids().encode(numbers) != value:
        return None
    return numbers[0]
