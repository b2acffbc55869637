"""scripts/local_setup.py: idempotent local preparation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_local_setup_is_idempotent_and_creates_the_demo_login(tmp_path: Path) -> None:
    import shutil

    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "local_setup.py", tmp_path / "scripts" / "local_setup.py")
    shutil.copytree(ROOT / "scripts" / "demo_policies", tmp_path / "scripts" / "demo_policies")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "SECRET_KEY", "AGENT_SIGNING_SECRET", "APP_ENV"}
    }
    env["PYTHONPATH"] = str(ROOT)
    # Run a copy of the script rooted in tmp_path so var/ lands there, importing the real webapp.
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, str(tmp_path / "scripts" / "local_setup.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        assert (
            "http://127.0.0.1:5000/builder" in result.stdout
            and "demo@example.com / demo-password" in result.stdout
        )
    # An exported port wins over var/local.env, and the printed address says so.
    moved = subprocess.run(
        [sys.executable, str(tmp_path / "scripts" / "local_setup.py")],
        env={**env, "WEBAPP_PORT": "5077"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert moved.returncode == 0 and "http://127.0.0.1:5077/builder" in moved.stdout, moved.stderr
    text = (tmp_path / "var" / "local.env").read_text()
    assert "SECRET_KEY=" in text and "AGENT_SIGNING_SECRET=" in text and "MODEL_PROVIDER=offline" in text
    assert (tmp_path / "var" / "playbook.db").exists()
    assert oct((tmp_path / "var" / "local.env").stat().st_mode)[-3:] == "600"

    sys.path.insert(0, str(ROOT))
    from sqlalchemy import create_engine
    from sqlalchemy import text as sql

    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'playbook.db'}")
    with engine.connect() as conn:
        assert conn.execute(sql("select count(*) from users where email='demo@example.com'")).scalar() == 1
        vendor = conn.execute(sql("select vendor_id from users where email='demo@example.com'")).scalar()
    engine.dispose()
    # The playbook library's demo policies for the demo vendor (POLICIES_DIR defaults to var/policies).
    assert (
        (tmp_path / "var" / "policies" / str(vendor) / "security-policy.md")
        .read_text()
        .startswith("# Security Policy")
    )


def test_an_exported_variable_wins_over_the_local_env_file() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("local_setup", ROOT / "scripts" / "local_setup.py")
    assert spec is not None and spec.loader is not None
    local_setup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(local_setup)
    file_values = {"WEBAPP_PORT": "5000", "RUNTIME_PORT": "8080", "RUNTIME_URL": "http://127.0.0.1:8080"}
    assert local_setup.effective_env(file_values, {}) == file_values
    moved = local_setup.effective_env(file_values, {"WEBAPP_PORT": "5077", "RUNTIME_PORT": "8077"})
    assert moved == {"WEBAPP_PORT": "5077", "RUNTIME_PORT": "8077", "RUNTIME_URL": "http://127.0.0.1:8077"}
    named = local_setup.effective_env(
        file_values, {"RUNTIME_PORT": "8077", "RUNTIME_URL": "http://runtime:9"}
    )
    assert named["RUNTIME_URL"] == "http://runtime:9"
