"""The AWS settings the test run started with, captured before ``tests/conftest.py`` fakes them.

Imported first by the root conftest; Python caches the module, so the values stay the original
ones even if the conftest module is executed again under another name. Only the
``live_bedrock`` tests use them.
"""

from __future__ import annotations

import os

NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION")
REAL_AWS_ENV = {name: os.environ[name] for name in NAMES if name in os.environ}
