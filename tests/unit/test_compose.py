"""docker-compose.yml, the Dockerfiles and .env.example agree with the Compose spec and the code.

No Docker engine here, so: the compose file is validated against the Compose Specification's JSON
schema (vendored in tests/data/, see tests/data/README.md), and each service's command and
environment are checked against what the code actually reads.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import shlex
from collections.abc import Iterator, Mapping
from configparser import ConfigParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = ROOT / "tests" / "data" / "compose_spec.json"
ENV_EXAMPLE = ROOT / ".env.example"

_VAR = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)

#: Variables read by a third-party program rather than by our code, per service image.
LIBRARY_READS: dict[str, set[str]] = {
    "postgres": {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"},  # the postgres image
    "mlflow": set(),
    # boto3/botocore's credential chain and region for Bedrock.
    "runtime": {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"},
    "webapp": {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"},
    "migrate": set(),
}
SERVICES = {"postgres", "mlflow", "migrate", "runtime", "webapp"}


# --- loading --------------------------------------------------------------------------------


def _raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's variable interpolation (``${X}``, ``${X:-d}``, ``${X-d}``, ``${X:?e}``, ``$$``)."""

    def one(match: re.Match[str]) -> str:
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        present = name in env
        nonempty = bool(env.get(name))
        if op in (":-", "-"):
            use_default = not nonempty if op == ":-" else not present
            return arg if use_default else env[name]
        if op in (":?", "?"):
            if (op == ":?" and not nonempty) or (op == "?" and not present):
                raise ValueError(f"{name}: {arg}")
            return env[name]
        if op in (":+", "+"):
            return arg if (nonempty if op == ":+" else present) else ""
        return env.get(name, "")

    parts = value.split("$$")
    return "$".join(_VAR.sub(one, part) for part in parts)


def _resolve(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return _interpolate(node, env)
    if isinstance(node, list):
        return [_resolve(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _resolve(value, env) for key, value in node.items()}
    return node


def _compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    return _resolve(_raw(), env or {})


def _environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _command(service: Mapping[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


# --- what the code reads --------------------------------------------------------------------


def _env_reads_in(paths: Iterator[Path]) -> set[str]:
    """String constants passed to ``os.environ.get`` / ``os.getenv`` / ``environ[...]`` / ``env.get``."""
    names: set[str] = set()

    def receiver_is_env(node: ast.AST) -> bool:
        text = ast.unparse(node)
        return text in {"os.environ", "environ", "env", "self.environ", "self._environ"} or text.endswith(
            ".environ"
        )

    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            key: ast.AST | None = None
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr in {"get", "pop", "setdefault"}
                    and receiver_is_env(func.value)
                ):
                    key = node.args[0]
                elif ast.unparse(func) in {"os.getenv", "getenv"}:
                    key = node.args[0]
            elif isinstance(node, ast.Subscript) and receiver_is_env(node.value):
                key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.isupper():
                names.add(key.value)
    return names


def _py_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from (p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def runtime_reads() -> set[str]:
    """Variables the runtime process reads: its settings, telemetry and any direct reads."""
    names = _env_reads_in(_py_files("agent_runtime"))
    config = ROOT / "agent_runtime" / "config.py"
    if config.exists():
        from agent_runtime.config import Settings

        names |= {field.alias for field in Settings.model_fields.values() if field.alias}
    return names


def webapp_reads() -> set[str]:
    """Variables the web app reads: its config keys, direct reads, and Alembic's env.py."""
    names = _env_reads_in(_py_files("webapp", "migrations"))
    from webapp import config

    keys = getattr(config, "_ENV_KEYS", None) or [k for k in config.DEFAULTS if k.isupper()]
    names |= set(keys)
    return names


def _reads(service: str) -> set[str]:
    if service == "runtime":
        return runtime_reads() | LIBRARY_READS[service]
    if service in {"webapp", "migrate"}:
        return webapp_reads() | LIBRARY_READS[service]
    return LIBRARY_READS[service]


def _documented() -> set[str]:
    found = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#?\s?([A-Z][A-Z0-9_]*)=", line)
        if match:
            found.add(match.group(1))
    return found


# --- schema ---------------------------------------------------------------------------------


def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft201909Validator(schema)


def test_compose_file_matches_the_compose_specification_schema() -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(_raw())]
    assert errors == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["services"]["webapp"]["depends_on"]["migrate"].update(condition="service_finished"),
        lambda d: d["services"]["runtime"].update(restart_policy="always"),
        lambda d: d["services"]["postgres"]["healthcheck"].update(retries="many"),
    ],
    ids=["bad-depends-condition", "unknown-service-key", "bad-healthcheck-type"],
)
def test_the_schema_check_would_catch_a_broken_file(mutate: Any) -> None:
    doc = _raw()
    mutate(doc)
    assert list(_validator().iter_errors(doc)), "the schema accepted a broken compose file"


def test_every_compose_variable_has_a_default_so_up_works_without_an_env_file() -> None:
    text = COMPOSE.read_text(encoding="utf-8").replace("$$", "")
    without_default = [m.group(0) for m in _VAR.finditer(text) if m.group("op") not in (":-", "-")]
    assert without_default == []
    _compose({})  # interpolates


# --- services -------------------------------------------------------------------------------


def test_the_stack_has_its_five_services_and_named_volumes() -> None:
    doc = _compose()
    assert set(doc["services"]) == SERVICES
    assert {"pgdata", "mlflow"} <= set(doc["volumes"])
    assert any(v.startswith("pgdata:") for v in doc["services"]["postgres"]["volumes"])
    assert any(v.startswith("mlflow:") for v in doc["services"]["mlflow"]["volumes"])


def test_postgres_has_a_healthcheck_and_migrate_waits_for_it() -> None:
    services = _compose()["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"


def test_migrate_runs_alembic_against_the_repositorys_migrations() -> None:
    service = _compose()["services"]["migrate"]
    script = " ".join(_command(service))
    assert "alembic upgrade head" in script
    ini = ConfigParser()
    ini.read(ROOT / "alembic.ini")
    location = ini.get("alembic", "script_location", raw=True).replace("%(here)s", str(ROOT))
    assert (Path(location) / "env.py").is_file()
    assert list((Path(location) / "versions").glob("*.py"))
    if "create-user" in script:
        import webapp.commands

        assert "create-user" in Path(webapp.commands.__file__).read_text(encoding="utf-8")


def test_mlflow_keeps_its_own_backend_store_on_its_volume() -> None:
    service = _compose()["services"]["mlflow"]
    command = _command(service)
    assert command[:2] == ["mlflow", "server"]
    backend = next(c.split("=", 1)[1] for c in command if c.startswith("--backend-store-uri"))
    assert backend.startswith("sqlite:////mlflow/")
    assert "--host=0.0.0.0" in command and "--port=5000" in command
    allowed = next(c.split("=", 1)[1] for c in command if c.startswith("--allowed-hosts")).split(",")
    assert "mlflow:5000" in allowed  # the Host header the runtime sends


def test_runtime_service_builds_the_runtime_image_and_runs_the_package() -> None:
    service = _compose()["services"]["runtime"]
    assert service["build"] == {"context": ".", "dockerfile": "agent_runtime/Dockerfile"}
    assert _command(service) == ["python", "-m", "agent_runtime"]
    assert importlib.util.find_spec("agent_runtime.__main__") is not None
    env = _environment(service)
    assert env["HOST"] == "0.0.0.0" and env["PORT"] == "8080"
    assert urlsplit(env["MLFLOW_TRACKING_URI"]).hostname == "mlflow"
    assert urlsplit(env["MLFLOW_TRACKING_URI"]).port == 5000
    assert service["depends_on"]["mlflow"]["condition"] == "service_healthy"
    assert "/ping" in " ".join(service["healthcheck"]["test"])
    # The file session store survives a container restart on a named volume.
    assert f"runtime-data:{env['DATA_DIR']}" in service["volumes"]


def test_webapp_runs_gunicorn_after_migrations() -> None:
    service = _compose()["services"]["webapp"]
    assert _command(service) == ["python", "-m", "webapp"]
    main = ROOT / "webapp" / "__main__.py"
    assert "gunicorn" in main.read_text(encoding="utf-8")
    import webapp

    assert callable(webapp.create_app)
    env = _environment(service)
    assert env["WEBAPP_HOST"] == "0.0.0.0" and env["WEBAPP_PORT"] == "5000"
    assert service["ports"][0].endswith(":5000")
    assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert service["depends_on"]["runtime"]["condition"] == "service_healthy"
    assert "/healthz" in " ".join(service["healthcheck"]["test"])


def test_services_are_wired_to_each_other() -> None:
    services = _compose()["services"]
    web, runtime, pg = (_environment(services[n]) for n in ("webapp", "runtime", "postgres"))
    assert web["AGENT_TRANSPORT"] == "http"
    runtime_url = urlsplit(web["RUNTIME_URL"])
    assert (runtime_url.hostname, str(runtime_url.port)) == ("runtime", runtime["PORT"])
    db = urlsplit(web["DATABASE_URL"])
    assert (db.hostname, db.username, db.password, db.path.lstrip("/")) == (
        "postgres",
        pg["POSTGRES_USER"],
        pg["POSTGRES_PASSWORD"],
        pg["POSTGRES_DB"],
    )
    assert _environment(services["migrate"])["DATABASE_URL"] == web["DATABASE_URL"]


def test_the_signing_secret_is_shared_and_overridable() -> None:
    for env in ({}, {"AGENT_SIGNING_SECRET": "s" * 48}):
        services = _compose(env)["services"]
        secrets = {
            _environment(services[n])["AGENT_SIGNING_SECRET"] for n in ("runtime", "webapp", "migrate")
        }
        assert len(secrets) == 1
        assert len(secrets.pop()) >= 32
    assert (
        _environment(_compose({"AGENT_SIGNING_SECRET": "s" * 48})["services"]["runtime"])[
            "AGENT_SIGNING_SECRET"
        ]
        == "s" * 48
    )


def test_the_default_stack_configures_both_processes() -> None:
    """With the compose defaults, the runtime's and the web app's own config loaders accept the env."""
    services = _compose()["services"]
    if (ROOT / "agent_runtime" / "config.py").exists():
        from agent_runtime.config import load_settings

        settings = load_settings(_environment(services["runtime"]))
        assert settings.host == "0.0.0.0" and settings.port == 8080
    from webapp.config import build_config, finalize

    config = build_config(environ=_environment(services["webapp"]))
    finalize(config)
    assert config["RUNTIME_URL"] == "http://runtime:8080"


# --- environment consistency -----------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_variable_compose_sets_is_read_by_that_service(service: str) -> None:
    spec = _raw()["services"][service]
    referenced_by_command = {
        m.group(1) for m in re.finditer(r"\$\$\{?([A-Z][A-Z0-9_]*)", " ".join(_command(spec)))
    }
    unread = set(_environment(spec)) - _reads(service) - referenced_by_command
    assert unread == set()


def test_every_variable_the_code_requires_is_set() -> None:
    services = _compose()["services"]
    required = {
        "runtime": {"AGENT_SIGNING_SECRET", "HOST", "PORT"},
        "webapp": {"AGENT_SIGNING_SECRET", "DATABASE_URL", "RUNTIME_URL", "AGENT_TRANSPORT", "APP_ENV"},
        "migrate": {"DATABASE_URL"},
    }
    for service, names in required.items():
        env = _environment(services[service])
        assert {n for n in names if not env.get(n)} == set(), service


def test_env_example_documents_every_variable_the_code_and_compose_use() -> None:
    compose_vars = {
        m.group("name") or m.group("bare")
        for m in _VAR.finditer(COMPOSE.read_text(encoding="utf-8").replace("$$", ""))
    }
    used = runtime_reads() | webapp_reads() | compose_vars
    assert used - _documented() == set()


def test_env_example_lists_nothing_unknown() -> None:
    compose_vars = {
        m.group("name") or m.group("bare")
        for m in _VAR.finditer(COMPOSE.read_text(encoding="utf-8").replace("$$", ""))
    }
    known = runtime_reads() | webapp_reads() | compose_vars | LIBRARY_READS["runtime"]
    assert _documented() - known == set()


# --- Dockerfiles ----------------------------------------------------------------------------


def _dockerfile(path: str) -> list[tuple[str, str]]:
    text = (ROOT / path).read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (word, _) in enumerate(instructions) if word == "FROM"]
    return instructions[starts[-1] :]


@pytest.mark.parametrize(
    ("path", "port", "module"),
    [("agent_runtime/Dockerfile", "8080", "agent_runtime"), ("webapp/Dockerfile", "5000", "webapp")],
)
def test_images_are_slim_non_root_and_architecture_neutral(path: str, port: str, module: str) -> None:
    stage = _final_stage(_dockerfile(path))
    assert stage[0] == ("FROM", "python:3.11-slim")
    users = [rest for word, rest in stage if word == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert ("EXPOSE", port) in stage
    cmd = json.loads(next(rest for word, rest in reversed(stage) if word == "CMD"))
    assert module in cmd
    instructions = " ".join(f"{word} {rest}" for word, rest in _dockerfile(path)).lower()
    for arch_specific in ("amd64", "x86_64", "aarch64", "arm64", "--platform", "curl ", "wget "):
        assert arch_specific not in instructions, arch_specific


def test_runtime_image_listens_on_all_interfaces_on_8080() -> None:
    env = " ".join(rest for word, rest in _dockerfile("agent_runtime/Dockerfile") if word == "ENV")
    assert "HOST=0.0.0.0" in env and "PORT=8080" in env
    assert "DATA_DIR=/data" in env  # writable by the non-root user (chown in the same image)


def test_dockerfile_copies_exist_and_the_context_keeps_them() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for path in ("agent_runtime/Dockerfile", "webapp/Dockerfile"):
        for word, rest in _dockerfile(path):
            if word != "COPY" or rest.startswith("--from"):
                continue
            for source in rest.split()[:-1]:
                if path.startswith("webapp") and source.startswith("frontend/"):
                    continue  # only in the node stage; frontend/ is checked below
                assert (ROOT / source).exists(), f"{path}: COPY {source}"
                assert source.rstrip("/") not in ignored, f"{path}: {source} is in .dockerignore"
    assert (ROOT / "frontend" / "package.json").is_file()
