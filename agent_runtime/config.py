"""Runtime settings, read once from the environment at start-up.

Every setting has a safe default except ``AGENT_SIGNING_SECRET``. A missing or malformed value
raises :class:`~agent_runtime.errors.ConfigError` whose message is one line naming the variable;
``python -m agent_runtime`` prints it and exits non-zero (no traceback).

| variable | default | meaning |
|---|---|---|
| ``AGENT_SIGNING_SECRET`` | — (required) | token secret(s), comma-separated, newest first |
| ``APP_ENV`` | ``production`` | ``production`` refuses weak or published secrets at start-up |
| ``MODEL_PROVIDER`` | ``offline`` | ``offline``, ``bedrock``, ``ollama`` or ``openai`` |
| ``ROUTER_MODEL_ID`` | Claude Haiku 4.5 | the router's model id |
| ``ORCHESTRATOR_MODEL_ID`` / ``BUILDER_MODEL_ID`` | Claude Sonnet 4.5 | model ids |
| ``AWS_REGION`` | ``us-east-1`` | Bedrock region |
| ``OLLAMA_HOST`` | ``http://127.0.0.1:11434`` | for ``MODEL_PROVIDER=ollama`` |
| ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` | — | for ``MODEL_PROVIDER=openai`` (any compatible server) |
| ``BUILDER_WORKERS`` | 3 | module builders running at once (process-wide) |
| ``BUILDER_SCHEDULING`` | ``fair`` | ``fair`` (sessions share the builders) or ``fifo`` |
| ``SESSION_CACHE_CAPACITY`` | 1000 | sessions kept in memory (LRU) |
| ``SESSION_IDLE_SECONDS`` | 900 | idle sessions are dropped after this |
| ``TURN_BUDGET_SECONDS`` | from ``agents.yaml`` | wall-clock budget of one chat turn |
| ``MAX_AGENT_CYCLES`` | from ``agents.yaml`` | model calls allowed in one chat turn |
| ``OFFLINE_MODEL_LATENCY_MS`` | 0 | delay the offline model adds to every call |
| ``OFFLINE_MODEL_FLAWS`` | none | offline mistakes on purpose: ``builder_first_draft`` |
| ``OFFLINE_MODEL_HOLD_FILE`` | — | while it exists, offline builders (or the roles it names) wait |
| ``HEARTBEAT_SECONDS`` | 15 | SSE comment after this much silence |
| ``EVENT_LOG_SIZE`` | 2000 | build events kept per session for ``watch`` resumption |
| ``AGENTS_CONFIG`` | packaged ``agents.yaml`` | the agents file |
| ``PORT`` / ``HOST`` | 8080 / ``127.0.0.1`` | where to listen (``0.0.0.0`` in a container) |
| ``DATA_DIR`` | ``var`` | local data folder; the file session store lives in ``<DATA_DIR>/sessions`` |
| ``ATTACHMENT_STORE`` | ``<DATA_DIR>/attachments`` | attached files (the web app writes them): a |
| | | folder, ``file:///…`` or ``s3://bucket/prefix`` |
| ``SESSION_STORE`` | ``file`` | durable sessions: ``file``, ``s3``, ``agentcore-memory`` or ``none`` |
| ``SESSION_S3_BUCKET`` | — | bucket for ``SESSION_STORE=s3`` (required then) |
| ``SESSION_S3_PREFIX`` | ``sessions`` | key prefix in that bucket |
| ``SESSION_S3_REGION`` | ``AWS_REGION`` | the bucket's region |
| ``SESSION_S3_ENDPOINT_URL`` | — | S3-compatible endpoint (MinIO, LocalStack, moto) |
| ``AGENTCORE_MEMORY_ID`` | — | memory id for ``SESSION_STORE=agentcore-memory`` (required then) |
| ``APPROVAL_RULES`` | see below | which tool calls wait for a person (``agent_runtime.approvals.rules``) |
| ``APPROVAL_BUILD_THRESHOLD`` | 8 | substituted for ``${APPROVAL_BUILD_THRESHOLD}`` in the rules |
| ``INTERRUPT_TTL_SECONDS`` | 3600 | how long an approval request can be answered |
| ``TURN_TOKEN_BUDGET`` | no limit | model tokens one chat turn may use (``BUDGET_EXCEEDED`` past it) |
| ``BUILD_TOKEN_BUDGET`` | ``TURN_TOKEN_BUDGET`` | model tokens one build (all its module builders) may use |
| ``SESSION_TOKEN_BUDGET`` | no limit | model tokens a whole session may use (turns and builds) |
| ``PRICE_TABLE`` | packaged ``prices.yaml`` | dollars per million tokens by model id (cost of usage) |

``APPROVAL_RULES`` defaults to ``build_modules:count>${APPROVAL_BUILD_THRESHOLD},remove_module:has_tasks``
(``none`` turns approvals off).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent_runtime.approvals.rules import DEFAULT_APPROVAL_RULES, ApprovalRule, RuleError, parse_rules
from agent_runtime.contract import TokenCodec, secret_weakness
from agent_runtime.errors import ConfigError

__all__ = ["Settings", "load_settings", "DEFAULT_AGENTS_CONFIG"]

DEFAULT_AGENTS_CONFIG = Path(__file__).with_name("agents.yaml")
DEFAULT_PRICE_TABLE = Path(__file__).parent / "usage" / "prices.yaml"
DEFAULT_ROUTER_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
DEFAULT_SONNET_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"

_SECRET_FIELDS = frozenset({"AGENT_SIGNING_SECRET", "OPENAI_API_KEY"})


class Settings(BaseModel):
    """Validated runtime settings. Field aliases are the environment variable names."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    signing_secrets: Annotated[tuple[str, ...], Field(alias="AGENT_SIGNING_SECRET", min_length=1)]
    app_env: Annotated[Literal["production", "development", "testing"], Field(alias="APP_ENV")] = "production"
    model_provider: Annotated[
        Literal["offline", "bedrock", "ollama", "openai"], Field(alias="MODEL_PROVIDER")
    ] = "offline"
    router_model_id: Annotated[str, Field(alias="ROUTER_MODEL_ID", min_length=1)] = DEFAULT_ROUTER_MODEL
    orchestrator_model_id: Annotated[str, Field(alias="ORCHESTRATOR_MODEL_ID", min_length=1)] = (
        DEFAULT_SONNET_MODEL
    )
    builder_model_id: Annotated[str, Field(alias="BUILDER_MODEL_ID", min_length=1)] = DEFAULT_SONNET_MODEL
    aws_region: Annotated[str, Field(alias="AWS_REGION", min_length=1)] = "us-east-1"
    ollama_host: Annotated[str, Field(alias="OLLAMA_HOST")] = "http://127.0.0.1:11434"
    openai_base_url: Annotated[str | None, Field(alias="OPENAI_BASE_URL")] = None
    openai_api_key: Annotated[str | None, Field(alias="OPENAI_API_KEY")] = None
    builder_workers: Annotated[int, Field(alias="BUILDER_WORKERS", ge=1, le=64)] = 3
    builder_scheduling: Annotated[Literal["fair", "fifo"], Field(alias="BUILDER_SCHEDULING")] = "fair"
    build_recovery: Annotated[Literal["continue", "wait"], Field(alias="BUILD_RECOVERY")] = "continue"
    """A build cut by a crash, found when its session is next opened: finish it, or wait."""
    session_cache_capacity: Annotated[int, Field(alias="SESSION_CACHE_CAPACITY", ge=1)] = 1000
    session_idle_seconds: Annotated[float, Field(alias="SESSION_IDLE_SECONDS", gt=0)] = 900.0
    turn_budget_seconds: Annotated[float | None, Field(alias="TURN_BUDGET_SECONDS", gt=0)] = None
    max_agent_cycles: Annotated[int | None, Field(alias="MAX_AGENT_CYCLES", ge=1, le=1000)] = None
    offline_model_latency_ms: Annotated[int, Field(alias="OFFLINE_MODEL_LATENCY_MS", ge=0, le=60_000)] = 0
    offline_model_flaws: Annotated[
        tuple[Literal["builder_first_draft"], ...], Field(alias="OFFLINE_MODEL_FLAWS")
    ] = ()
    offline_model_hold_file: Annotated[Path | None, Field(alias="OFFLINE_MODEL_HOLD_FILE")] = None
    heartbeat_seconds: Annotated[float, Field(alias="HEARTBEAT_SECONDS", gt=0)] = 15.0
    event_log_size: Annotated[int, Field(alias="EVENT_LOG_SIZE", ge=16, le=1_000_000)] = 2000
    agents_config: Annotated[Path, Field(alias="AGENTS_CONFIG")] = DEFAULT_AGENTS_CONFIG
    data_dir: Annotated[Path, Field(alias="DATA_DIR")] = Path("var")
    attachment_store: Annotated[str | None, Field(alias="ATTACHMENT_STORE")] = None
    session_store: Annotated[
        Literal["file", "s3", "agentcore-memory", "none"], Field(alias="SESSION_STORE")
    ] = "file"
    session_s3_bucket: Annotated[str | None, Field(alias="SESSION_S3_BUCKET")] = None
    session_s3_prefix: Annotated[str, Field(alias="SESSION_S3_PREFIX")] = "sessions"
    session_s3_region: Annotated[str | None, Field(alias="SESSION_S3_REGION")] = None
    session_s3_endpoint_url: Annotated[str | None, Field(alias="SESSION_S3_ENDPOINT_URL")] = None
    agentcore_memory_id: Annotated[str | None, Field(alias="AGENTCORE_MEMORY_ID")] = None
    approval_rules: Annotated[str, Field(alias="APPROVAL_RULES")] = DEFAULT_APPROVAL_RULES
    approval_build_threshold: Annotated[int, Field(alias="APPROVAL_BUILD_THRESHOLD", ge=0, le=1000)] = 8
    interrupt_ttl_seconds: Annotated[float, Field(alias="INTERRUPT_TTL_SECONDS", gt=0, le=30 * 86400)] = (
        3600.0
    )
    turn_token_budget: Annotated[int | None, Field(alias="TURN_TOKEN_BUDGET", ge=1)] = None
    build_token_budget: Annotated[int | None, Field(alias="BUILD_TOKEN_BUDGET", ge=1)] = None
    session_token_budget: Annotated[int | None, Field(alias="SESSION_TOKEN_BUDGET", ge=1)] = None
    price_table: Annotated[Path, Field(alias="PRICE_TABLE")] = DEFAULT_PRICE_TABLE
    port: Annotated[int, Field(alias="PORT", ge=1, le=65535)] = 8080
    host: Annotated[str, Field(alias="HOST", min_length=1)] = "127.0.0.1"
    stop_wait_seconds: float = 2.0
    """How long a ``stop`` waits for the turn and the builders to wind down before it answers."""
    stop_poll_seconds: float = 0.2
    """How often a running turn or build checks the stored stop flag (a stop sent to another runtime)."""

    def attachment_store_url(self) -> str:
        """``ATTACHMENT_STORE``, or the ``attachments`` folder under ``DATA_DIR``."""
        return self.attachment_store or str(self.data_dir / "attachments")

    @field_validator("signing_secrets", mode="before")
    @classmethod
    def _split_secrets(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("signing_secrets")
    @classmethod
    def _check_secrets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            TokenCodec(value)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("offline_model_flaws", mode="before")
    @classmethod
    def _split_flaws(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("agents_config")
    @classmethod
    def _check_agents_file(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("price_table")
    @classmethod
    def _check_price_file(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _check_store_and_rules(self) -> Settings:
        if self.session_store == "s3" and not self.session_s3_bucket:
            raise ValueError("SESSION_STORE=s3 needs SESSION_S3_BUCKET")
        if self.session_store == "agentcore-memory" and not self.agentcore_memory_id:
            raise ValueError("SESSION_STORE=agentcore-memory needs AGENTCORE_MEMORY_ID")
        try:
            self.approval_rule_set()
        except RuleError as exc:
            raise ValueError(f"APPROVAL_RULES: {exc}") from None
        return self

    def approval_rule_set(self) -> tuple[ApprovalRule, ...]:
        """The parsed ``APPROVAL_RULES`` (with ``APPROVAL_BUILD_THRESHOLD`` substituted).

        Raises:
            RuleError: The rules do not parse.
        """
        return parse_rules(self.approval_rules, {"APPROVAL_BUILD_THRESHOLD": self.approval_build_threshold})

    def production_problems(self) -> list[str]:
        """What makes these settings unfit for production (empty outside ``APP_ENV=production``).

        Every signing secret must be long and random enough and none may be a secret published
        in this repository (:func:`agent_runtime.contract.secret_weakness`).
        """
        if self.app_env != "production":
            return []
        problems = []
        for position, secret in enumerate(self.signing_secrets, start=1):
            weakness = secret_weakness(secret)
            if weakness:
                problems.append(
                    f"refusing to start in production: AGENT_SIGNING_SECRET (secret {position}) {weakness} "
                    "(or APP_ENV=development for a local run)"
                )
        return problems

    def codec(self) -> TokenCodec:
        """The token codec for these secrets."""
        return TokenCodec(self.signing_secrets)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and validate the settings.

    Args:
        environ: The environment (``os.environ`` in production, a dict in tests). Empty values
            count as unset.

    Returns:
        The settings.

    Raises:
        ConfigError: One line naming the first bad variable and why.
    """
    names = {field.alias for field in Settings.model_fields.values() if field.alias}
    raw = {name: environ[name] for name in names if environ.get(name, "").strip() != ""}
    if "AGENT_SIGNING_SECRET" not in raw:
        raise ConfigError(
            "AGENT_SIGNING_SECRET is not set: give one secret of at least 32 characters "
            "(or a comma-separated list, newest first)"
        )
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, raw)) from None


def _one_line(exc: ValidationError, raw: Mapping[str, str]) -> str:
    err = exc.errors()[0]
    loc = err.get("loc", ())
    name = str(loc[0]) if loc else "settings"
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if not loc:  # a check across several settings names them itself
        return message
    if name in raw and name not in _SECRET_FIELDS:
        return f"{name}={raw[name]!r} is invalid: {message}"
    return f"{name} is invalid: {message}"
