"""The offline planner: router decisions, first-turn outlines, chat edits — applied to a real Canvas."""

from __future__ import annotations

from typing import Any

import pytest

from agent_runtime.canvas import Canvas
from agent_runtime.contract import TOOL_ARGS, ModuleStatus, Phase
from agent_runtime.models.offline import ARCHETYPES, Reply, ToolCall, classify, plan_turn

CLIENT_PROMPT = "Onboard new clients with a kickoff call, document collection and a 30-day review"
BASE_TITLES = [
    "Welcome",
    "Kickoff Meeting",
    "Document Collection",
    "Security Review",
    "Training",
    "30-Day Review",
]


def make_canvas(titles: list[str] = BASE_TITLES, title: str = "Client Onboarding Playbook") -> Canvas:
    canvas = Canvas()
    canvas.apply("set_playbook_outline", {"title": title, "modules": [{"title": t} for t in titles]})
    return canvas


def run(canvas: Canvas, prompt: str) -> list[Reply]:
    """Plan a turn against the canvas and apply every tool call, as the runtime would."""
    snap = canvas.snapshot()
    replies = plan_turn(prompt, snap["canvas"], snap["phase"])
    for reply in replies:
        for tool_call in reply.tool_calls:
            TOOL_ARGS[tool_call.name].model_validate(tool_call.args)
            canvas.apply(tool_call.name, tool_call.args)
    return replies


def calls(replies: list[Reply]) -> list[ToolCall]:
    return [c for r in replies for c in r.tool_calls]


def edit_calls(replies: list[Reply]) -> list[ToolCall]:
    return [c for c in calls(replies) if c.name != "suggest_replies"]


def titles(canvas: Canvas) -> list[str]:
    return [m.title for m in canvas.playbook.modules]


def texts(replies: list[Reply]) -> list[str]:
    return [r.text for r in replies if r.text]


# --- router ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prompt",
    [
        CLIENT_PROMPT,
        "Help me write a runbook for database outages",
        "I need a checklist for new hires",
        "We want to standardise how we close the books every month",
        "Create a process for handling warehouse returns",
        "plan our next product launch",
    ],
)
def test_work_process_requests_go_to_playbooks(prompt: str) -> None:
    decision = classify(prompt)
    assert decision["domain"] == "playbooks"
    assert decision["reply"] is None
    assert prompt.split()[0] in decision["handoff_context"]


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("hi", "Hi!"),
        ("Hello there", "Hi!"),
        ("what's the weather like in Lisbon?", "weather"),
        ("tell me a joke", "jokes"),
        ("What is the capital of France?", "playbook"),
    ],
)
def test_small_talk_gets_a_short_reply_that_steers_back(prompt: str, expected: str) -> None:
    decision = classify(prompt)
    assert decision["domain"] == "general"
    assert expected in decision["reply"]
    assert "playbook" in decision["reply"].lower()
    assert len(decision["reply"]) < 300


# --- first turn -----------------------------------------------------------------------------------


def test_first_turn_follows_the_design_sequence() -> None:
    replies = plan_turn(CLIENT_PROMPT, {}, "empty")

    assert len(replies) == 3
    first, second, last = replies
    assert first.text is None and [c.name for c in first.tool_calls] == ["set_playbook_outline"]
    assert second.text and [c.name for c in second.tool_calls] == ["suggest_replies"]
    assert last == Reply(None, ())
    assert len(texts(replies)) == 1


def test_client_onboarding_prompt_shapes_the_outline() -> None:
    canvas = Canvas()
    replies = run(canvas, CLIENT_PROMPT)
    names = [t.lower() for t in titles(canvas)]

    assert canvas.playbook.title == "Client Onboarding Playbook"
    assert canvas.phase == Phase.OUTLINE
    assert "kickoff call" in names
    assert "document collection" in names
    assert "30-day review" in names
    assert names.index("kickoff call") < names.index("document collection") < names.index("30-day review")
    assert len(names) == len(set(names)) >= 6
    text = texts(replies)[0]
    assert text.startswith("Here's an outline for **Client Onboarding Playbook**")
    assert "1. **" in text and "build it" in text


ARCHETYPE_PROMPTS = {
    "Client Onboarding Playbook": "Onboard new clients smoothly",
    "Employee Onboarding Playbook": "Help new hires get set up in their first week",
    "Incident Response Playbook": "What we do when there's a production outage",
    "Customer Offboarding Playbook": "Offboard customers who cancel their subscription",
    "Vendor Due Diligence Playbook": "Vet a new supplier before we sign",
    "Sales-to-Delivery Handoff Playbook": "Hand off closed-won deals from sales to the delivery team",
    "Quarterly Business Review Playbook": "Run a QBR with our biggest accounts",
    "Product Launch Playbook": "Launch our new mobile app feature",
    "Security Review Playbook": "Do a security review with threat modeling before go-live",
    "Month-End Close Playbook": "Close the books at month end with reconciliations",
    "Employee Offboarding Playbook": "Offboard a departing employee",
    "New-Hire IT Provisioning Playbook": "Get laptops, accounts and access ready for new hires",
    "Data Breach Notification Playbook": "Notify the regulator and customers after a personal data breach",
    "SOC 2 / ISO 27001 Audit Preparation Playbook": "Prepare for our SOC 2 Type II audit",
    "Product Recall Playbook": "Recall a defective batch of our kettles",
    "Data-Center & Cloud Migration Playbook": "Migrate our data center to AWS",
    "Disaster Recovery Test Playbook": "Run our yearly disaster recovery failover test",
    "Change & Release Management Playbook": "Change management for production releases",
    "Vendor Onboarding Playbook": "Onboard a new vendor so we can pay them",
    "Customer Escalation Playbook": "Handle an escalated complaint from an angry customer",
    "Contract Renewal Playbook": "Renew our customer contracts before they expire",
    "RFP Response Playbook": "Respond to a government RFP",
    "Recruiting & Hiring Playbook": "Hiring process for a new engineer, from job description to offer",
    "User Access Review Playbook": "Quarterly user access review for our finance systems",
    "Software Rollout Playbook": "Roll out a new ERP to the finance team",
    "Data Subject Request Playbook": "Answer a DSAR from a former customer",
    "Event Planning Playbook": "Plan our booth at a trade show",
    "Office Relocation Playbook": "Move office to the new building in March",
    "Performance Review Cycle Playbook": "Run this year's performance reviews with calibration",
    "Support Ticket Triage Playbook": "Triage incoming tickets in our service desk",
}


@pytest.mark.parametrize(("title", "prompt"), sorted(ARCHETYPE_PROMPTS.items()))
def test_each_archetype_is_chosen_by_a_natural_prompt(title: str, prompt: str) -> None:
    canvas = Canvas()
    run(canvas, prompt)
    assert canvas.playbook.title == title
    assert 5 <= canvas.module_count <= 12


def test_archetypes_give_different_outlines() -> None:
    outlines = set()
    for prompt in ARCHETYPE_PROMPTS.values():
        canvas = Canvas()
        run(canvas, prompt)
        outlines.add(tuple(titles(canvas)))
    assert len(outlines) == len(ARCHETYPE_PROMPTS) == len(ARCHETYPES)


def test_an_unknown_process_is_outlined_from_its_own_phrases() -> None:
    canvas = Canvas()
    run(
        canvas,
        "Create a playbook for warehouse returns: receive the package, inspect items, "
        "issue refund then restock",
    )
    names = titles(canvas)
    assert canvas.playbook.title == "Warehouse Returns Playbook"
    for phrase in ("Receive the Package", "Inspect Items", "Issue Refund", "Restock"):
        assert phrase in names
    assert names.index("Receive the Package") < names.index("Restock")
    assert names[0] == "Preparation" and names[-1] == "Review & Close"


@pytest.mark.parametrize(
    "prompt",
    [
        "Plan the office move",
        "A playbook for our podcast production",
        "make me a playbook for garden parties",
    ],
)
def test_short_unknown_prompts_still_get_at_least_four_modules(prompt: str) -> None:
    canvas = Canvas()
    run(canvas, prompt)
    assert canvas.module_count >= 4
    assert canvas.playbook.title.endswith("Playbook")


def test_an_empty_request_asks_what_to_build_instead_of_guessing() -> None:
    replies = plan_turn("make me a playbook", {}, "empty")
    assert not edit_calls(replies)
    assert "What process" in texts(replies)[0]


# --- edits ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("add a module about compliance checks", [*BASE_TITLES, "Compliance Checks"]),
        ("Add a module called Legal Review after module 2", ["Welcome", "Kickoff Meeting", "Legal Review"]),
        ("add budget approval before the first module", ["Budget Approval", "Welcome"]),
        ("add handover notes at the start", ["Handover Notes", "Welcome"]),
        ("rename module 2 to Kickoff", ["Welcome", "Kickoff", "Document Collection"]),
        ("call module 2 Kickoff", ["Welcome", "Kickoff", "Document Collection"]),
        ("Rename the second module to Intro Call", ["Welcome", "Intro Call"]),
        (
            "rename the training module to Enablement",
            [
                "Welcome",
                "Kickoff Meeting",
                "Document Collection",
                "Security Review",
                "Enablement",
                "30-Day Review",
            ],
        ),
        ("remove the last module", BASE_TITLES[:-1]),
        ("delete module 3", ["Welcome", "Kickoff Meeting", "Security Review", "Training", "30-Day Review"]),
        ("drop the last module", BASE_TITLES[:-1]),
        (
            "remove the security review module",
            ["Welcome", "Kickoff Meeting", "Document Collection", "Training", "30-Day Review"],
        ),
        ("move module 3 first", ["Document Collection", "Welcome", "Kickoff Meeting", "Security Review"]),
        ("move module 3 to position 1", ["Document Collection", "Welcome", "Kickoff Meeting"]),
        (
            "move the last module up",
            [
                "Welcome",
                "Kickoff Meeting",
                "Document Collection",
                "Security Review",
                "30-Day Review",
                "Training",
            ],
        ),
        (
            "move module 1 after module 3",
            ["Kickoff Meeting", "Document Collection", "Welcome", "Security Review"],
        ),
        ("move module 1 before module 3", ["Kickoff Meeting", "Welcome", "Document Collection"]),
        ("move module 5 after module 2", ["Welcome", "Kickoff Meeting", "Training", "Document Collection"]),
        ("move module 5 before module 2", ["Welcome", "Training", "Kickoff Meeting"]),
        ("move module 2 down", ["Welcome", "Document Collection", "Kickoff Meeting"]),
        (
            "move the kickoff meeting to the end",
            [
                "Welcome",
                "Document Collection",
                "Security Review",
                "Training",
                "30-Day Review",
                "Kickoff Meeting",
            ],
        ),
    ],
)
def test_each_edit_phrase_changes_the_canvas(prompt: str, expected: list[str]) -> None:
    canvas = make_canvas()
    replies = run(canvas, prompt)
    assert titles(canvas)[: len(expected)] == expected
    added = prompt.lower().startswith("add")
    removed = prompt.lower().startswith(("remove", "delete", "drop"))
    assert canvas.module_count == len(BASE_TITLES) + added - removed
    assert len(edit_calls(replies)) == 1


def test_an_edit_turn_is_calls_then_confirmation_with_suggestions_then_end() -> None:
    canvas = make_canvas()
    replies = run(canvas, "add a module about budget approval")
    assert replies[0].text is None
    assert [c.name for c in replies[0].tool_calls] == ["add_module"]
    assert replies[1].text == "Added **Budget Approval** as module 7."
    assert [c.name for c in replies[1].tool_calls] == ["suggest_replies"]
    assert replies[2] == Reply(None, ())


def test_adding_security_review_titles_the_module() -> None:
    canvas = make_canvas(["Welcome", "Kickoff"])
    run(canvas, "add a module about security review")
    assert titles(canvas) == ["Welcome", "Kickoff", "Security Review"]
    assert canvas.module(2).description


def test_rename_the_playbook() -> None:
    canvas = make_canvas()
    run(canvas, "rename the playbook to Client Welcome Program")
    assert canvas.playbook.title == "Client Welcome Program"
    assert titles(canvas) == BASE_TITLES


def test_several_edits_in_one_message_apply_in_order() -> None:
    canvas = make_canvas()
    replies = run(canvas, "rename module 2 to Kickoff and remove the last module")
    assert [c.name for c in edit_calls(replies)] == ["update_module", "remove_module"]
    assert titles(canvas) == ["Welcome", "Kickoff", "Document Collection", "Security Review", "Training"]


def test_numbers_in_one_message_mean_what_the_person_saw() -> None:
    canvas = make_canvas()
    run(canvas, "remove module 1 and rename module 2 to Kickoff, then move module 6 first")
    assert titles(canvas) == [
        "30-Day Review",
        "Kickoff",
        "Document Collection",
        "Security Review",
        "Training",
    ]


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("swap module 1 and 2", ["Kickoff Meeting", "Welcome", "Document Collection"]),
        ("switch the welcome module with the last module", ["30-Day Review", "Kickoff Meeting"]),
    ],
)
def test_swapping_two_modules(prompt: str, expected: list[str]) -> None:
    canvas = make_canvas()
    run(canvas, prompt)
    assert titles(canvas)[: len(expected)] == expected
    assert sorted(titles(canvas)) == sorted(BASE_TITLES)


def test_a_bare_topic_does_not_rename_archetype_modules() -> None:
    canvas = Canvas()
    run(canvas, "Incident response")
    assert canvas.playbook.title == "Incident Response Playbook"
    assert "Incident Response" not in titles(canvas)


def test_removing_several_modules_at_once() -> None:
    canvas = make_canvas()
    run(canvas, "remove modules 2 and 3")
    assert titles(canvas) == ["Welcome", "Security Review", "Training", "30-Day Review"]


@pytest.mark.parametrize(
    "prompt", ["build it", "looks good, build it!", "go ahead", "build the modules", "Build it."]
)
def test_build_requests_build_every_module(prompt: str) -> None:
    canvas = make_canvas()
    replies = run(canvas, prompt)
    assert [(c.name, c.args) for c in edit_calls(replies)] == [("build_modules", {"module_indices": None})]
    assert canvas.phase == Phase.BUILDING
    assert replies[-1].text == "Building 6 modules now — watch them fill in on the canvas."
    assert replies[-1].tool_calls == ()


def test_build_one_module() -> None:
    canvas = make_canvas()
    replies = run(canvas, "build module 2")
    assert edit_calls(replies)[0].args == {"module_indices": [1]}
    assert "Building 1 module now" in replies[-1].text


def test_build_only_counts_modules_not_yet_built() -> None:
    canvas = make_canvas()
    for index in (0, 1):
        canvas.set_module_status(index, ModuleStatus.BUILT)
    replies = run(canvas, "build it")
    assert replies[-1].text.startswith("Building 4 modules now")


def test_no_second_build_while_building() -> None:
    canvas = make_canvas()
    canvas.set_phase(Phase.BUILDING)
    replies = run(canvas, "build it")
    assert edit_calls(replies) == []
    assert "still building" in texts(replies)[0]


@pytest.mark.parametrize(
    "prompt",
    [
        "add a module about payroll",
        "remove the last module",
        "move module 3 first",
        "swap module 1 and 2",
        "start over with an incident response playbook",
    ],
)
def test_structural_edits_wait_while_modules_build(prompt: str) -> None:
    canvas = make_canvas()
    canvas.set_phase(Phase.BUILDING)
    before = canvas.snapshot()
    replies = run(canvas, prompt)
    assert edit_calls(replies) == []
    assert "being built right now" in texts(replies)[0]
    assert replies[-1].tool_calls == ()
    assert canvas.snapshot() == before


def test_renaming_still_works_while_modules_build() -> None:
    canvas = make_canvas()
    canvas.set_phase(Phase.BUILDING)
    replies = run(canvas, "rename module 2 to Kickoff and remove the last module")
    assert [c.name for c in edit_calls(replies)] == ["update_module"]
    assert titles(canvas) == ["Welcome", "Kickoff", *BASE_TITLES[2:]]
    assert "being built right now" in texts(replies)[0]


def test_edits_then_build_in_one_message() -> None:
    canvas = make_canvas()
    replies = run(canvas, "rename module 1 to Hello and build it")
    assert [c.name for c in edit_calls(replies)] == ["update_module", "build_modules"]
    assert titles(canvas)[0] == "Hello"


@pytest.mark.parametrize(
    ("prompt", "title"),
    [
        ("start over with an incident response playbook", "Incident Response Playbook"),
        ("Create a product launch playbook", "Product Launch Playbook"),
        ("Let's do a vendor due diligence process instead", "Vendor Due Diligence Playbook"),
    ],
)
def test_asking_for_a_new_playbook_replaces_the_outline(prompt: str, title: str) -> None:
    canvas = make_canvas()
    replies = run(canvas, prompt)
    assert [c.name for c in edit_calls(replies)] == ["set_playbook_outline"]
    assert canvas.playbook.title == title
    assert "Welcome" not in titles(canvas)


@pytest.mark.parametrize("prompt", ["what's the meaning of life?", "hmm, not sure", "rename"])
def test_something_not_understood_explains_what_it_can_do_and_changes_nothing(prompt: str) -> None:
    canvas = make_canvas()
    before = canvas.snapshot()
    replies = run(canvas, prompt)
    assert edit_calls(replies) == []
    assert "build it" in texts(replies)[0]
    assert [c.name for c in replies[0].tool_calls] == ["suggest_replies"]
    assert replies[-1] == Reply(None, ())
    assert canvas.snapshot() == before


@pytest.mark.parametrize(
    ("prompt", "fragment"),
    [("rename module 9 to X", "no module 9"), ("remove the payroll module", "couldn't find")],
)
def test_a_reference_to_nothing_is_explained(prompt: str, fragment: str) -> None:
    canvas = make_canvas()
    before = canvas.snapshot()
    replies = run(canvas, prompt)
    assert fragment in texts(replies)[0]
    assert canvas.snapshot() == before


def test_the_twenty_first_module_is_not_attempted() -> None:
    canvas = make_canvas([f"Module {i}" for i in range(20)])
    replies = run(canvas, "add a module about payroll")
    assert edit_calls(replies) == []
    assert "at most 20 modules" in texts(replies)[0]


def test_suggested_replies_are_themselves_understood() -> None:
    canvas = Canvas()
    replies = run(canvas, CLIENT_PROMPT)
    chips = replies[1].tool_calls[0].args["replies"]
    assert chips[0] == "Build it"
    for chip in chips[1:]:
        assert edit_calls(run(canvas, chip)), chip


# --- every call valid, deterministic --------------------------------------------------------------

SWEEP = [
    CLIENT_PROMPT,
    *ARCHETYPE_PROMPTS.values(),
    "add a module about security review",
    "add training after module 2",
    "add " + "very long title " * 30,
    "rename module 2 to " + "K" * 300,
    "rename the playbook to " + "P" * 300,
    "remove the last module",
    "move module 3 first",
    "move the last module up",
    "move module 2 down",
    "swap module 1 and 2",
    "move it up",
    "build module 2",
    "build it",
    "looks good, build it!",
    "start over with an incident response playbook",
    "tell me something",
    "rename module 2 to Kickoff and remove the last module and add a module about budget",
    "1. Intake\n2. Triage\n3. Fix\n4. Verify",
    "A; B; C; D; E; F; G; H; I; J; K; L; M; N; O; P; Q; R; S; T; U; V; W",
]


def test_every_planned_call_validates_and_applies_across_a_conversation() -> None:
    for start in (Canvas(), make_canvas(), make_canvas([f"M{i}" for i in range(20)])):
        for prompt in SWEEP:
            replies = run(start, prompt)  # raises on an invalid call
            assert replies[-1].tool_calls == ()
            for reply in replies:
                for tool_call in reply.tool_calls:
                    assert isinstance(tool_call.args, dict)
            if start.phase == Phase.BUILDING:
                for index in range(start.module_count):
                    start.set_module_status(index, ModuleStatus.BUILT)
                start.set_phase(Phase.REFINEMENT)


@pytest.mark.parametrize("prompt", SWEEP)
def test_planning_is_deterministic(prompt: str) -> None:
    canvas: dict[str, Any] = make_canvas().snapshot()["canvas"]
    assert plan_turn(prompt, canvas, "outline") == plan_turn(prompt, canvas, "outline")
    assert plan_turn(prompt, {}, "empty") == plan_turn(prompt, {}, "empty")
    assert classify(prompt) == classify(prompt)
