"""The contract's text rule, JSON depth cap and production secret check (issue 10)."""

from __future__ import annotations

import secrets

import pytest
from pydantic import ValidationError

from agent_runtime.contract import (
    TOOL_ARGS,
    Limits,
    PayloadError,
    PlaybookSpec,
    ToolName,
    loads_json,
    parse_invocation,
    secret_weakness,
    text_problem,
)

SID = "0f5b1f2c-6a3e-4d59-9b8e-1c2d3e4f5a6b"


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b", "\udfff", "x" * 10 + "\ud83d"])
def test_nul_and_unpaired_surrogates_break_the_rule(bad: str) -> None:
    assert text_problem(bad) is not None


@pytest.mark.parametrize("good", ["plain", "emoji \U0001f680", "tab\tnewline\n", "é ü 中文", ""])
def test_ordinary_text_keeps_the_rule(good: str) -> None:
    assert text_problem(good) is None


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "x\\u0000"}',
        b'{"a": "\\ud800"}',
        b'{"a": "\\udc00"}',
        b'{"k\\u0000": 1}',
        b'{"a": ["ok", {"b": "\\u0000"}]}',
    ],
)
def test_bodies_with_bad_text_are_refused_with_a_clear_message(raw: bytes) -> None:
    with pytest.raises(PayloadError) as caught:
        loads_json(raw)
    assert caught.value.code == "INVALID_PAYLOAD" and "NUL" in caught.value.message


def test_depth_is_capped_without_recursing() -> None:
    ok = b"[" * Limits.MAX_JSON_DEPTH + b"]" * Limits.MAX_JSON_DEPTH
    assert loads_json(ok) is not None
    for depth in (Limits.MAX_JSON_DEPTH + 1, 1_000, 200_000):
        with pytest.raises(PayloadError, match="nested deeper than 32"):
            loads_json(b"[" * depth + b"]" * depth)
        with pytest.raises(PayloadError, match="nested deeper than 32"):
            loads_json(b'{"a":' * depth + b"1" + b"}" * depth)


def test_a_full_size_save_fits_under_the_depth_cap() -> None:
    body = {
        "playbook": {
            "title": "T",
            "modules": [{"title": "M", "tasks": [{"title": "t", "steps": [{"title": "s"}]}]}],
        },
        "idempotency_key": "k",
    }
    import json

    assert loads_json(json.dumps(body).encode()) == body


def test_schemas_refuse_bad_text_so_tool_calls_never_reach_the_canvas() -> None:
    with pytest.raises(ValidationError, match="NUL"):
        TOOL_ARGS[ToolName.ADD_MODULE].model_validate({"title": "Kick\x00off"})
    # pydantic itself refuses an unpaired surrogate in a str field ("not a valid unicode string").
    with pytest.raises(ValidationError, match="NUL|unicode string"):
        TOOL_ARGS[ToolName.SUGGEST_REPLIES].model_validate({"replies": ["ok", "b\ud800"]})
    with pytest.raises(ValidationError, match="NUL"):
        PlaybookSpec.model_validate({"title": "t", "modules": [{"title": "m", "description": "\x00"}]})
    with pytest.raises(PayloadError, match="NUL"):
        parse_invocation(
            {"session_id": SID, "token": "t", "action": "chat", "prompt": "hi", "ui_context": {"x": "\x00"}}
        )


@pytest.mark.parametrize(
    "weak",
    [
        "dev-only-insecure-agent-signing-secret-change-me",
        "dev-only-insecure-flask-secret-key-change-me-now",
        "short",
        "a" * 40,
        "changeme" * 5,
        "integration-test-secret-" + "x" * 24,
    ],
)
def test_weak_and_published_secrets_are_named(weak: str) -> None:
    assert secret_weakness(weak)


def test_generated_secrets_pass() -> None:
    for _ in range(200):
        assert secret_weakness(secrets.token_urlsafe(32)) is None
        assert secret_weakness(secrets.token_urlsafe(48)) is None
        assert secret_weakness(secrets.token_hex(32)) is None
