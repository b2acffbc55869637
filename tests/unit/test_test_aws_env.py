"""The live-Bedrock guard reads the AWS settings the run STARTED with, also in a process started
after the root conftest faked them (a pytest-xdist worker inherits the faked environment)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.aws_env import CARRIED, REAL_AWS_ENV

ROOT = Path(__file__).resolve().parents[2]
READ = "import json; from tests.support.aws_env import REAL_AWS_ENV as r; print(json.dumps(r))"


def _python(code: str, env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout


def test_the_fakes_are_not_taken_for_real_credentials_in_a_child_process() -> None:
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"  # the root conftest's fake, inherited below
    assert REAL_AWS_ENV.get("AWS_ACCESS_KEY_ID") != "testing"
    assert json.loads(_python(READ, {**os.environ, "PYTHONPATH": str(ROOT)})) == REAL_AWS_ENV


def test_a_run_started_with_credentials_carries_them_past_the_fakes() -> None:
    real = {"AWS_ACCESS_KEY_ID": "AKIAREAL", "AWS_SECRET_ACCESS_KEY": "real-secret"}
    env = {k: v for k, v in os.environ.items() if k != CARRIED} | {**real, "PYTHONPATH": str(ROOT)}
    # a run's first process captures, then fakes; a process it starts reads the capture
    parent = f"""
import json, os, subprocess, sys
from tests.support import aws_env
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
child = subprocess.run([sys.executable, "-c", {READ!r}], capture_output=True, text=True, check=True).stdout
print(json.dumps([aws_env.REAL_AWS_ENV, json.loads(child)]))
"""
    first, second = json.loads(_python(parent, env))
    assert {k: first[k] for k in real} == real
    assert {k: second[k] for k in real} == real
