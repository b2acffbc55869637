"""Approval rules (APPROVAL_RULES) and the interrupt book: parsing, matching, expiry, replays."""

from __future__ import annotations

from typing import Any

import pytest
from strands import Agent
from strands.hooks import BeforeToolCallEvent
from strands.interrupt import InterruptException

from agent_runtime.approvals import (
    DEFAULT_APPROVAL_RULES,
    ClosedStatus,
    InterruptBook,
    PendingInterrupt,
    RuleError,
    evaluate,
    parse_rules,
)
from agent_runtime.approvals.hook import ApprovalHook
from agent_runtime.config import load_settings
from agent_runtime.contract import ErrorCode
from agent_runtime.errors import ConfigError, RequestRefused
from agent_runtime.models.scripted import ScriptedModel
from tests.unit.agent_runtime.conftest import SECRET


def _canvas(
    modules: int, *, tasks: dict[int, int] | None = None, built: set[int] | None = None
) -> dict[str, Any]:
    return {
        "title": "T",
        "modules": [
            {
                "title": f"M{i}",
                "status": "built" if i in (built or set()) else "draft",
                "tasks": [{"title": f"t{j}"} for j in range((tasks or {}).get(i, 0))],
            }
            for i in range(modules)
        ],
    }


def test_default_rules_with_the_threshold_substituted() -> None:
    rules = parse_rules(DEFAULT_APPROVAL_RULES, {"APPROVAL_BUILD_THRESHOLD": 8})
    assert [r.text for r in rules] == ["build_modules:count>8", "remove_module:has_tasks"]
    assert rules[0].threshold == 9


def test_settings_defaults_and_overrides() -> None:
    settings = load_settings({"AGENT_SIGNING_SECRET": SECRET})
    assert settings.approval_build_threshold == 8
    assert settings.interrupt_ttl_seconds == 3600
    assert [r.text for r in settings.approval_rule_set()] == [
        "build_modules:count>8",
        "remove_module:has_tasks",
    ]
    custom = load_settings(
        {
            "AGENT_SIGNING_SECRET": SECRET,
            "APPROVAL_BUILD_THRESHOLD": "3",
            "APPROVAL_RULES": "move_module:always",
        }
    )
    assert [r.text for r in custom.approval_rule_set()] == ["move_module:always"]
    assert load_settings({"AGENT_SIGNING_SECRET": SECRET, "APPROVAL_RULES": "none"}).approval_rule_set() == ()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("build_modules", "not tool:condition"),
        ("launch_rockets:always", "unknown tool"),
        ("build_modules:count<3", "condition must be"),
        ("build_modules:count>${NOPE}", "unknown placeholder"),
    ],
)
def test_bad_rules_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(RuleError, match=fragment):
        parse_rules(text, {"APPROVAL_BUILD_THRESHOLD": 8})
    with pytest.raises(ConfigError, match="APPROVAL_RULES"):
        load_settings({"AGENT_SIGNING_SECRET": SECRET, "APPROVAL_RULES": text})


def test_build_count_counts_the_modules_the_call_would_build() -> None:
    rules = parse_rules("build_modules:count>8")
    assert evaluate(rules, "build_modules", {"module_indices": None}, _canvas(8)) is None
    match = evaluate(rules, "build_modules", {"module_indices": None}, _canvas(10))
    assert match is not None and match.rule == "build_modules:count>8" and "10 modules" in match.message
    assert match.summary == "build 10 modules"
    # unspecified indices mean the unbuilt ones; explicit indices are counted (deduplicated)
    assert evaluate(rules, "build_modules", {"module_indices": None}, _canvas(10, built={0, 1})) is None
    assert evaluate(rules, "build_modules", {"module_indices": [0, 1, 2, 3, 4]}, _canvas(12)) is None
    assert evaluate(rules, "build_modules", {"module_indices": list(range(9))}, _canvas(12)) is not None
    assert evaluate(
        parse_rules("build_modules:count>=5"),
        "build_modules",
        {"module_indices": [0, 1, 2, 3, 4]},
        _canvas(5),
    )


def test_remove_module_is_gated_only_when_it_has_tasks() -> None:
    rules = parse_rules("remove_module:has_tasks")
    canvas = _canvas(3, tasks={1: 4})
    assert evaluate(rules, "remove_module", {"module_index": 0}, canvas) is None
    match = evaluate(rules, "remove_module", {"module_index": 1}, canvas)
    assert match is not None and "4 tasks" in match.message and "M1" in match.summary
    # malformed calls match nothing (the tool refuses them itself)
    assert evaluate(rules, "remove_module", {"module_index": 9}, canvas) is None
    assert evaluate(rules, "remove_module", "nonsense", canvas) is None
    assert evaluate(rules, "add_module", {"title": "x"}, canvas) is None


def _pending(now: float = 1000.0, ttl: float = 60.0) -> PendingInterrupt:
    return PendingInterrupt.new(
        strands_id="v1:before_tool_call:t1:abc",
        reason={"rule": "build_modules:count>8", "message": "Build 12?", "summary": "build 12 modules"},
        tool="build_modules",
        tool_call_id="t1",
        args={"module_indices": None},
        request="build it",
        now=now,
        ttl_seconds=ttl,
    )


def _refused(book: InterruptBook, interrupt_id: str, now: float) -> str:
    with pytest.raises(RequestRefused) as info:
        book.check(interrupt_id, now)
    return str(info.value.code)


def test_interrupt_book_answers_unknown_answered_expired() -> None:
    item = _pending()
    book = InterruptBook(pending=[item])
    assert item.id.startswith("int_") and item.expires_at_iso == "1970-01-01T00:17:40Z"
    assert book.check(item.id, 1059.9) is item
    assert _refused(book, "int_nope", 1001.0) == ErrorCode.INTERRUPT_UNKNOWN
    assert _refused(book, item.id, 1060.0) == ErrorCode.INTERRUPT_EXPIRED  # at expires_at it is over
    assert book.pending == [item]  # still unanswerable, however often asked
    assert _refused(book, item.id, 1060.0) == ErrorCode.INTERRUPT_EXPIRED
    book.close(item.id, ClosedStatus.ANSWERED)
    assert _refused(book, item.id, 1001.0) == ErrorCode.INTERRUPT_ANSWERED


def test_superseded_interrupts_are_refused_as_expired_and_the_book_round_trips() -> None:
    first, second = _pending(), _pending()
    book = InterruptBook(pending=[first, second])
    assert [p.id for p in book.close_all(ClosedStatus.SUPERSEDED)] == [first.id, second.id]
    restored = InterruptBook.from_dict(book.to_dict())
    assert restored.pending == [] and _refused(restored, first.id, 0) == ErrorCode.INTERRUPT_EXPIRED
    third = _pending()
    restored.pending.append(third)
    again = InterruptBook.from_dict(restored.to_dict())
    assert again.find(third.id) == third and again.by_strands_id(third.strands_id) == third
    for _ in range(60):  # the closed list is bounded
        again.close(_pending().id, ClosedStatus.ANSWERED)
    assert len(again.closed) == 50


def test_the_gate_reads_the_canvas_only_for_a_tool_a_rule_names() -> None:
    reads = 0

    def canvas() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return _canvas(3, tasks={0: 2})

    hook = ApprovalHook(parse_rules(DEFAULT_APPROVAL_RULES, {"APPROVAL_BUILD_THRESHOLD": 8}), canvas)
    agent = Agent(model=ScriptedModel([]), callback_handler=None)

    def call(name: str, args: dict[str, Any]) -> BeforeToolCallEvent:
        event = BeforeToolCallEvent(
            agent=agent,
            selected_tool=None,
            tool_use={"toolUseId": "t1", "name": name, "input": args},
            invocation_state={},
        )
        try:
            hook._before_tool(event)
        except InterruptException:
            pass
        return event

    call("set_playbook_outline", {"title": "T", "modules": []})
    call("suggest_replies", {"replies": ["ok"]})
    assert reads == 0  # no rule names these tools
    call("remove_module", {"module_index": 0})
    assert reads == 1  # gated: removing module 1, which has tasks, asks first
