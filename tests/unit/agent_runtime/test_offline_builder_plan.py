"""The offline builder plan: fitting tasks and steps for every module, valid against a real Canvas."""

from __future__ import annotations

from typing import Any

import pytest

from agent_runtime.canvas import Canvas
from agent_runtime.contract import TOOL_ARGS, Limits
from agent_runtime.models.offline import ARCHETYPES, Reply, plan_module, plan_turn


def build(canvas: Canvas, index: int) -> list[Reply]:
    """Run one builder's plan against the canvas, as the runtime's builder agent would."""
    book = canvas.playbook
    module = canvas.module(index).model_dump(mode="json")
    replies = plan_module(book.title, book.description, module, index)
    for reply in replies:
        for tool_call in reply.tool_calls:
            TOOL_ARGS[tool_call.name].model_validate(tool_call.args)
            canvas.apply(tool_call.name, tool_call.args)
    return replies


def outlined(prompt: str) -> Canvas:
    canvas = Canvas()
    snap = canvas.snapshot()
    for reply in plan_turn(prompt, snap["canvas"], snap["phase"]):
        for tool_call in reply.tool_calls:
            canvas.apply(tool_call.name, tool_call.args)
    return canvas


def assert_well_built(canvas: Canvas, index: int, replies: list[Reply]) -> None:
    module = canvas.module(index)
    assert 2 <= len(module.tasks) <= 6, module.title
    for task in module.tasks:
        assert 1 <= len(task.steps) <= 4, (module.title, task.title)
        assert task.title.strip() and task.description.strip()
    # shape: add_tasks, one reply per task of add_task_step calls, then the closing text
    assert [c.name for c in replies[0].tool_calls] == ["add_tasks"]
    assert replies[0].text is None
    step_replies = replies[1:-1]
    assert len(step_replies) == len(module.tasks)
    for reply in step_replies:
        assert reply.text is None
        assert reply.tool_calls and {c.name for c in reply.tool_calls} == {"add_task_step"}
    assert replies[-1] == Reply(f"Built {module.title}: {len(module.tasks)} tasks.", ())


@pytest.mark.parametrize("archetype", ARCHETYPES, ids=lambda a: a.key)
def test_every_archetype_module_gets_its_own_fitting_tasks(archetype: Any) -> None:
    canvas = Canvas()
    canvas.apply(
        "set_playbook_outline",
        {
            "title": archetype.title,
            "description": archetype.description,
            "modules": [{"title": m.title, "description": m.description} for m in archetype.modules],
        },
    )
    seen_tasks: set[str] = set()
    for index, template in enumerate(archetype.modules):
        replies = build(canvas, index)
        assert_well_built(canvas, index, replies)
        task_titles = [t.title for t in canvas.module(index).tasks]
        assert task_titles == [t.title for t in template.tasks]
        assert not seen_tasks & set(task_titles), "modules of one playbook should not repeat tasks"
        seen_tasks |= set(task_titles)


def test_a_renamed_archetype_module_keeps_its_archetype_tasks() -> None:
    canvas = outlined("Onboard new clients with a kickoff call, document collection and a 30-day review")
    titles = [m.title for m in canvas.playbook.modules]
    index = titles.index("Kickoff Call")
    build(canvas, index)
    tasks = [t.title for t in canvas.module(index).tasks]
    assert "Schedule the kickoff" in tasks
    steps = [s.title for t in canvas.module(index).tasks for s in t.steps]
    assert "Share the agenda two days ahead" in steps


@pytest.mark.parametrize(
    "prompt",
    [
        "Create a playbook for warehouse returns: receive the package, inspect items, "
        "issue refund then restock",
        "Plan the office move, pack the equipment, set up the new space and celebrate",
        "A playbook for our podcast production",
        "Volunteer program with recruiting volunteers, training sessions, a thank-you event "
        "and annual survey",
    ],
)
def test_phrase_derived_modules_get_sensible_tasks(prompt: str) -> None:
    canvas = outlined(prompt)
    assert canvas.module_count >= 4
    for index in range(canvas.module_count):
        assert_well_built(canvas, index, build(canvas, index))


@pytest.mark.parametrize(
    ("title", "expected_task"),
    [
        ("Security Review", "Prepare the security review"),
        ("Partner Workshop", "Schedule the partner workshop"),
        ("Collect Tax Forms", "Check what arrives"),
        ("Configure the CRM", "Prepare to configure the CRM"),
        ("Announce the Change", "Announce the change"),
        ("Restock", "Prepare to restock"),
    ],
)
def test_generic_modules_use_templates_named_after_the_module(title: str, expected_task: str) -> None:
    canvas = Canvas()
    canvas.apply("set_playbook_outline", {"title": "Something", "modules": [{"title": title}]})
    replies = build(canvas, 0)
    assert_well_built(canvas, 0, replies)
    assert expected_task in [t.title for t in canvas.module(0).tasks]


def test_kinds_of_work_get_different_tasks() -> None:
    plans = {
        title: tuple(
            t["title"] for t in plan_module("P", "", {"title": title}, 0)[0].tool_calls[0].args["tasks"]
        )
        for title in ("Vendor Meeting", "Quarterly Retro", "Document Intake", "Laptop Setup", "Go-Live")
    }
    assert len(set(plans.values())) == len(plans)


def test_task_indices_continue_after_existing_tasks() -> None:
    canvas = Canvas()
    canvas.apply("set_playbook_outline", {"title": "P", "modules": [{"title": "Kickoff Meeting"}]})
    canvas.apply(
        "add_tasks", {"module_index": 0, "tasks": [{"title": "Existing A"}, {"title": "Existing B"}]}
    )
    replies = build(canvas, 0)
    step_indices = {c.args["task_index"] for r in replies[1:-1] for c in r.tool_calls}
    assert min(step_indices) == 2
    module = canvas.module(0)
    assert [t.title for t in module.tasks][:2] == ["Existing A", "Existing B"]
    assert module.tasks[0].steps == [] and all(t.steps for t in module.tasks[2:])


def test_a_nearly_full_module_only_gets_what_fits() -> None:
    canvas = Canvas()
    canvas.apply("set_playbook_outline", {"title": "P", "modules": [{"title": "Kickoff Meeting"}]})
    existing = Limits.MAX_TASKS_PER_MODULE - 1
    canvas.apply("add_tasks", {"module_index": 0, "tasks": [{"title": f"T{i}"} for i in range(existing)]})
    replies = build(canvas, 0)
    assert len(canvas.module(0).tasks) == Limits.MAX_TASKS_PER_MODULE
    assert replies[-1].text == "Built Kickoff Meeting: 1 task."


def test_a_full_module_gets_no_tool_calls() -> None:
    module = {"title": "Full", "tasks": [{"title": f"T{i}"} for i in range(Limits.MAX_TASKS_PER_MODULE)]}
    replies = plan_module("P", "", module, 0)
    assert len(replies) == 1 and replies[0].tool_calls == ()


def test_long_titles_are_clipped_to_the_limits() -> None:
    title = "Review " + "x" * (Limits.MAX_TITLE_CHARS - 7)
    canvas = Canvas()
    canvas.apply("set_playbook_outline", {"title": "P", "modules": [{"title": title}]})
    assert_well_built(canvas, 0, build(canvas, 0))  # build() validates every call


def test_builder_plans_are_deterministic() -> None:
    module = {"title": "Kickoff Call", "description": "Meet the client.", "status": "pending", "tasks": []}
    assert plan_module("Client Onboarding Playbook", "", module, 3) == plan_module(
        "Client Onboarding Playbook", "", module, 3
    )
