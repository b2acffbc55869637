"""The bounded self-check of each built module: rules, repair rounds, verdict, stream and trace."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from agent_runtime.agents.checker import CheckRules, check_module
from agent_runtime.contract import ModuleSpec
from agent_runtime.models.offline import ARCHETYPES, plan_module
from agent_runtime.models.offline._outline import build_outline
from agent_runtime.models.offline.repair import fix_tasks
from agent_runtime.models.scripted import ScriptedModel, Step
from tests.support.agents_config import agents_config_with, agents_config_without_mcp
from tests.support.sse import Frame, check_stream, custom, tool_calls
from tests.unit.agent_runtime.conftest import SID, ScriptedModels

OUTLINE = {
    "title": "Client Onboarding",
    "description": "From contract to first value.",
    "modules": [{"title": "Kickoff meeting", "description": "Meet the client and agree the plan."}],
}
GOOD_TASKS = [
    {
        "title": "Schedule the kickoff meeting",
        "steps": [{"title": "Invite the client team"}, {"title": "Send the agenda"}],
    },
    {"title": "Run the kickoff meeting", "steps": [{"title": "Agree the plan with the client"}]},
]
BAD_TASKS = [
    {"title": "Schedule the kickoff meeting", "steps": [{"title": "Invite the client team"}]},
    {"title": "Schedule the kickoff meeting", "steps": [{"title": "The agenda"}]},
]


def _module(tasks: list[dict[str, Any]], title: str = "Kickoff meeting", description: str = "") -> ModuleSpec:
    return ModuleSpec.model_validate({"title": title, "description": description, "tasks": tasks})


# ------------------------------------------------------------------ the rules


def test_a_good_module_passes() -> None:
    assert check_module(_module(GOOD_TASKS), CheckRules()) == []


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        ([GOOD_TASKS[0]], "the module has 1 task(s); it needs at least 2"),
        ([GOOD_TASKS[0], {"title": "Run the kickoff", "steps": []}], "has 0 step(s); it needs at least 1"),
        (
            [GOOD_TASKS[0], {**GOOD_TASKS[0]}],
            "task 2 ('Schedule the kickoff meeting') duplicates the title of task 1",
        ),
        (
            [GOOD_TASKS[0], {"title": "TBD", "steps": [{"title": "Do it"}]}],
            "task 2 has an empty or placeholder title",
        ),
        (
            [GOOD_TASKS[0], {"title": "Run the kickoff", "steps": [{"title": "The agenda"}]}],
            "step 1 ('The agenda') is not phrased as an action",
        ),
        (
            [GOOD_TASKS[0], {"title": "Run the kickoff", "steps": [{"title": "Documentation of decisions"}]}],
            "is not phrased as an action",
        ),
        (
            [GOOD_TASKS[0], {"title": "Run it", "steps": [{"title": "Do it"}, {"title": "do it"}]}],
            "step 2 repeats an earlier step of the same task",
        ),
    ],
)
def test_each_rule_finds_its_problem(tasks: list[dict[str, Any]], expected: str) -> None:
    findings = check_module(_module(tasks), CheckRules())
    assert any(expected in f for f in findings), findings


def test_tasks_unrelated_to_the_module_are_found() -> None:
    module = _module(
        [{"title": "Order office chairs", "steps": [{"title": "Compare prices"}]}] * 1
        + [{"title": "Book a venue", "steps": [{"title": "Call venues"}]}],
        title="Security review",
        description="Check access rights and encryption.",
    )
    assert any("no task mentions what the module is about" in f for f in check_module(module, CheckRules()))


def test_a_module_drawn_from_a_document_keeps_its_shape_and_wording() -> None:
    # One task, no sub-items, a noun phrase: the attached document's own content is not "repaired".
    module = _module(
        [{"title": "Kickoff call agenda", "steps": []}], title="Welcome", description="Say hello."
    )
    rules = CheckRules()
    assert check_module(module, rules) != []
    assert check_module(module, rules.for_document()) == []
    duplicate = _module([{"title": "Agenda", "steps": []}, {"title": "agenda", "steps": []}])
    assert any("duplicates the title" in f for f in check_module(duplicate, rules.for_document()))


def test_limits_come_from_configuration() -> None:
    rules = CheckRules(min_tasks=1, max_tasks=1, max_steps_per_task=1, action_steps=False)
    findings = check_module(_module(GOOD_TASKS), rules)
    assert "the module has 2 tasks; keep it to at most 1" in findings
    assert any("has 2 steps; keep it to at most 1" in f for f in findings)


def _offline_modules() -> list[ModuleSpec]:
    modules = []
    for archetype in ARCHETYPES:
        args = build_outline(archetype.title).args()
        for index, module in enumerate(args["modules"]):
            tasks: list[dict[str, Any]] = []
            for reply in plan_module(args["title"], args["description"], {**module, "tasks": []}, index):
                for call in reply.tool_calls:
                    if call.name == "add_tasks":
                        tasks += [dict(t, steps=list(t.get("steps", []))) for t in call.args["tasks"]]
                    elif call.name == "add_task_step":
                        tasks[call.args["task_index"]]["steps"].append(call.args["step"])
            modules.append(ModuleSpec.model_validate({**module, "tasks": tasks}))
    return modules


def test_every_offline_module_passes_or_is_repaired_by_the_offline_builder() -> None:
    rules = CheckRules()
    modules = _offline_modules()
    failing = [m for m in modules if check_module(m, rules)]
    assert len(failing) <= len(modules) // 10, [m.title for m in failing]  # the demo rarely repairs
    for module in failing:
        fixed = _module(fix_tasks(module.model_dump(mode="json")), module.title, module.description)
        assert check_module(fixed, rules) == [], module.title


# ------------------------------------------------------------------ the loop in a build


def _watch_from(harness: Any, turn: list[Frame]) -> list[Frame]:
    after = [f.id for f in turn if f.type == "STATE_SNAPSHOT"][-1]
    frames = harness.action("watch", last_event_id=after)
    check_stream(frames)
    return frames


RELEASE = threading.Event()
"""Holds each scripted builder's first call until the "build it" turn has closed, so the watch
(from that turn's snapshot) sees every builder event."""


def _build(harness: Any) -> tuple[list[Frame], dict[str, Any]]:
    RELEASE.clear()
    harness.chat("Onboard new clients")
    turn = harness.chat("build it")
    RELEASE.set()
    watch = _watch_from(harness, turn)
    snapshot = [f.event["snapshot"] for f in watch if f.type == "STATE_SNAPSHOT"][-1]
    return watch, snapshot["canvas"]["modules"][0]


# The scripted tests run without a session store: a watch opened as a build ends may otherwise
# find the stored session a revision ahead for a moment and reload it, asking for a new
# orchestrator model that no script has.


def _models(builder: ScriptedModel) -> ScriptedModels:
    router = ScriptedModel(
        [Step(tool_calls=(("RouterDecision", {"domain": "playbooks", "handoff_context": "onboarding"}),))]
    )
    orchestrator = ScriptedModel(
        [
            Step(tool_calls=(("set_playbook_outline", OUTLINE),)),
            Step(),
            Step(tool_calls=(("build_modules", {}),)),
            Step(text="Building."),
        ]
    )
    return ScriptedModels({"router": [router], "orchestrator": [orchestrator], "builder": [builder]})


def _repair_prompt_names(*phrases: str) -> Any:
    def check(messages: Any, tools: Any, system_prompt: Any) -> None:
        prompt = messages[-1]["content"][0]["text"]
        assert prompt.startswith("Self-check of module_index 0 (Kickoff meeting) found problems:")
        for phrase in phrases:
            assert phrase in prompt
        assert "set_module_tasks" in [t["name"] for t in tools]

    return check


def test_a_first_output_that_breaks_a_rule_is_repaired(make_harness: Any, tmp_path: Path) -> None:
    builder = ScriptedModel(
        [
            Step(tool_calls=(("add_tasks", {"module_index": 0, "tasks": BAD_TASKS}),), until=RELEASE),
            Step(text="Done."),
            Step(
                tool_calls=(("set_module_tasks", {"module_index": 0, "tasks": GOOD_TASKS}),),
                check=_repair_prompt_names("duplicates the title of task 1", "'The agenda') is not phrased"),
            ),
            Step(text="Fixed."),
        ]
    )
    models = _models(builder)
    harness = make_harness(
        models, AGENTS_CONFIG=str(agents_config_without_mcp(tmp_path)), SESSION_STORE="none"
    )
    watch, module = _build(harness)

    checks = custom(watch, "module.check")
    assert [(c["round"], c["passed"], c["repairing"]) for c in checks] == [(0, False, True), (1, True, False)]
    assert [name for name, _ in tool_calls(watch)] == ["add_tasks", "set_module_tasks"]
    assert module["status"] == "built"
    assert module["reason"].startswith("Self-check repaired 2 finding(s) in 1 round:")
    assert [t["title"] for t in module["tasks"]] == [
        "Schedule the kickoff meeting",
        "Run the kickoff meeting",
    ]
    statuses = [c["status"] for c in custom(watch, "module.status")]
    assert statuses[-1] == "built"
    models.assert_complete()


def test_a_module_still_failing_after_k_rounds_is_built_with_warnings(
    make_harness: Any, tmp_path: Path
) -> None:
    def one_round(data: dict[str, Any]) -> None:
        data.pop("mcp_servers")
        for agent in data["agents"]:
            agent.pop("mcp_servers", None)
            if agent["name"] == "module_builder":
                agent["self_check"]["max_repair_rounds"] = 1

    builder = ScriptedModel(
        [
            Step(tool_calls=(("add_tasks", {"module_index": 0, "tasks": BAD_TASKS}),), until=RELEASE),
            Step(text="Done."),
            Step(tool_calls=(("set_module_tasks", {"module_index": 0, "tasks": BAD_TASKS[:1]}),)),
            Step(text="Fixed?"),
        ]
    )
    models = _models(builder)
    harness = make_harness(
        models, AGENTS_CONFIG=str(agents_config_with(tmp_path, one_round)), SESSION_STORE="none"
    )
    watch, module = _build(harness)

    checks = custom(watch, "module.check")
    assert [(c["round"], c["passed"], c["repairing"]) for c in checks] == [
        (0, False, True),
        (1, False, False),
    ]
    assert checks[-1]["findings"] == ["the module has 1 task(s); it needs at least 2"]
    assert module["status"] == "built_with_warnings"
    assert module["reason"] == "Self-check warnings: the module has 1 task(s); it needs at least 2"
    assert custom(watch, "module.status")[-1] == {
        "module_index": 0,
        "status": "built_with_warnings",
        "reason": module["reason"],
    }
    assert custom(watch, "build.progress")[-1] == {"built": 1, "failed": 0, "total": 1}
    models.assert_complete()  # exactly K = 1 repair round: no further model call


def test_the_offline_builder_repairs_its_flawed_first_draft(make_harness: Any, tmp_path: Path) -> None:
    harness = make_harness(
        None,
        AGENTS_CONFIG=str(agents_config_without_mcp(tmp_path)),
        OFFLINE_MODEL_FLAWS="builder_first_draft",
        APPROVAL_RULES="none",
    )
    harness.chat("Onboard new clients with a kickoff call, document collection and a 30-day review")
    harness.chat("build it")
    watch = harness.action(
        "watch", last_event_id=0
    )  # the whole build log: builders may start before the turn ends
    check_stream(watch)
    modules = [f.event["snapshot"] for f in watch if f.type == "STATE_SNAPSHOT"][-1]["canvas"]["modules"]
    checks = custom(watch, "module.check")
    assert {c["module_index"] for c in checks if not c["passed"]} == set(range(len(modules)))
    assert all(any("duplicates the title" in f for f in c["findings"]) for c in checks if c["round"] == 0)
    assert [n for n, _ in tool_calls(watch)].count("set_module_tasks") == len(modules)
    for module in modules:
        assert module["status"] == "built", module
        assert module["reason"].startswith("Self-check repaired"), module
        titles = [t["title"].lower() for t in module["tasks"]]
        assert len(titles) == len(set(titles))


def test_the_check_runs_in_the_builders_trace(make_harness: Any, tmp_path: Path) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agent_runtime.agents import selfcheck

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    original = selfcheck._tracer
    selfcheck._tracer = provider.get_tracer("test")
    try:
        builder = ScriptedModel(
            [
                Step(tool_calls=(("add_tasks", {"module_index": 0, "tasks": GOOD_TASKS}),), until=RELEASE),
                Step(text="Done."),
            ]
        )
        harness = make_harness(
            _models(builder), AGENTS_CONFIG=str(agents_config_without_mcp(tmp_path)), SESSION_STORE="none"
        )
        _build(harness)
    finally:
        selfcheck._tracer = original
    spans = [s for s in exporter.get_finished_spans() if s.name == "module_self_check"]
    assert len(spans) == 1
    attributes = dict(spans[0].attributes or {})
    assert attributes["playbook.check.passed"] is True and attributes["playbook.check.findings"] == 0
    assert attributes["session.id"] == SID and attributes["agent_type"] == "builder"
