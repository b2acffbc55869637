"""The AWS settings the test run started with, captured before ``tests/conftest.py`` fakes them.

Imported first by the root conftest; Python caches the module, so the values stay the original
ones even if the conftest module is executed again under another name. The first capture is also
written to ``PB_TEST_REAL_AWS_ENV``, so a process started from the faked environment (a pytest-xdist
worker, a test's subprocess) reads the real values, not the fakes. Only the ``live_bedrock`` tests
use them.
"""

from __future__ import annotations

import json
import os

NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION")
CARRIED = "PB_TEST_REAL_AWS_ENV"

if CARRIED in os.environ:
    REAL_AWS_ENV: dict[str, str] = json.loads(os.environ[CARRIED])
else:
    REAL_AWS_ENV = {name: os.environ[name] for name in NAMES if name in os.environ}
    os.environ[CARRIED] = json.dumps(REAL_AWS_ENV)
