"""The offline planner after an approval decision: what the assistant says and does."""

from __future__ import annotations

from agent_runtime.messages import (
    decision_note,
    decision_since_prompt,
    last_tool_error,
    parse_decision_note,
)
from agent_runtime.models.offline import plan_resume, plan_turn

CANVAS = {
    "title": "Launch",
    "modules": [
        {"title": f"Module {i}", "description": "d", "status": "draft", "tasks": []} for i in range(12)
    ],
}


def test_decision_notes_round_trip_and_are_found_after_the_prompt() -> None:
    note = decision_note("add_context", "build 12 modules", "only build the first 5 modules")
    parsed = parse_decision_note(note)
    assert parsed is not None
    assert (parsed.decision, parsed.summary, parsed.context) == (
        "add_context",
        "build 12 modules",
        "only build the first 5 modules",
    )
    assert parse_decision_note("INVALID_TOOL_ARGS: nope") is None
    messages = [
        {"role": "user", "content": [{"text": "build it"}]},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "t1", "name": "build_modules", "input": {}}}],
        },
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "t1", "status": "error", "content": [{"text": note}]}}],
        },
    ]
    found = decision_since_prompt(messages)  # type: ignore[arg-type]
    assert found is not None and found.decision == "add_context" and found.replies_after == 0
    assert last_tool_error(messages) == note  # type: ignore[arg-type]


def test_reject_says_nothing_was_built_and_why() -> None:
    replies = plan_resume("reject", "build 12 modules", "too many at once", CANVAS, "outline")
    text = replies[0].text or ""
    assert "rejected" in text and "build 12 modules" in text and "nothing was built" in text
    assert "too many at once" in text
    assert all(c.name == "suggest_replies" for r in replies for c in r.tool_calls)


def test_add_context_is_planned_as_the_persons_instruction() -> None:
    replies = plan_resume(
        "add_context", "build 12 modules", "only build the first 5 modules", CANVAS, "outline"
    )
    calls = [(c.name, c.args) for r in replies for c in r.tool_calls]
    assert calls == [("build_modules", {"module_indices": [0, 1, 2, 3, 4]})]
    assert "Building 5 modules" in (replies[-1].text or "")
    # the same words as a chat message mean the same
    assert [
        c.args for r in plan_turn("only build the first 5 modules", CANVAS, "outline") for c in r.tool_calls
    ][0] == {"module_indices": [0, 1, 2, 3, 4]}


def test_add_context_with_nothing_to_do_is_acknowledged_and_runs_nothing() -> None:
    replies = plan_resume("add_context", "build 12 modules", "keep the steps short", CANVAS, "outline")
    assert "keep the steps short" in (replies[0].text or "")
    assert all(c.name == "suggest_replies" for r in replies for c in r.tool_calls)
