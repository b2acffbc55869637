"""The session canvas: every tool applied, validated, atomic, limited, persisted and thread-safe."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from agent_runtime.canvas import Canvas, CanvasError
from agent_runtime.contract import Limits, ModuleStatus, Phase, PlaybookSpec
from agent_runtime.errors import AgentRuntimeError


def outline(n: int = 3, title: str = "Client Onboarding") -> dict[str, Any]:
    return {
        "title": title,
        "description": "From contract to first value.",
        "modules": [{"title": f"Module {i + 1}", "description": f"Does {i + 1}."} for i in range(n)],
    }


def titles(canvas: Canvas) -> list[str]:
    return [m.title for m in canvas.playbook.modules]


@pytest.fixture
def canvas() -> Canvas:
    c = Canvas()
    c.apply("set_playbook_outline", outline())
    return c


def task(title: str = "Task", steps: int = 0) -> dict[str, Any]:
    return {"title": title, "description": "", "steps": [{"title": f"Step {i}"} for i in range(steps)]}


# --- each tool ----------------------------------------------------------------------------------


def test_new_canvas_is_empty() -> None:
    c = Canvas()
    assert c.phase == Phase.EMPTY
    assert c.version == 0
    assert c.snapshot() == {
        "phase": "empty",
        "canvas": PlaybookSpec().model_dump(mode="json"),
        "version": 0,
        "history": {"can_undo": False, "can_redo": False},
    }


def test_set_playbook_outline_replaces_everything_and_enters_outline_phase(canvas: Canvas) -> None:
    canvas.apply("add_tasks", {"module_index": 0, "tasks": [task()]})
    canvas.set_module_status(0, ModuleStatus.BUILT)

    result = canvas.apply("set_playbook_outline", outline(2, "Incident Response"))

    assert result == {"ok": True, "modules": 2}
    book = canvas.playbook
    assert book.title == "Incident Response"
    assert [m.title for m in book.modules] == ["Module 1", "Module 2"]
    assert all(m.status == ModuleStatus.PENDING and m.tasks == [] for m in book.modules)
    assert canvas.phase == Phase.OUTLINE


def test_update_playbook_changes_title_and_description(canvas: Canvas) -> None:
    canvas.apply("update_playbook", {"title": "Client Welcome"})
    canvas.apply("update_playbook", {"description": "New words."})
    assert canvas.playbook.title == "Client Welcome"
    assert canvas.playbook.description == "New words."


def test_update_playbook_with_nothing_to_change_is_refused(canvas: Canvas) -> None:
    with pytest.raises(CanvasError) as err:
        canvas.apply("update_playbook", {})
    assert err.value.code == "INVALID_TOOL_ARGS"


def test_add_module_appends_or_inserts_at_position(canvas: Canvas) -> None:
    assert canvas.apply("add_module", {"title": "Last"}) == {"ok": True, "module_index": 3, "modules": 4}
    assert canvas.apply("add_module", {"title": "First", "position": 0})["module_index"] == 0
    canvas.apply("add_module", {"title": "Middle", "position": 2})
    assert titles(canvas) == ["First", "Module 1", "Middle", "Module 2", "Module 3", "Last"]


def test_add_module_past_the_end_appends(canvas: Canvas) -> None:
    canvas.apply("add_module", {"title": "Far", "position": 15})
    assert titles(canvas)[-1] == "Far"


def test_add_module_to_an_empty_canvas_starts_an_outline() -> None:
    c = Canvas()
    c.apply("add_module", {"title": "Only"})
    assert c.phase == Phase.OUTLINE


def test_update_module_renames_and_redescribes(canvas: Canvas) -> None:
    canvas.apply("update_module", {"module_index": 1, "title": "Kickoff"})
    canvas.apply("update_module", {"module_index": 1, "description": "Meet the client."})
    module = canvas.module(1)
    assert (module.title, module.description) == ("Kickoff", "Meet the client.")


def test_remove_module(canvas: Canvas) -> None:
    result = canvas.apply("remove_module", {"module_index": 0})
    assert result == {"ok": True, "removed": "Module 1", "modules": 2}
    assert titles(canvas) == ["Module 2", "Module 3"]


def test_removing_the_last_module_empties_the_canvas(canvas: Canvas) -> None:
    for _ in range(3):
        canvas.apply("remove_module", {"module_index": 0})
    assert canvas.phase == Phase.EMPTY


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        (2, 0, ["Module 3", "Module 1", "Module 2"]),
        (0, 2, ["Module 2", "Module 3", "Module 1"]),
        (1, 1, ["Module 1", "Module 2", "Module 3"]),
    ],
)
def test_move_module(canvas: Canvas, source: int, target: int, expected: list[str]) -> None:
    canvas.apply("move_module", {"from_index": source, "to_index": target})
    assert titles(canvas) == expected


def test_build_modules_defaults_to_every_unbuilt_module_and_spawns_nothing(canvas: Canvas) -> None:
    canvas.set_module_status(1, ModuleStatus.BUILT)
    result = canvas.apply("build_modules", {})
    assert result == {"module_indices": [0, 2]}
    assert canvas.phase == Phase.BUILDING
    assert [m.status for m in canvas.playbook.modules] == [
        ModuleStatus.PENDING,
        ModuleStatus.BUILT,
        ModuleStatus.PENDING,
    ]
    assert all(m.tasks == [] for m in canvas.playbook.modules)


def test_build_modules_with_chosen_indices_resets_them_to_pending(canvas: Canvas) -> None:
    canvas.set_module_status(2, ModuleStatus.FAILED, "model error")
    result = canvas.apply("build_modules", {"module_indices": [2, 2, 0]})
    assert result == {"module_indices": [2, 0]}
    assert canvas.module(2).status == ModuleStatus.PENDING
    assert canvas.module(2).reason is None


def test_build_modules_when_everything_is_built_changes_nothing(canvas: Canvas) -> None:
    for i in range(3):
        canvas.set_module_status(i, ModuleStatus.BUILT)
    canvas.set_phase(Phase.REFINEMENT)
    version = canvas.version
    assert canvas.apply("build_modules", {"module_indices": None})["module_indices"] == []
    assert canvas.phase == Phase.REFINEMENT
    assert canvas.version == version


def test_add_tasks_and_steps(canvas: Canvas) -> None:
    assert canvas.apply("add_tasks", {"module_index": 1, "tasks": [task("A"), task("B", steps=2)]}) == {
        "ok": True,
        "task_indices": [0, 1],
    }
    assert canvas.apply("add_tasks", {"module_index": 1, "tasks": [task("C")]})["task_indices"] == [2]
    result = canvas.apply("add_task_step", {"module_index": 1, "task_index": 1, "step": {"title": "Third"}})
    assert result == {"ok": True, "step_index": 2}
    module = canvas.module(1)
    assert [t.title for t in module.tasks] == ["A", "B", "C"]
    assert [s.title for s in module.tasks[1].steps] == ["Step 0", "Step 1", "Third"]


def test_apply_call_gives_the_validated_args_from_one_validation(
    canvas: Canvas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the browser is sent: the args as validated, taken before the call changed anything."""
    import agent_runtime.canvas as canvas_module

    calls: list[str] = []
    real = canvas_module._validate

    def counting(schema: Any, data: Any) -> Any:
        calls.append(schema.__name__)
        return real(schema, data)

    monkeypatch.setattr(canvas_module, "_validate", counting)
    args = {"module_index": 1, "tasks": [{"title": "  Kickoff  ", "steps": [{"title": "Book"}]}]}
    result, wire = canvas.apply_call("add_tasks", args)
    assert result == {"ok": True, "task_indices": [0]} and len(calls) == 1
    expected = (
        canvas_module.TOOL_ARGS["add_tasks"].model_validate(args).model_dump(mode="json", exclude_none=True)
    )
    assert wire == expected and wire["tasks"][0]["title"] == "Kickoff"
    canvas.apply("add_task_step", {"module_index": 1, "task_index": 0, "step": {"title": "Call"}})
    assert [s["title"] for s in wire["tasks"][0]["steps"]] == ["Book"]  # a copy: later edits leave it
    assert canvas.apply("update_playbook", {"title": "X"}) == {"ok": True}  # apply: the result alone


def test_suggest_replies_changes_nothing(canvas: Canvas) -> None:
    before = canvas.snapshot()
    assert canvas.apply("suggest_replies", {"replies": ["Build it"]}) == {"ok": True}
    assert canvas.snapshot() == before


def test_every_change_bumps_the_version(canvas: Canvas) -> None:
    start = canvas.version
    canvas.apply("add_module", {"title": "X"})
    canvas.apply("update_module", {"module_index": 0, "title": "Y"})
    canvas.set_module_status(0, ModuleStatus.BUILDING)
    canvas.set_phase(Phase.BUILDING)
    canvas.set_phase(Phase.BUILDING)  # no change, no bump
    assert canvas.version == start + 4


def test_set_module_status_records_a_failure_reason(canvas: Canvas) -> None:
    canvas.set_module_status(0, ModuleStatus.FAILED, "the model timed out")
    assert (canvas.module(0).status, canvas.module(0).reason) == (ModuleStatus.FAILED, "the model timed out")
    with pytest.raises(CanvasError) as err:
        canvas.set_module_status(3, ModuleStatus.BUILT)
    assert err.value.code == "NOT_FOUND"


# --- refusals leave the canvas untouched ----------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "args", "code"),
    [
        ("no_such_tool", {}, "UNKNOWN_TOOL"),
        ("add_module", {"title": ""}, "INVALID_TOOL_ARGS"),
        ("add_module", {"title": "X", "colour": "red"}, "INVALID_TOOL_ARGS"),
        ("add_module", {"title": "X", "position": -1}, "INVALID_TOOL_ARGS"),
        ("update_module", {"module_index": 3, "title": "X"}, "NOT_FOUND"),
        ("update_module", {"module_index": 0}, "INVALID_TOOL_ARGS"),
        ("remove_module", {"module_index": 7}, "NOT_FOUND"),
        ("remove_module", {"module_index": "first"}, "INVALID_TOOL_ARGS"),
        ("move_module", {"from_index": 0, "to_index": 3}, "NOT_FOUND"),
        ("move_module", {"from_index": 5, "to_index": 0}, "NOT_FOUND"),
        ("build_modules", {"module_indices": [0, 9]}, "NOT_FOUND"),
        ("add_tasks", {"module_index": 4, "tasks": [task()]}, "NOT_FOUND"),
        ("add_tasks", {"module_index": 0, "tasks": []}, "INVALID_TOOL_ARGS"),
        ("add_task_step", {"module_index": 0, "task_index": 0, "step": {"title": "S"}}, "NOT_FOUND"),
        ("add_task_step", {"module_index": 0, "task_index": 0}, "INVALID_TOOL_ARGS"),
        ("suggest_replies", {"replies": []}, "INVALID_TOOL_ARGS"),
        ("set_playbook_outline", {"title": "T", "modules": []}, "INVALID_TOOL_ARGS"),
        ("add_module", {"title": "x" * (Limits.MAX_TITLE_CHARS + 1)}, "LIMIT"),
        ("add_module", {"title": "X", "description": "d" * (Limits.MAX_DESCRIPTION_CHARS + 1)}, "LIMIT"),
        ("update_playbook", {"title": "x" * (Limits.MAX_TITLE_CHARS + 1)}, "LIMIT"),
        ("suggest_replies", {"replies": ["a", "b", "c", "d", "e"]}, "LIMIT"),
    ],
)
def test_a_refused_call_leaves_canvas_and_version_untouched(
    canvas: Canvas, tool: str, args: dict[str, Any], code: str
) -> None:
    before = canvas.snapshot()
    with pytest.raises(CanvasError) as err:
        canvas.apply(tool, args)
    assert err.value.code == code
    assert err.value.message
    assert canvas.snapshot() == before


def test_the_21st_module_is_refused() -> None:
    c = Canvas()
    c.apply("set_playbook_outline", outline(Limits.MAX_MODULES))
    before = c.snapshot()
    with pytest.raises(CanvasError) as err:
        c.apply("add_module", {"title": "One too many"})
    assert err.value.code == "LIMIT"
    assert c.snapshot() == before
    with pytest.raises(CanvasError) as err:
        c.apply("set_playbook_outline", outline(Limits.MAX_MODULES + 1))
    assert err.value.code == "LIMIT"


def test_the_31st_task_is_refused_even_across_calls(canvas: Canvas) -> None:
    canvas.apply("add_tasks", {"module_index": 0, "tasks": [task(f"T{i}") for i in range(29)]})
    canvas.apply("add_tasks", {"module_index": 0, "tasks": [task("T29")]})
    before = canvas.snapshot()
    with pytest.raises(CanvasError) as err:
        canvas.apply("add_tasks", {"module_index": 0, "tasks": [task("T30")]})
    assert err.value.code == "LIMIT"
    assert canvas.snapshot() == before
    assert len(canvas.module(0).tasks) == Limits.MAX_TASKS_PER_MODULE


def test_a_batch_that_would_pass_the_task_limit_adds_nothing(canvas: Canvas) -> None:
    canvas.apply("add_tasks", {"module_index": 0, "tasks": [task(f"T{i}") for i in range(25)]})
    with pytest.raises(CanvasError) as err:
        canvas.apply("add_tasks", {"module_index": 0, "tasks": [task(f"U{i}") for i in range(6)]})
    assert err.value.code == "LIMIT"
    assert len(canvas.module(0).tasks) == 25


def test_the_21st_step_is_refused(canvas: Canvas) -> None:
    canvas.apply("add_tasks", {"module_index": 0, "tasks": [task("T", steps=Limits.MAX_STEPS_PER_TASK)]})
    before = canvas.snapshot()
    with pytest.raises(CanvasError) as err:
        canvas.apply("add_task_step", {"module_index": 0, "task_index": 0, "step": {"title": "21st"}})
    assert err.value.code == "LIMIT"
    assert canvas.snapshot() == before
    with pytest.raises(CanvasError) as err:
        canvas.apply(
            "add_tasks", {"module_index": 1, "tasks": [task("T", steps=Limits.MAX_STEPS_PER_TASK + 1)]}
        )
    assert err.value.code == "LIMIT"


def test_titles_and_descriptions_at_the_limit_are_accepted(canvas: Canvas) -> None:
    title, description = "t" * Limits.MAX_TITLE_CHARS, "d" * Limits.MAX_DESCRIPTION_CHARS
    canvas.apply("add_module", {"title": title, "description": description})
    assert canvas.module(3).title == title


# --- reading, persistence, threads ----------------------------------------------------------------


def test_snapshot_is_json_and_a_copy(canvas: Canvas) -> None:
    snap = canvas.snapshot()
    json.dumps(snap)
    assert snap["phase"] == "outline"
    assert snap["canvas"]["modules"][0]["status"] == "pending"
    snap["canvas"]["modules"].clear()
    canvas.playbook.modules.clear()
    assert canvas.module_count == 3


def test_to_dict_from_dict_round_trip(canvas: Canvas) -> None:
    canvas.apply("add_tasks", {"module_index": 2, "tasks": [task("T", steps=2)]})
    canvas.set_module_status(2, ModuleStatus.FAILED, "boom")
    canvas.set_phase(Phase.REFINEMENT)
    stored = json.loads(json.dumps(canvas.to_dict()))

    again = Canvas.from_dict(stored)

    assert again.snapshot() == canvas.snapshot()
    assert again.phase == Phase.REFINEMENT
    assert again.version == canvas.version


def test_from_dict_refuses_a_corrupt_store() -> None:
    with pytest.raises(CanvasError):
        Canvas.from_dict({"phase": "outline", "canvas": {"modules": [{"title": ""}]}, "version": 3})
    with pytest.raises(CanvasError):
        Canvas.from_dict({"phase": "nonsense", "canvas": {}, "version": 1})


def test_summary_for_prompt_numbers_modules_from_one_with_status_and_counts(canvas: Canvas) -> None:
    canvas.apply("add_tasks", {"module_index": 1, "tasks": [task("A", steps=2), task("B", steps=1)]})
    canvas.set_module_status(1, ModuleStatus.BUILT)
    summary = canvas.summary_for_prompt()
    assert 'Playbook: "Client Onboarding"' in summary
    assert "Phase: outline. Modules: 3." in summary
    assert "1. Module 1 [pending; 0 tasks, 0 steps] - Does 1." in summary
    assert "2. Module 2 [built; 2 tasks, 3 steps]" in summary
    assert "3. Module 3" in summary


def test_summary_for_an_empty_canvas_says_so() -> None:
    assert "empty" in Canvas().summary_for_prompt()


def test_concurrent_builders_adding_steps_lose_nothing(canvas: Canvas) -> None:
    for index in range(3):
        canvas.apply("add_tasks", {"module_index": index, "tasks": [task("A"), task("B")]})
    start = canvas.version
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def builder(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            for n in range(Limits.MAX_STEPS_PER_TASK):
                for t in (0, 1):
                    canvas.apply(
                        "add_task_step", {"module_index": index, "task_index": t, "step": {"title": f"S{n}"}}
                    )
        except BaseException as exc:  # pragma: no cover - surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=builder, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert not any(t.is_alive() for t in threads)
    for module in canvas.playbook.modules:
        assert [len(t.steps) for t in module.tasks] == [Limits.MAX_STEPS_PER_TASK] * 2
    assert canvas.version == start + 3 * 2 * Limits.MAX_STEPS_PER_TASK


def test_concurrent_steps_on_one_task_stop_exactly_at_the_limit(canvas: Canvas) -> None:
    canvas.apply("add_tasks", {"module_index": 0, "tasks": [task("Shared")]})
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(3)

    def builder() -> None:
        barrier.wait(timeout=10)
        for n in range(10):
            try:
                canvas.apply(
                    "add_task_step", {"module_index": 0, "task_index": 0, "step": {"title": f"S{n}"}}
                )
                result = "ok"
            except CanvasError as exc:
                result = exc.code
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=builder) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcomes.count("ok") == Limits.MAX_STEPS_PER_TASK
    assert outcomes.count("LIMIT") == 30 - Limits.MAX_STEPS_PER_TASK
    assert len(canvas.module(0).tasks[0].steps) == Limits.MAX_STEPS_PER_TASK


def test_canvas_errors_belong_to_the_runtime_hierarchy() -> None:
    error = CanvasError("LIMIT", "too many")
    assert isinstance(error, AgentRuntimeError)
    assert (error.code, error.message, str(error)) == ("LIMIT", "too many", "LIMIT: too many")
