"""The shared wire contract: token codec, invocation payloads, playbook limits, tool arguments."""

from __future__ import annotations

import hashlib
import time

import pytest
from itsdangerous import URLSafeTimedSerializer
from pydantic import ValidationError

from agent_runtime import contract
from agent_runtime.contract import (
    TOKEN_SALT,
    TOOL_ARGS,
    Action,
    ErrorCode,
    Limits,
    PayloadError,
    PlaybookSpec,
    TokenCodec,
    TokenError,
    ToolName,
    parse_invocation,
)

SID = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
NEW = "n" * 40
OLD = "o" * 40


def _mint(codec: TokenCodec, **overrides: object) -> str:
    claims = {"sid": SID, "uid": 7, "vid": 3, "typ": "copilot"} | overrides
    return codec.mint(**claims)  # type: ignore[arg-type]


class TestTokenCodec:
    def test_round_trip_carries_every_claim(self) -> None:
        codec = TokenCodec([NEW])
        claims = codec.verify(_mint(codec))
        assert (claims.sid, claims.uid, claims.vid, claims.typ) == (SID, 7, 3, "copilot")
        assert time.time() < claims.exp <= time.time() + contract.TOKEN_TTL_SECONDS + 1

    def test_newest_secret_signs_and_every_secret_verifies(self) -> None:
        rotated = TokenCodec([NEW, OLD])
        old_token = _mint(TokenCodec([OLD]))
        assert rotated.verify(old_token).uid == 7
        new_token = _mint(rotated)
        assert TokenCodec([NEW]).verify(new_token).uid == 7
        with pytest.raises(TokenError) as err:
            TokenCodec([OLD]).verify(new_token)
        assert err.value.code == ErrorCode.TOKEN_INVALID

    def test_tampered_token_is_invalid(self) -> None:
        codec = TokenCodec([NEW])
        token = _mint(codec)
        payload, _, rest = token.partition(".")
        forged_claims = {"sid": SID, "uid": 99, "vid": 3, "typ": "copilot", "exp": 2**31}
        forged = URLSafeTimedSerializer("w" * 40, salt=TOKEN_SALT).dumps(forged_claims)
        for bad in (
            token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
            forged,
            payload + "." + rest[::-1],
        ):
            with pytest.raises(TokenError) as err:
                codec.verify(bad)
            assert err.value.code == ErrorCode.TOKEN_INVALID

    def test_signature_for_another_purpose_never_verifies(self) -> None:
        other = URLSafeTimedSerializer(
            [NEW], salt="something-else", signer_kwargs={"digest_method": hashlib.sha256}
        ).dumps({"sid": SID, "uid": 7, "vid": 3, "typ": "copilot", "exp": int(time.time()) + 60})
        with pytest.raises(TokenError) as err:
            TokenCodec([NEW]).verify(other)
        assert err.value.code == ErrorCode.TOKEN_INVALID

    def test_expired_by_claim(self) -> None:
        codec = TokenCodec([NEW])
        with pytest.raises(TokenError) as err:
            codec.verify(_mint(codec, ttl=-1))
        assert err.value.code == ErrorCode.TOKEN_EXPIRED

    def test_max_age_is_enforced_even_when_exp_says_otherwise(self) -> None:
        long_lived = TokenCodec([NEW], max_age=3600)
        token = _mint(long_lived)
        strict = TokenCodec([NEW], max_age=-1)
        with pytest.raises(TokenError) as err:
            strict.verify(token)
        assert err.value.code == ErrorCode.TOKEN_EXPIRED

    def test_ttl_never_exceeds_max_age(self) -> None:
        codec = TokenCodec([NEW], max_age=60)
        assert codec.verify(_mint(codec, ttl=10_000)).exp <= time.time() + 61

    @pytest.mark.parametrize("token", [None, "", "not-a-token", "a" * (Limits.MAX_TOKEN_CHARS + 1)])
    def test_missing_or_garbage(self, token: str | None) -> None:
        with pytest.raises(TokenError) as err:
            TokenCodec([NEW]).verify(token)
        assert err.value.code in {ErrorCode.TOKEN_MISSING, ErrorCode.TOKEN_INVALID}
        assert (err.value.code == ErrorCode.TOKEN_MISSING) == (not token)

    def test_weak_or_missing_secrets_are_refused(self) -> None:
        with pytest.raises(ValueError, match="at least one"):
            TokenCodec([])
        with pytest.raises(ValueError, match="32 characters"):
            TokenCodec(["short"])

    def test_from_setting_is_newest_first(self) -> None:
        codec = TokenCodec.from_setting(f" {NEW} , {OLD} ")
        assert TokenCodec([NEW]).verify(_mint(codec)).uid == 7


def _chat(**overrides: object) -> dict[str, object]:
    return {"action": "chat", "session_id": SID, "token": "t", "prompt": "Onboard new clients"} | overrides


class TestParseInvocation:
    def test_every_action_parses(self) -> None:
        assert parse_invocation(_chat()).action == Action.CHAT
        for action in ("stop", "reset", "watch"):
            assert parse_invocation({"action": action, "session_id": SID, "token": "t"}).action == action
        watch = parse_invocation({"action": "watch", "session_id": SID, "token": "t", "last_event_id": 41})
        assert watch.last_event_id == 41  # type: ignore[union-attr]
        resume = parse_invocation(
            {
                "action": "resume_interrupt",
                "session_id": SID,
                "token": "t",
                "interrupt_id": "i1",
                "decision": "add_context",
                "context": "only EU clients",
            }
        )
        assert resume.decision == "add_context"  # type: ignore[union-attr]

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ([], ErrorCode.INVALID_PAYLOAD),
            ({"session_id": SID, "token": "t"}, ErrorCode.UNKNOWN_ACTION),
            (_chat(action="delete_everything"), ErrorCode.UNKNOWN_ACTION),
            (_chat(token=""), ErrorCode.TOKEN_MISSING),
            (_chat(prompt="x" * (Limits.MAX_PROMPT_BYTES + 1)), ErrorCode.PAYLOAD_TOO_LARGE),
            (_chat(prompt="é" * (Limits.MAX_PROMPT_BYTES // 2 + 1)), ErrorCode.PAYLOAD_TOO_LARGE),
            (_chat(prompt="   "), ErrorCode.INVALID_PAYLOAD),
            (_chat(session_id="short"), ErrorCode.INVALID_PAYLOAD),
            (
                _chat(session_id="../../etc/passwd-is-long-enough-to-pass-length-check"),
                ErrorCode.INVALID_PAYLOAD,
            ),
            (_chat(surprise=1), ErrorCode.INVALID_PAYLOAD),
            (
                {
                    "action": "resume_interrupt",
                    "session_id": SID,
                    "token": "t",
                    "interrupt_id": "i",
                    "decision": "maybe",
                },
                ErrorCode.INVALID_PAYLOAD,
            ),
            (
                {"action": "watch", "session_id": SID, "token": "t", "last_event_id": -1},
                ErrorCode.INVALID_PAYLOAD,
            ),
        ],
    )
    def test_refusals_carry_a_code(self, body: object, code: ErrorCode) -> None:
        with pytest.raises(PayloadError) as err:
            parse_invocation(body)
        assert err.value.code == code
        assert err.value.message

    def test_prompt_at_the_limit_is_accepted(self) -> None:
        assert parse_invocation(_chat(prompt="x" * Limits.MAX_PROMPT_BYTES))


class TestPlaybookLimits:
    def _playbook(self, modules: int = 1, tasks: int = 1, steps: int = 1) -> dict[str, object]:
        step = {"title": "Step", "description": "Do it"}
        task = {"title": "Task", "steps": [step] * steps}
        module = {"title": "Module", "tasks": [task] * tasks}
        return {"title": "Playbook", "modules": [module] * modules}

    def test_largest_allowed_playbook_validates(self) -> None:
        spec = PlaybookSpec.model_validate(
            self._playbook(Limits.MAX_MODULES, Limits.MAX_TASKS_PER_MODULE, Limits.MAX_STEPS_PER_TASK)
        )
        assert len(spec.modules) == 20 and len(spec.modules[0].tasks[0].steps) == 20

    @pytest.mark.parametrize("kwargs", [{"modules": 21}, {"tasks": 31}, {"steps": 21}])
    def test_counts_over_the_limit_are_refused(self, kwargs: dict[str, int]) -> None:
        with pytest.raises(ValidationError):
            PlaybookSpec.model_validate(self._playbook(**kwargs))

    def test_text_limits(self) -> None:
        with pytest.raises(ValidationError):
            PlaybookSpec.model_validate({"title": "t" * 201})
        with pytest.raises(ValidationError):
            PlaybookSpec.model_validate({"title": "ok", "description": "d" * 2001})
        with pytest.raises(ValidationError):
            PlaybookSpec.model_validate({"title": "ok", "modules": [{"title": ""}]})

    def test_every_wire_tool_has_an_argument_schema(self) -> None:
        assert set(TOOL_ARGS) == {t.value for t in ToolName}

    def test_tool_arguments_are_strict(self) -> None:
        model = TOOL_ARGS[ToolName.MOVE_MODULE]
        assert model.model_validate({"from_index": 2, "to_index": 0})
        with pytest.raises(ValidationError):
            model.model_validate({"from_index": 2, "to_index": 0, "extra": True})
        with pytest.raises(ValidationError):
            TOOL_ARGS[ToolName.SUGGEST_REPLIES].model_validate({"replies": ["a"] * 5})
