"""Dependency direction (DESIGN §2): the web app uses only the runtime's contract; the runtime never
imports the web app; the contract imports nothing heavy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> dict[Path, set[str]]:
    found: dict[Path, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[path] = names
    return found


def test_webapp_imports_only_the_contract_from_the_runtime() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n
            for n in names
            if n.startswith("agent_runtime")
            and not (
                n == "agent_runtime"
                or n == "agent_runtime.contract"
                or n.startswith("agent_runtime.contract.")
            )
        )
        for path, names in _imports("webapp").items()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_runtime_never_imports_the_webapp() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path, names in _imports("agent_runtime").items()
        if any(n == "webapp" or n.startswith("webapp.") or n.startswith("flask") for n in names)
    ]
    assert offenders == []


def test_contract_loads_without_heavy_dependencies() -> None:
    probe = (
        "import sys, agent_runtime.contract\n"
        "heavy = [m for m in ('strands', 'flask', 'ag_ui', 'boto3', 'bedrock_agentcore', 'sqlalchemy')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_test_module_names_are_unique() -> None:
    """pytest imports test files by basename (no packages under tests/): two of one name break collection."""
    names = [path.name for path in (ROOT / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
