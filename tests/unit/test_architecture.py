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


def _printed_by(probe: str) -> str:
    """What ``probe`` prints when run in a fresh interpreter (its own ``sys.modules``)."""
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip()


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
    assert _printed_by(probe) == ""


def test_the_runtime_starts_without_the_mcp_sdk() -> None:
    """The MCP SDK is a third of a cold start's imports (0.7 s of CPU): it loads with the first tool
    server, not with the app (``agent_runtime/toolservers/client.py``)."""
    probe = (
        "import os, sys\n"
        "os.environ.update(APP_ENV='development', MODEL_PROVIDER='offline', AGENT_SIGNING_SECRET='s' * 40)\n"
        "from agent_runtime.app import create_app\n"
        "from agent_runtime.config import load_settings\n"
        "create_app(load_settings(os.environ))\n"
        "print(','.join(m for m in ('mcp', 'mcp_types', 'strands.tools.mcp') if m in sys.modules))"
    )
    assert _printed_by(probe) == ""


def test_the_playbook_library_reads_the_database_without_the_webapp() -> None:
    """The library MCP server (a runtime child process) uses SQLAlchemy Core, never ``webapp`` or Flask."""
    library = [
        str(path.relative_to(ROOT))
        for path, names in _imports("agent_runtime/library").items()
        if any(n == "webapp" or n.startswith(("webapp.", "flask")) for n in names)
    ]
    assert library == []
    probe = (
        "import sys, agent_runtime.library.__main__, agent_runtime.toolservers\n"
        "web = ('webapp', 'flask', 'flask_login')\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in web)))"
    )
    assert _printed_by(probe) == ""


PACKAGES = ("agent_runtime", "webapp", "attachments")


def _private_segment(name: str) -> int | None:
    """The index of the first ``_private`` segment of a dotted name (``__init__`` and dunders aside)."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not (part.startswith("__") and part.endswith("__")):
            return i
    return None


def _module_imports(path: Path) -> set[str]:
    """Every module (and ``module.name``) a file imports, relative imports resolved."""
    rel = path.relative_to(ROOT).with_suffix("")
    package = list(rel.parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_imports_another_packages_private_module() -> None:
    """``pkg._private`` (a module, or a name in one) is for ``pkg`` and its subpackages only."""
    offenders: dict[str, list[str]] = {}
    for top in PACKAGES:
        for path in (ROOT / top).rglob("*.py"):
            own = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
            for name in _module_imports(path):
                index = _private_segment(name)
                if index is None or not name.startswith(PACKAGES):
                    continue
                owner = ".".join(name.split(".")[:index])
                private = ".".join(name.split(".")[: index + 1])
                if (ROOT / Path(*private.split("."))).with_suffix(".py").exists() or (
                    ROOT / Path(*private.split("."))
                ).is_dir():
                    if not (own == owner or own.startswith(owner + ".")):
                        offenders.setdefault(str(path.relative_to(ROOT)), []).append(private)
    assert offenders == {}


def test_every_runtime_exception_derives_from_agent_runtime_error() -> None:
    import importlib
    import pkgutil

    import agent_runtime
    from agent_runtime.errors import AgentRuntimeError

    outside: list[str] = []
    for info in pkgutil.walk_packages(agent_runtime.__path__, "agent_runtime."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == info.name
                and not issubclass(value, AgentRuntimeError)
            ):
                outside.append(f"{info.name}.{value.__name__}")
    # The contract's own errors are shared with the web app and may import nothing of the runtime.
    assert sorted(outside) == ["agent_runtime.contract.PayloadError", "agent_runtime.contract.TokenError"]


def test_test_module_names_are_unique() -> None:
    """pytest imports test files by basename (no packages under tests/): two of one name break collection."""
    names = [path.name for path in (ROOT / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def _runtime_imports(path: Path) -> set[str]:
    """The modules a file imports at run time (``if TYPE_CHECKING:`` blocks left out)."""

    def walk(nodes: list[ast.stmt]) -> set[str]:
        names: set[str] = set()
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                names |= walk(node.orelse)
                continue
            for child in ast.walk(node):
                if isinstance(child, ast.Import):
                    names.update(alias.name for alias in child.names)
                elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                    names.add(child.module)
        return names

    return walk(ast.parse(path.read_text(encoding="utf-8")).body)


def test_the_runtimes_parts_import_each_other_without_a_cycle() -> None:
    """Each top-level part of ``agent_runtime`` (a subpackage or a module) sits on one floor.

    A cycle between parts (``usage`` needing ``session`` while ``session`` needs ``usage``) is an
    import that runs back up: it made ``import agent_runtime.usage`` fail on its own.
    """
    graph: dict[str, set[str]] = {}
    for path in (ROOT / "agent_runtime").rglob("*.py"):
        part = path.relative_to(ROOT / "agent_runtime").parts[0].removesuffix(".py")
        for name in _runtime_imports(path):
            parts = name.split(".")
            if parts[0] == "agent_runtime" and len(parts) > 1 and parts[1] != part:
                graph.setdefault(part, set()).add(parts[1])
    assert _cycles(graph) == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of ``graph`` with more than one node (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            part = stack[stack.index(node) :]
            del stack[stack.index(node) :]
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(found)
