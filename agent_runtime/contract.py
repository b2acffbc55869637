"""The wire contract shared by the web app and the agent runtime.

This is the one module of ``agent_runtime`` that the web app imports, so it depends on nothing
heavy: pydantic and itsdangerous only (no strands, no flask, no ag_ui). It holds

* the session token codec (itsdangerous, SHA-256, purpose salt, key rotation),
* the pydantic schemas of every invocation payload the web app forwards to the runtime,
* the playbook schema and its limits (the canvas on the wire and the body of a save),
* the names of actions, custom events, tools, phases and error codes.

It is one module of ~1,000 lines on purpose: it is the single source of everything on the wire, read
whole by the web app and by :mod:`agent_runtime.contract_export` (the browser's generated copy), so
splitting it would scatter the one contract that both languages must agree on.

See ``../shared/DESIGN.md`` §3, §5 and §7.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from pydantic_core import from_json

__all__ = [
    "SESSION_HEADER",
    "TOKEN_SALT",
    "TOKEN_TTL_SECONDS",
    "Action",
    "CustomEventName",
    "ToolName",
    "Phase",
    "ModuleStatus",
    "ErrorCode",
    "ToolErrorCode",
    "Decision",
    "Limits",
    "TokenClaims",
    "TokenCodec",
    "TokenError",
    "StepSpec",
    "TaskSpec",
    "ModuleSpec",
    "PlaybookSpec",
    "UsageSummary",
    "AttachmentRef",
    "ChatPayload",
    "UiSelection",
    "StopPayload",
    "ResetPayload",
    "WatchPayload",
    "ResumeInterruptPayload",
    "EditOp",
    "EditPayload",
    "UndoPayload",
    "RedoPayload",
    "EDIT_TOOLS",
    "HISTORY_TOOLS",
    "SeedPayload",
    "SEED_SALT",
    "seed_digest",
    "InvocationPayload",
    "ParsedInvocation",
    "parse_invocation",
    "PayloadError",
    "TEXT_RULE_MESSAGE",
    "text_problem",
    "loads_json",
    "secret_weakness",
    "PUBLISHED_DEV_SECRETS",
]

# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
"""The header AgentCore routes on; the runtime checks it equals the token's ``sid``."""


class Action(StrEnum):
    """What an invocation asks the runtime to do."""

    CHAT = "chat"
    STOP = "stop"
    RESET = "reset"
    WATCH = "watch"
    RESUME_INTERRUPT = "resume_interrupt"
    EDIT = "edit"
    """Direct canvas edits by the person: ``{base_version, ops: [{tool, args}]}``, all or nothing."""
    UNDO = "undo"
    """Restore the canvas as it was before the last change (a new version)."""
    REDO = "redo"
    """Re-apply the change the last undo took back (a new version)."""
    SEED = "seed"
    """The web app starts a session on a saved playbook (never posted by a browser: not out-of-band)."""


OUT_OF_BAND_ACTIONS: frozenset[str] = frozenset(
    {Action.STOP, Action.RESET, Action.WATCH, Action.RESUME_INTERRUPT, Action.EDIT, Action.UNDO, Action.REDO}
)
"""Actions posted to ``/api/agent/run/<sid>/<action>`` rather than ``/api/agent/run``."""


class CustomEventName(StrEnum):
    """Names of the AG-UI ``CUSTOM`` events this product emits."""

    HANDOFF = "control.handoff"
    """The router handed the session to a domain agent: ``{target, handoff_context}``."""
    DONE = "portal.done"
    """The assistant's turn is complete: ``{phase, version}``. ``RUN_FINISHED`` follows."""
    CANCELLED = "run.cancelled"
    """The run was stopped by the person: ``{reason}``. ``RUN_FINISHED`` (cancelled) follows."""
    BUILD_PROGRESS = "build.progress"
    """Module building progress: ``{built, failed, total}``."""
    MODULE_STATUS = "module.status"
    """A module's build status changed: ``{module_index, status, reason?}``."""
    MODULE_CHECK = "module.check"
    """A builder's self-check of its module: ``{module_index, round, passed, findings: [str], repaired?}``."""
    MODEL_RETRY = "model.retry"
    """The model was throttled and the call is retried: ``{attempt, delay_seconds, withdrawn}``;
    ``withdrawn`` lists the ids of text messages this attempt streamed, which the page removes
    (the retry streams the whole answer again)."""


class ToolName(StrEnum):
    """Tool names on the wire; the browser's store applies each of them to its canvas."""

    SET_PLAYBOOK_OUTLINE = "set_playbook_outline"
    UPDATE_PLAYBOOK = "update_playbook"
    ADD_MODULE = "add_module"
    UPDATE_MODULE = "update_module"
    REMOVE_MODULE = "remove_module"
    MOVE_MODULE = "move_module"
    BUILD_MODULES = "build_modules"
    ADD_TASKS = "add_tasks"
    ADD_TASK_STEP = "add_task_step"
    SET_MODULE_TASKS = "set_module_tasks"
    SUGGEST_REPLIES = "suggest_replies"
    UPDATE_TASK = "update_task"
    REMOVE_TASK = "remove_task"
    UNDO_LAST_CHANGE = "undo_last_change"
    """The orchestrator's "undo": the canvas goes back to before the last change (no arguments)."""
    REDO_LAST_CHANGE = "redo_last_change"
    """The orchestrator's "redo": the last undone change is applied again (no arguments)."""


class Phase(StrEnum):
    """Where a session's playbook is in its life."""

    EMPTY = "empty"
    OUTLINE = "outline"
    BUILDING = "building"
    REFINEMENT = "refinement"


class ModuleStatus(StrEnum):
    """A module's build status: pending → building → built (or built_with_warnings), or failed.

    ``built_with_warnings``: the builder finished but its module still breaks a self-check rule
    after the allowed repair rounds; ``reason`` lists what is wrong.
    """

    PENDING = "pending"
    BUILDING = "building"
    BUILT = "built"
    BUILT_WITH_WARNINGS = "built_with_warnings"
    FAILED = "failed"


class Decision(StrEnum):
    """A person's answer to an interrupt (``resume_interrupt``)."""

    APPROVE = "approve"
    REJECT = "reject"
    REROUTE = "reroute"
    ADD_CONTEXT = "add_context"


class ErrorCode(StrEnum):
    """Stable error codes: ``RUN_ERROR.code`` in streams, ``error.code`` in JSON envelopes."""

    TOKEN_MISSING = "TOKEN_MISSING"
    TOKEN_INVALID = "TOKEN_INVALID"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    SESSION_MISMATCH = "SESSION_MISMATCH"
    IDENTITY_MISMATCH = "IDENTITY_MISMATCH"
    SESSION_BUSY = "SESSION_BUSY"
    UNKNOWN_ACTION = "UNKNOWN_ACTION"
    INVALID_PAYLOAD = "INVALID_PAYLOAD"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    BUDGET_EXCEEDED = "BUDGET_EXCEEDED"
    MODEL_ERROR = "MODEL_ERROR"
    TOOL_SERVER_UNAVAILABLE = "TOOL_SERVER_UNAVAILABLE"
    MODEL_THROTTLED = "MODEL_THROTTLED"
    MODEL_ACCESS_DENIED = "MODEL_ACCESS_DENIED"
    CONTEXT_TOO_LONG = "CONTEXT_TOO_LONG"
    INTERRUPT_UNKNOWN = "INTERRUPT_UNKNOWN"
    INTERRUPT_EXPIRED = "INTERRUPT_EXPIRED"
    INTERRUPT_ANSWERED = "INTERRUPT_ANSWERED"
    RUNTIME_UNAVAILABLE = "RUNTIME_UNAVAILABLE"
    UPSTREAM_FAILED = "UPSTREAM_FAILED"
    INTERNAL = "INTERNAL"
    # Refusals only the web app makes (before anything reaches the runtime).
    UNAUTHENTICATED = "UNAUTHENTICATED"
    CSRF_FAILED = "CSRF_FAILED"
    CROSS_SITE = "CROSS_SITE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    RUNTIME_TIMEOUT = "RUNTIME_TIMEOUT"
    RUNTIME_RESTARTING = "RUNTIME_RESTARTING"  # refused/reset connection: the process is not listening
    UNKNOWN_AGENT_TYPE = "UNKNOWN_AGENT_TYPE"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    CONFLICT = "CONFLICT"
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
    HTTP_ERROR = "HTTP_ERROR"
    """Any other HTTP refusal (a status without a code of its own)."""
    AUDIT_UNAVAILABLE = "AUDIT_UNAVAILABLE"
    """A decision could not be written to the audit trail, so it was not forwarded."""
    AUDIT_APPEND_ONLY = "AUDIT_APPEND_ONLY"
    """Something tried to change or remove an audit row (never reaches a browser)."""
    NOTHING_TO_SAVE = "NOTHING_TO_SAVE"
    """409: a save named a session whose canvas has no playbook yet."""
    # Attachments (issue 12): the message names the file and the reason.
    UNSUPPORTED_FILE_TYPE = "UNSUPPORTED_FILE_TYPE"
    FILE_EMPTY = "FILE_EMPTY"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    FILE_UNREADABLE = "FILE_UNREADABLE"
    INVALID_FILE_NAME = "INVALID_FILE_NAME"
    TOO_MANY_FILES = "TOO_MANY_FILES"
    FILE_NOT_FOUND = "FILE_NOT_FOUND"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    """The web app's database is busy or down; nothing was started."""
    NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
    # Approvals to desks (issue 13).
    APPROVAL_NOT_YOUR_DESK = "APPROVAL_NOT_YOUR_DESK"
    APPROVAL_WAITING = "APPROVAL_WAITING"
    """The request waits for another desk (the requester's card keeps waiting)."""
    APPROVAL_DECIDED = "APPROVAL_DECIDED"
    """Someone decided first; ``error.decision`` says what."""
    # The canvas as a living document (issue 11): direct edits, undo and redo.
    VERSION_CONFLICT = "VERSION_CONFLICT"
    """An edit's ``base_version`` is not the canvas's current version; the current snapshot precedes it."""
    BUILD_IN_PROGRESS = "BUILD_IN_PROGRESS"
    """Direct edits, undo and redo wait until the build finishes (or is stopped)."""
    NOTHING_TO_UNDO = "NOTHING_TO_UNDO"
    NOTHING_TO_REDO = "NOTHING_TO_REDO"
    # Start-up only (never on the wire).
    CONFIG_INVALID = "CONFIG_INVALID"


class ToolErrorCode(StrEnum):
    """Why a tool call was refused; sent back to the model as the tool's error, canvas unchanged."""

    INVALID_TOOL_ARGS = "INVALID_TOOL_ARGS"
    NOT_FOUND = "NOT_FOUND"
    LIMIT = "LIMIT"
    UNKNOWN_TOOL = "UNKNOWN_TOOL"
    STOPPED = "STOPPED"
    """The person stopped the build this call belongs to."""
    BUILD_RUNNING = "BUILD_RUNNING"
    """The call would move modules under running builders."""


# ---------------------------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------------------------


class Limits:
    """Size limits enforced on both sides of the wire."""

    MAX_MODULES = 20
    MAX_TASKS_PER_MODULE = 30
    MAX_STEPS_PER_TASK = 20
    MAX_TITLE_CHARS = 200
    MAX_DESCRIPTION_CHARS = 2_000
    MAX_PROMPT_BYTES = 32 * 1024
    MAX_CONTEXT_CHARS = 4_000
    MAX_TOKEN_CHARS = 4_096
    MAX_FILES = 5
    """Files attached to one chat turn."""
    MAX_FILE_BYTES = 10 * 1024 * 1024
    """The largest attachment (the web app's ``ATTACH_MAX_FILE_BYTES`` may lower it)."""
    MAX_TURN_FILE_BYTES = 25 * 1024 * 1024
    """All attachments of one turn together (``ATTACH_MAX_TURN_BYTES`` may lower it)."""
    MAX_INLINE_FILE_CHARS = 1024 * 1024
    """A file the page sends inline in the chat body: its base64 ``data`` at most this long."""
    MAX_RUNTIME_INLINE_BYTES = 256 * 1024
    """Files up to this size travel to the runtime inside the payload; larger ones by reference."""
    MAX_TURN_TEXT_BYTES = 256 * 1024
    """A chat body without its files (the prompt, the UI context, the ids)."""
    MAX_CHAT_REQUEST_BYTES = 6 * 1024 * 1024
    """The largest chat body the web app accepts from the page (a prompt plus inline files)."""
    MAX_SUGGESTED_REPLIES = 4
    MAX_REPLY_CHARS = 120
    MAX_INVOCATION_BYTES = 2 * 1024 * 1024
    """The largest invocation body the runtime accepts (a prompt, UI context and small inline files)."""
    MAX_SAVE_BYTES = 2 * 1024 * 1024
    """The largest save body: 20 modules × 30 tasks × 20 steps of full-length text fits."""
    MAX_JSON_DEPTH = 32
    """The deepest nesting of objects and arrays a JSON body may have (a save needs 8)."""
    MAX_EDIT_OPS = 50
    """Operations in one ``edit`` request (applied all or nothing)."""
    MAX_UNDO_STEPS = 50
    """Undo steps a session keeps (a chat turn's changes, one ``edit``, or one whole build each)."""


Title = Annotated[str, Field(min_length=1, max_length=Limits.MAX_TITLE_CHARS)]
Description = Annotated[str, Field(max_length=Limits.MAX_DESCRIPTION_CHARS)]

# ---------------------------------------------------------------------------------------------
# The text rule and JSON bodies (both sides of the wire)
# ---------------------------------------------------------------------------------------------

TEXT_RULE_MESSAGE = "text must not contain NUL characters or unpaired surrogates"
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` breaks the text rule (a NUL, or a surrogate not in a pair), or ``None``.

    Postgres cannot store a NUL in text and an unpaired surrogate cannot be encoded as UTF-8, so
    such text is refused wherever it enters: request bodies on both sides, every schema field
    (a model's tool arguments included), and the sign-in form.
    """
    match = _BAD_TEXT.search(value)
    if match is None:
        return None
    return "text must not contain NUL characters" if match.group() == "\x00" else TEXT_RULE_MESSAGE


def _first_text_problem(value: Any, depth: int) -> tuple[str, str] | None:
    """``(where, why)`` of the first string in ``value`` (keys included) that breaks the rule."""
    stack: list[tuple[Any, str, int]] = [(value, "", depth)]
    while stack:
        item, where, level = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return where, problem
        elif isinstance(item, dict):
            if level >= Limits.MAX_JSON_DEPTH:
                return where, f"nested deeper than {Limits.MAX_JSON_DEPTH} levels"
            for key, child in item.items():
                if isinstance(key, str) and text_problem(key) is not None:
                    return where, str(text_problem(key))
                stack.append((child, f"{where}.{key}" if where else str(key), level + 1))
        elif isinstance(item, list):
            if level >= Limits.MAX_JSON_DEPTH:
                return where, f"nested deeper than {Limits.MAX_JSON_DEPTH} levels"
            stack.extend((child, f"{where}[{i}]", level + 1) for i, child in enumerate(item))
    return None


def loads_json(data: bytes | str) -> Any:
    """Parse a JSON request body under the contract's rules.

    pydantic-core's parser (bounded recursion, no lone surrogates), then a walk that refuses
    nesting deeper than :attr:`Limits.MAX_JSON_DEPTH` and text that breaks the text rule.

    Raises:
        PayloadError: ``INVALID_PAYLOAD`` with a message saying what is wrong.
    """
    try:
        value = from_json(data)
    except ValueError as exc:
        detail = str(exc)
        if "recursion limit" in detail:
            raise PayloadError(
                ErrorCode.INVALID_PAYLOAD, f"the body is nested deeper than {Limits.MAX_JSON_DEPTH} levels"
            ) from None
        if "surrogate" in detail or "hex escape" in detail or "unicode code point" in detail:
            raise PayloadError(ErrorCode.INVALID_PAYLOAD, f"the body's {TEXT_RULE_MESSAGE}") from None
        raise PayloadError(ErrorCode.INVALID_PAYLOAD, f"the body is not valid JSON ({detail})") from None
    problem = _first_text_problem(value, 0)
    if problem is not None:
        where, why = problem
        if why.startswith("nested"):
            raise PayloadError(ErrorCode.INVALID_PAYLOAD, f"the body is {why}")
        raise PayloadError(ErrorCode.INVALID_PAYLOAD, f"{where or 'the body'}: {why}")
    return value


# ---------------------------------------------------------------------------------------------
# Playbook schema: the canvas on the wire and the body of a save
# ---------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _text_rule(cls, value: Any) -> Any:
        # The text rule (see ``text_problem``) holds in every field of every schema, so text
        # that breaks it never reaches the canvas, a tool, the runtime or the database.
        problem = _first_text_problem(value, 0)
        if problem is not None:
            raise ValueError(problem[1])
        return value


class StepSpec(_Strict):
    """One step of a task."""

    title: Title
    description: Description = ""


class TaskSpec(_Strict):
    """One task of a module, with its ordered steps."""

    title: Title
    description: Description = ""
    steps: list[StepSpec] = Field(default_factory=list, max_length=Limits.MAX_STEPS_PER_TASK)


class ModuleSpec(_Strict):
    """One module of a playbook. ``status``/``reason`` are the build state shown on the canvas."""

    title: Title
    description: Description = ""
    status: ModuleStatus = ModuleStatus.PENDING
    reason: str | None = Field(default=None, max_length=Limits.MAX_DESCRIPTION_CHARS)
    tasks: list[TaskSpec] = Field(default_factory=list, max_length=Limits.MAX_TASKS_PER_MODULE)


class PlaybookSpec(_Strict):
    """A whole playbook: the canvas, and what ``/agent/save-playbook`` stores."""

    title: Annotated[str, Field(max_length=Limits.MAX_TITLE_CHARS)] = ""
    description: Description = ""
    modules: list[ModuleSpec] = Field(default_factory=list, max_length=Limits.MAX_MODULES)


class UsageSummary(_Strict):
    """Model usage of a session so far: the ``usage`` of every run's closing ``STATE_SNAPSHOT``.

    Tokens are summed over every model response of the session (chat turns and builds); the cost
    comes from the runtime's price table per model id (0 for models it has no price for).
    """

    input_tokens: Annotated[int, Field(ge=0)] = 0
    output_tokens: Annotated[int, Field(ge=0)] = 0
    total_tokens: Annotated[int, Field(ge=0)] = 0
    cost_usd: Annotated[float, Field(ge=0)] = 0.0


# ---------------------------------------------------------------------------------------------
# Invocation payloads (web app → runtime)
# ---------------------------------------------------------------------------------------------


class PayloadError(ValueError):
    """A payload failed validation. ``code`` is an :class:`ErrorCode`."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


SessionId = Annotated[str, Field(min_length=33, max_length=100, pattern=r"^[A-Za-z0-9-]+$")]
Token = Annotated[str, Field(min_length=1, max_length=Limits.MAX_TOKEN_CHARS)]


class _Invocation(_Strict):
    session_id: SessionId
    token: Token


Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class AttachmentRef(_Strict):
    """A file attached to a chat turn, as the web app forwards it after checking it.

    ``data`` (base64) carries files up to ``Limits.MAX_RUNTIME_INLINE_BYTES``; larger ones are read
    by the runtime from the attachment store at ``<token's vendor>/<sha256>`` — never a path or a
    vendor taken from the payload.
    """

    file_id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=255)]
    media_type: Annotated[str, Field(min_length=1, max_length=100)]
    size: Annotated[int, Field(ge=1, le=Limits.MAX_FILE_BYTES)]
    sha256: Sha256
    data: Annotated[str, Field(max_length=(Limits.MAX_RUNTIME_INLINE_BYTES * 4) // 3 + 4)] | None = None


class UiSelection(_Strict):
    """What the person selected on the canvas: ``ui_context["selected"]`` of a chat turn.

    Zero-based indices, as in tool arguments (the page shows ``module_index + 1``); no
    ``task_index`` means the whole module. The runtime checks it against the session's canvas:
    a selection that does not validate or names nothing there is ignored for that turn (the model
    is told so) — it never refuses the turn.
    """

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    module_index: Annotated[int, Field(strict=True, ge=0, lt=Limits.MAX_MODULES)]
    task_index: Annotated[int, Field(strict=True, ge=0, lt=Limits.MAX_TASKS_PER_MODULE)] | None = None


class ChatPayload(_Invocation):
    """A chat turn."""

    action: Literal[Action.CHAT] = Action.CHAT
    prompt: Annotated[str, Field(min_length=1)]
    ui_context: dict[str, Any] | None = None
    files: list[AttachmentRef] | None = Field(default=None, max_length=Limits.MAX_FILES)

    @field_validator("prompt")
    @classmethod
    def _prompt_size(cls, value: str) -> str:
        if len(value.encode("utf-8")) > Limits.MAX_PROMPT_BYTES:
            raise ValueError(f"prompt is larger than {Limits.MAX_PROMPT_BYTES} bytes")
        if not value.strip():
            raise ValueError("prompt is empty")
        return value


class StopPayload(_Invocation):
    """Stop the in-flight turn and the session's builders."""

    action: Literal[Action.STOP] = Action.STOP


class ResetPayload(_Invocation):
    """Forget the session; the next turn starts fresh."""

    action: Literal[Action.RESET] = Action.RESET


class WatchPayload(_Invocation):
    """Stream the session's background work. ``last_event_id`` resumes after that SSE id."""

    action: Literal[Action.WATCH] = Action.WATCH
    last_event_id: Annotated[int, Field(ge=0)] | None = None


class ResumeInterruptPayload(_Invocation):
    """Answer a pending interrupt and stream the continuation."""

    action: Literal[Action.RESUME_INTERRUPT] = Action.RESUME_INTERRUPT
    interrupt_id: Annotated[str, Field(min_length=1, max_length=100)]
    decision: Decision
    context: Annotated[str, Field(max_length=Limits.MAX_CONTEXT_CHARS)] | None = None
    envelope: dict[str, Any] | None = None
    """Who decided, as the web app recorded it (``request_id``, ``operator_id``, ``operator_role``,
    ``decided_at``, ``trace_id``): the decision envelope of DESIGN §8, logged with the decision."""


class EditOp(_Strict):
    """One direct edit: a canvas tool (one of :data:`EDIT_TOOLS`) and its arguments (zero-based).

    The runtime checks the tool and validates the arguments with the tool's own schema (as for the
    agents' calls), answering a bad op with ``INVALID_PAYLOAD`` and the current canvas.
    """

    tool: Annotated[str, Field(min_length=1, max_length=50)]
    args: dict[str, Any] = Field(default_factory=dict)


class EditPayload(_Invocation):
    """Direct edits to the canvas, made on ``base_version``; refused when that is not current."""

    action: Literal[Action.EDIT] = Action.EDIT
    base_version: Annotated[int, Field(ge=0)]
    ops: list[EditOp] = Field(min_length=1, max_length=Limits.MAX_EDIT_OPS)


class UndoPayload(_Invocation):
    """Undo the last change to the canvas."""

    action: Literal[Action.UNDO] = Action.UNDO


class RedoPayload(_Invocation):
    """Redo the change the last undo took back."""

    action: Literal[Action.REDO] = Action.REDO


class SeedPayload(_Invocation):
    """Start an empty session on a saved playbook (issue 11: "Refine with the assistant").

    Only the web app sends it, once, right after minting the session; the browser cannot (it is
    not an out-of-band action). ``seed_token`` is the web app's signature over the session id and
    :func:`seed_digest` of ``playbook`` (:meth:`TokenCodec.mint_seed`), so the runtime takes the
    canvas from nothing it cannot verify; it refuses a session that already has content.
    """

    action: Literal[Action.SEED] = Action.SEED
    playbook: PlaybookSpec
    seed_token: Token
    playbook_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    """The saved playbook's opaque id (for the logs and the orchestrator's context)."""


InvocationPayload = Annotated[
    ChatPayload
    | StopPayload
    | ResetPayload
    | WatchPayload
    | ResumeInterruptPayload
    | SeedPayload
    | EditPayload
    | UndoPayload
    | RedoPayload,
    Field(discriminator="action"),
]
_INVOCATION_ADAPTER: TypeAdapter[Any] = TypeAdapter(InvocationPayload)
_ACTIONS = frozenset(a.value for a in Action)


ParsedInvocation = (
    ChatPayload
    | StopPayload
    | ResetPayload
    | WatchPayload
    | ResumeInterruptPayload
    | SeedPayload
    | EditPayload
    | UndoPayload
    | RedoPayload
)
"""What :func:`parse_invocation` returns (the plain union; ``InvocationPayload`` discriminates)."""


def parse_invocation(data: Any) -> ParsedInvocation:
    """Validate an invocation body.

    Args:
        data: The decoded JSON body.

    Returns:
        The typed payload.

    Raises:
        PayloadError: ``UNKNOWN_ACTION`` for a missing or unknown action, ``PAYLOAD_TOO_LARGE`` for an
            oversized prompt, ``TOKEN_MISSING`` for a missing token, ``INVALID_PAYLOAD`` otherwise.
    """
    if not isinstance(data, dict):
        raise PayloadError(ErrorCode.INVALID_PAYLOAD, "the payload must be a JSON object")
    action = data.get("action")
    if action not in _ACTIONS:
        raise PayloadError(ErrorCode.UNKNOWN_ACTION, f"unknown action: {str(action)[:40]!r}")
    if not data.get("token"):
        raise PayloadError(ErrorCode.TOKEN_MISSING, "the payload has no token")
    try:
        return _INVOCATION_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise PayloadError(_code_for(exc), _describe(exc)) from None


def _code_for(exc: ValidationError) -> ErrorCode:
    for err in exc.errors():
        if err.get("loc", ())[-1:] == ("prompt",) and "larger than" in str(err.get("msg", "")):
            return ErrorCode.PAYLOAD_TOO_LARGE
    return ErrorCode.INVALID_PAYLOAD


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in _ACTIONS)
        parts.append(f"{loc or 'payload'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------
# Session tokens
# ---------------------------------------------------------------------------------------------

TOKEN_SALT = "playbook-builder.agent-session.v1"
"""Purpose salt: a signature made for anything else never verifies as a session token."""
SEED_SALT = "playbook-builder.session-seed.v1"
"""Purpose salt of seed tokens (a session token never verifies as one, nor the other way round)."""
TOKEN_TTL_SECONDS = 8 * 3600
"""Default lifetime: AgentCore's maximum session duration."""
MIN_SECRET_CHARS = 32
MIN_SECRET_BITS = 90
"""A production secret's estimated entropy (its length × the Shannon entropy of its characters)."""
PUBLISHED_DEV_SECRETS = frozenset(
    {
        "dev-only-insecure-agent-signing-secret-change-me",
        "dev-only-insecure-flask-secret-key-change-me-now",
    }
)
"""Secrets printed in this repository (compose's and the web app's development defaults)."""


def secret_weakness(secret: str) -> str | None:
    """Why ``secret`` is not fit for production, or ``None``.

    Refuses the published development secrets, anything shorter than :data:`MIN_SECRET_CHARS`,
    anything whose estimated entropy is under :data:`MIN_SECRET_BITS` or with fewer than 8
    distinct characters (``"a" * 40``, ``"changeme" * 5``), and anything padded with one character
    (one character more than a third of it). ``secrets.token_urlsafe(32)`` and
    ``secrets.token_hex(16)`` pass; this catches typed and padded secrets, not every weak one.
    """
    if secret in PUBLISHED_DEV_SECRETS:
        return "is a published development secret"
    if len(secret) < MIN_SECRET_CHARS:
        return f"is shorter than {MIN_SECRET_CHARS} characters"
    counts = Counter(secret)
    per_char = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    padded = max(counts.values()) > len(secret) / 3  # "my-secret-xxxxxxxxxxxxxxxxxxxxxxxx"
    if per_char * len(secret) < MIN_SECRET_BITS or len(counts) < 8 or padded:
        return "is not random enough (try: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
    return None


class TokenError(Exception):
    """A token failed verification. ``code`` is an :class:`ErrorCode`."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TokenClaims(BaseModel):
    """What a session token asserts: session, user, vendor, agent type, expiry (epoch seconds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sid: SessionId
    uid: int
    vid: int
    typ: Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[a-z0-9_-]+$")]
    exp: int


class TokenCodec:
    """Signs and verifies session tokens.

    itsdangerous' ``URLSafeTimedSerializer`` with SHA-256 HMAC and a purpose salt. Several secrets may
    be given, newest first: the newest signs, all verify, so keys rotate without logging anyone out.
    ``max_age`` is always enforced on top of the ``exp`` claim.
    """

    def __init__(self, secrets: Sequence[str], *, max_age: int = TOKEN_TTL_SECONDS) -> None:
        """Build a codec.

        Args:
            secrets: Signing secrets, newest first; each at least 32 characters.
            max_age: The oldest signature (seconds) ever accepted, whatever ``exp`` says.

        Raises:
            ValueError: No secret, or a secret too short to be one.
        """
        keys = [s for s in secrets if s]
        if not keys:
            raise ValueError("at least one signing secret is required")
        if any(len(k) < MIN_SECRET_CHARS for k in keys):
            raise ValueError(f"every signing secret must be at least {MIN_SECRET_CHARS} characters")
        self.max_age = max_age
        # itsdangerous wants the newest key last.
        self._serializer = URLSafeTimedSerializer(
            list(reversed(keys)),
            salt=TOKEN_SALT,
            signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
        )
        self._seed_serializer = URLSafeTimedSerializer(
            list(reversed(keys)),
            salt=SEED_SALT,
            signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
        )

    @classmethod
    def from_setting(cls, value: str, *, max_age: int = TOKEN_TTL_SECONDS) -> TokenCodec:
        """Build a codec from a comma-separated setting (newest first)."""
        return cls([part.strip() for part in value.split(",") if part.strip()], max_age=max_age)

    def mint(self, *, sid: str, uid: int, vid: int, typ: str, ttl: int | None = None) -> str:
        """Sign a token for one session.

        Args:
            sid: The session id (UUID4 string).
            uid: The user id.
            vid: The user's vendor id.
            typ: The agent type, e.g. ``copilot``.
            ttl: Lifetime in seconds; defaults to ``max_age``. Never longer than ``max_age``.

        Returns:
            The URL-safe token.
        """
        lifetime = self.max_age if ttl is None else min(ttl, self.max_age)
        claims = TokenClaims(sid=sid, uid=uid, vid=vid, typ=typ, exp=int(time.time()) + lifetime)
        return str(self._serializer.dumps(claims.model_dump()))

    def verify(self, token: str | None) -> TokenClaims:
        """Check a token's signature, age and expiry and return its claims.

        Raises:
            TokenError: ``TOKEN_MISSING``, ``TOKEN_EXPIRED`` or ``TOKEN_INVALID``.
        """
        if not token:
            raise TokenError(ErrorCode.TOKEN_MISSING, "no session token")
        if len(token) > Limits.MAX_TOKEN_CHARS:
            raise TokenError(ErrorCode.TOKEN_INVALID, "session token is malformed")
        try:
            data = self._serializer.loads(token, max_age=self.max_age)
        except SignatureExpired:
            raise TokenError(ErrorCode.TOKEN_EXPIRED, "session token has expired") from None
        except BadSignature:
            raise TokenError(ErrorCode.TOKEN_INVALID, "session token is invalid") from None
        try:
            claims = TokenClaims.model_validate(data)
        except ValidationError:
            raise TokenError(ErrorCode.TOKEN_INVALID, "session token is malformed") from None
        if claims.exp <= int(time.time()):
            raise TokenError(ErrorCode.TOKEN_EXPIRED, "session token has expired")
        return claims

    def mint_seed(self, *, sid: str, digest: str) -> str:
        """Sign a seed: the web app vouches that ``sid`` starts on the playbook with ``digest``."""
        return str(self._seed_serializer.dumps({"sid": sid, "digest": digest}))

    def verify_seed(self, token: str, *, sid: str, digest: str, max_age: int = 300) -> None:
        """Check a seed token made by :meth:`mint_seed` for ``sid`` and ``digest``, at most ``max_age`` s old.

        Raises:
            TokenError: ``TOKEN_EXPIRED``, ``TOKEN_INVALID``, or ``SESSION_MISMATCH`` for a seed of
                another session or another playbook.
        """
        try:
            data = self._seed_serializer.loads(token, max_age=max_age)
        except SignatureExpired:
            raise TokenError(ErrorCode.TOKEN_EXPIRED, "seed token has expired") from None
        except BadSignature:
            raise TokenError(ErrorCode.TOKEN_INVALID, "seed token is invalid") from None
        if not isinstance(data, dict) or data.get("sid") != sid or data.get("digest") != digest:
            raise TokenError(ErrorCode.SESSION_MISMATCH, "the seed token is for another session or playbook")


def seed_digest(playbook: PlaybookSpec) -> str:
    """SHA-256 of a playbook's canonical JSON (what a seed token signs)."""
    canonical = json.dumps(playbook.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Tool arguments on the wire (TOOL_CALL_ARGS deltas). Indices are zero-based.
# The runtime validates every tool call against these before touching the canvas; the browser's
# store applies the same shapes.
# ---------------------------------------------------------------------------------------------


class OutlineModule(_Strict):
    """A module as the outline names it (no tasks yet)."""

    title: Title
    description: Description = ""


class SetPlaybookOutlineArgs(_Strict):
    """Replace the canvas with a new outline; every module starts ``pending`` with no tasks."""

    title: Title
    description: Description = ""
    modules: list[OutlineModule] = Field(min_length=1, max_length=Limits.MAX_MODULES)


class UpdatePlaybookArgs(_Strict):
    """Change the playbook's title and/or description."""

    title: Title | None = None
    description: Description | None = None


class AddModuleArgs(_Strict):
    """Insert a module at ``position`` (default: the end)."""

    title: Title
    description: Description = ""
    position: Annotated[int, Field(ge=0, le=Limits.MAX_MODULES)] | None = None


class UpdateModuleArgs(_Strict):
    """Rename or re-describe one module."""

    module_index: Annotated[int, Field(ge=0, lt=Limits.MAX_MODULES)]
    title: Title | None = None
    description: Description | None = None


class RemoveModuleArgs(_Strict):
    """Remove one module (and its tasks)."""

    module_index: Annotated[int, Field(ge=0, lt=Limits.MAX_MODULES)]


class MoveModuleArgs(_Strict):
    """Move a module from one position to another."""

    from_index: Annotated[int, Field(ge=0, lt=Limits.MAX_MODULES)]
    to_index: Annotated[int, Field(ge=0, lt=Limits.MAX_MODULES)]


class BuildModulesArgs(_Strict):
    """Build the given modules in the background (default: every module not yet built)."""

    module_indices: list[Annotated[int, Field(ge=0, lt=Limits.MAX_MODULES)]] | None = Field(
        default=None, max_length=Limits.MAX_MODULES
    )


class AddTasksArgs(_Strict):
    """Append tasks (optionally with their steps) to a module. Used by module builders."""

    module_index: Annotated[int, Field(ge=0, lt=Limits.MAX_MODULES)]
    tasks: list[TaskSpec] = Field(min_length=1, max_length=Limits.MAX_TASKS_PER_MODULE)


class AddTaskStepArgs(_Strict):
    """Append one step to a task. Used by module builders."""

    module_index: Annotated[int, Field(ge=0, lt=Limits.MAX_MODULES)]
    task_index: Annotated[int, Field(ge=0, lt=Limits.MAX_TASKS_PER_MODULE)]
    step: StepSpec


class SetModuleTasksArgs(_Strict):
    """Replace all tasks (and steps) of a module. Used by module builders to repair their module."""

    module_index: Annotated[int, Field(ge=0, lt=Limits.MAX_MODULES)]
    tasks: list[TaskSpec] = Field(min_length=1, max_length=Limits.MAX_TASKS_PER_MODULE)


class UpdateTaskArgs(_Strict):
    """Rename or re-describe one task of a module."""

    module_index: Annotated[int, Field(ge=0, lt=Limits.MAX_MODULES)]
    task_index: Annotated[int, Field(ge=0, lt=Limits.MAX_TASKS_PER_MODULE)]
    title: Title | None = None
    description: Description | None = None


class RemoveTaskArgs(_Strict):
    """Remove one task (and its steps) from a module."""

    module_index: Annotated[int, Field(ge=0, lt=Limits.MAX_MODULES)]
    task_index: Annotated[int, Field(ge=0, lt=Limits.MAX_TASKS_PER_MODULE)]


class NoArgs(_Strict):
    """A tool that takes no arguments (``undo_last_change``, ``redo_last_change``)."""


class SuggestRepliesArgs(_Strict):
    """Offer the person a few short replies as clickable chips."""

    replies: list[Annotated[str, Field(min_length=1, max_length=Limits.MAX_REPLY_CHARS)]] = Field(
        min_length=1, max_length=Limits.MAX_SUGGESTED_REPLIES
    )


TOOL_ARGS: dict[str, type[BaseModel]] = {
    ToolName.SET_PLAYBOOK_OUTLINE: SetPlaybookOutlineArgs,
    ToolName.UPDATE_PLAYBOOK: UpdatePlaybookArgs,
    ToolName.ADD_MODULE: AddModuleArgs,
    ToolName.UPDATE_MODULE: UpdateModuleArgs,
    ToolName.REMOVE_MODULE: RemoveModuleArgs,
    ToolName.MOVE_MODULE: MoveModuleArgs,
    ToolName.BUILD_MODULES: BuildModulesArgs,
    ToolName.ADD_TASKS: AddTasksArgs,
    ToolName.ADD_TASK_STEP: AddTaskStepArgs,
    ToolName.SET_MODULE_TASKS: SetModuleTasksArgs,
    ToolName.SUGGEST_REPLIES: SuggestRepliesArgs,
    ToolName.UPDATE_TASK: UpdateTaskArgs,
    ToolName.REMOVE_TASK: RemoveTaskArgs,
    ToolName.UNDO_LAST_CHANGE: NoArgs,
    ToolName.REDO_LAST_CHANGE: NoArgs,
}
"""The argument schema of every tool on the wire, by name."""

EDIT_TOOLS: frozenset[str] = frozenset(
    {
        ToolName.SET_PLAYBOOK_OUTLINE,
        ToolName.UPDATE_PLAYBOOK,
        ToolName.ADD_MODULE,
        ToolName.UPDATE_MODULE,
        ToolName.REMOVE_MODULE,
        ToolName.MOVE_MODULE,
        ToolName.ADD_TASKS,
        ToolName.ADD_TASK_STEP,
        ToolName.SET_MODULE_TASKS,
        ToolName.UPDATE_TASK,
        ToolName.REMOVE_TASK,
    }
)
"""The canvas tools an ``edit`` op may name (not ``build_modules``, ``suggest_replies`` or undo/redo)."""

HISTORY_TOOLS: frozenset[str] = frozenset({ToolName.UNDO_LAST_CHANGE, ToolName.REDO_LAST_CHANGE})
"""The orchestrator's undo and redo tools (they move through the history, not edit the canvas)."""
