"""The app's Flask class: Flask, with its per-request bookkeeping answered once per function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

SYNC_CACHE_LIMIT = 4096
"""At most this many functions' answers are kept (hooks and views: a few hundred)."""


class PlaybookFlask(Flask):
    """Flask whose :meth:`ensure_sync` remembers its answer for each function.

    Flask asks ``ensure_sync`` for every hook and view of every request (about twenty on a stream
    opening), and each answer inspects the function's code flags. The app's hooks and views are
    registered once and never change kind, so the first answer stands.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._sync[func]
        except KeyError:
            sync = super().ensure_sync(func)
        except TypeError:  # an unhashable callable: asked every time, as Flask does
            return super().ensure_sync(func)
        if len(self._sync) < SYNC_CACHE_LIMIT:
            self._sync[func] = sync
        return sync
