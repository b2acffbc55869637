"""The offline demo's archetypes: data files with a schema, chosen by a scored match on realistic
prompts, specific modules and tasks, corrections that re-plan, and no refusal of a business process."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent_runtime.canvas import Canvas
from agent_runtime.contract import TOOL_ARGS
from agent_runtime.models.offline import classify, plan_module, plan_turn
from agent_runtime.models.offline._types import Reply
from agent_runtime.models.offline.archetypes import (
    ARCHETYPES,
    DATA_DIR,
    ArchetypeFile,
    choose_archetype,
    get,
    load_archetypes,
    score_archetypes,
)


def run(canvas: Canvas, prompt: str) -> list[Reply]:
    snap = canvas.snapshot()
    replies = plan_turn(prompt, snap["canvas"], snap["phase"])
    for reply in replies:
        for tool_call in reply.tool_calls:
            TOOL_ARGS[tool_call.name].model_validate(tool_call.args)
            canvas.apply(tool_call.name, tool_call.args)
    return replies


def outline(prompt: str) -> tuple[str, list[str]]:
    canvas = Canvas()
    run(canvas, prompt)
    return canvas.playbook.title, [m.title for m in canvas.playbook.modules]


# --- the data ---------------------------------------------------------------------------------


def test_there_are_at_least_24_archetypes_each_in_its_own_valid_file() -> None:
    files = sorted(DATA_DIR.glob("*.yaml"))
    assert len(files) == len(ARCHETYPES) >= 24
    for path in files:
        data = ArchetypeFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        assert path.stem.split("_", 1)[1] == data.key, "file named after its key"
        titles = [m.title.lower() for m in data.modules]
        assert len(titles) == len(set(titles)), f"{path.name}: duplicate module titles"
        assert all(k == k.lower() for k in data.keywords), f"{path.name}: keywords are matched lower-case"
        assert sum(w for w in data.keywords.values() if w > 0) >= 10, f"{path.name}: too few keywords"


def test_the_python_modules_hold_no_archetype_content() -> None:
    folder = Path(DATA_DIR).parent
    assert not list(folder.glob("_library*.py"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("key: Bad Key\n", "key"),
        ("{{{", "not valid"),
    ],
)
def test_a_broken_file_is_refused_naming_the_file(tmp_path: Path, content: str, message: str) -> None:
    good = sorted(DATA_DIR.glob("*.yaml"))[0]
    (tmp_path / good.name).write_text(good.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "99_broken.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="99_broken.yaml"):
        load_archetypes(tmp_path)


def test_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    good = sorted(DATA_DIR.glob("*.yaml"))[0]
    for name in ("01_a.yaml", "02_b.yaml"):
        (tmp_path / name).write_text(good.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate archetype key"):
        load_archetypes(tmp_path)


# --- choosing an archetype: realistic prompts -------------------------------------------------

PROMPTS = {
    "client_onboarding": [
        "Onboard new clients with a kickoff call and a 30-day review",
        "Welcome process for new accounts",
    ],
    "employee_onboarding": [
        "Help new hires get set up in their first week",
        "Orientation plan for new staff",
    ],
    "incident_response": [
        "What we do when there's a production outage",
        "On-call incident process with postmortems",
    ],
    "customer_offboarding": [
        "Offboard customers who cancel their subscription",
        "Handle churned clients at end of contract",
    ],
    "vendor_due_diligence": ["Vet a new supplier before we sign", "Third-party risk assessment for vendors"],
    "sales_to_delivery_handoff": [
        "Hand off closed-won deals to delivery",
        "Sales handover to the project team",
    ],
    "quarterly_business_review": ["Run a QBR with our biggest accounts", "Quarterly business review prep"],
    "product_launch": ["Launch our new mobile app feature", "Go-to-market plan for the new product"],
    "security_review": [
        "Security review with threat modeling before go-live",
        "Pentest and appsec review of our API",
    ],
    "month_end_close": ["Close the books at month end", "Monthly financial close with reconciliations"],
    "employee_offboarding": [
        "Offboard a departing employee",
        "HR offboarding checklist for leavers",
        "What to do when someone resigns: last day, equipment, final pay",
    ],
    "new_hire_it_provisioning": [
        "New-hire IT provisioning",
        "Set up laptops and accounts for new hires before day one",
    ],
    "data_breach_notification": [
        "GDPR data breach notification process",
        "We leaked customer personal data — who do we notify and by when?",
        "Data breach response under state breach laws",
    ],
    "compliance_audit_preparation": [
        "SOC 2 audit preparation",
        "Get ready for ISO 27001 certification",
        "Collect evidence for our SOC2 Type II auditor",
    ],
    "product_recall": ["Handle a product recall", "Recall a contaminated batch of snacks from retailers"],
    "cloud_migration": ["Migrate our data center to AWS", "Lift and shift our on-prem servers to Azure"],
    "disaster_recovery_test": [
        "Run a disaster recovery test",
        "Annual DR failover drill against our RTO and RPO",
    ],
    "change_release_management": [
        "Change and release management process",
        "How we approve production changes at CAB",
    ],
    "vendor_onboarding": [
        "Onboard a new vendor",
        "Supplier onboarding: W-9, bank details, vendor master setup",
    ],
    "customer_escalation": ["Customer escalation process", "Handle complaints from an angry VIP customer"],
    "contract_renewal": ["Contract renewal process", "Renew our SaaS subscriptions before they auto-renew"],
    "rfp_response": ["Respond to an RFP", "Bid process for a government tender"],
    "recruiting_hiring": [
        "Hiring process for a new engineer",
        "Recruit candidates from job posting to offer letter",
    ],
    "access_review": ["Quarterly user access review", "Recertify who has access to the finance systems"],
    "software_rollout": ["Roll out a new CRM to the sales team", "Migrate from Salesforce to HubSpot"],
    "event_planning": ["Organise the company offsite", "Plan our annual customer conference"],
    "office_relocation": ["Plan our office move to a new building", "Relocate our London office"],
    "performance_review": ["Annual performance review cycle", "Run the mid-year appraisals"],
    "support_ticket_triage": ["Support ticket triage process", "How our help desk handles incoming requests"],
    "data_subject_request": [
        "Respond to a GDPR data subject access request",
        "Handle a customer's right to be forgotten request",
    ],
}


def test_every_archetype_has_realistic_prompts_here() -> None:
    assert set(PROMPTS) == {a.key for a in ARCHETYPES}


@pytest.mark.parametrize(
    ("key", "prompt"), [(key, prompt) for key, prompts in sorted(PROMPTS.items()) for prompt in prompts]
)
def test_a_realistic_prompt_picks_its_archetype(key: str, prompt: str) -> None:
    chosen = choose_archetype(prompt)
    assert chosen is not None and chosen.key == key, score_archetypes(prompt)[:3]
    title, modules = outline(prompt)
    assert title == get(key).title
    own = {m.title for m in get(key).modules}
    assert len(own & set(modules)) >= len(own) - 2, "its own modules (a prompt item may rename one)"


def test_the_score_weighs_all_words_not_the_first_keyword() -> None:
    # "offboard" alone points at customers; "employee" tips the whole prompt the other way.
    assert choose_archetype("Offboard customers").key == "customer_offboarding"  # type: ignore[union-attr]
    assert choose_archetype("Offboard a departing employee").key == "employee_offboarding"  # type: ignore[union-attr]
    assert choose_archetype("Product launch").key == "product_launch"  # type: ignore[union-attr]
    assert choose_archetype("Product recall").key == "product_recall"  # type: ignore[union-attr]


# --- the outlines the issue found wrong -------------------------------------------------------


def test_offboarding_a_departing_employee_is_about_the_employee() -> None:
    title, modules = outline("Offboard a departing employee")
    assert title == "Employee Offboarding Playbook"
    assert {"Access Revocation", "Equipment Return", "Final Pay & Benefits"} <= set(modules)


def test_an_hr_offboarding_checklist_is_not_onboarding() -> None:
    title, _ = outline("HR offboarding checklist")
    assert title == "Employee Offboarding Playbook"


def test_a_gdpr_breach_gets_the_72_hour_regulator_notice_data_subjects_and_the_dpo() -> None:
    title, modules = outline("GDPR data-breach notification playbook")
    assert title == "Data Breach Notification Playbook"
    assert "Regulator Notification (72 Hours)" in modules and "Data-Subject Notification" in modules
    dpo = [t for m in get("data_breach_notification").modules for t in m.tasks if "DPO" in " ".join(t.steps)]
    assert dpo, "the DPO is named in the tasks"


def test_a_product_recall_is_planned_not_refused() -> None:
    assert classify("We need to recall a product")["domain"] == "playbooks"
    title, modules = outline("We need to recall a product")
    assert title == "Product Recall Playbook" and "Regulator Notification" in modules


def test_soc2_preparation_is_audit_preparation_not_a_security_review() -> None:
    title, modules = outline("SOC 2 audit preparation")
    assert title.startswith("SOC 2 / ISO 27001") and "Evidence Collection" in modules


@pytest.mark.parametrize("key", sorted(PROMPTS))
def test_each_archetype_builds_its_own_tasks(key: str) -> None:
    archetype = get(key)
    for index, template in enumerate(archetype.modules):
        module = {"title": template.title, "description": template.description, "tasks": []}
        replies = plan_module(archetype.title, archetype.description, module, index)
        added = [c.args for r in replies for c in r.tool_calls if c.name == "add_tasks"]
        assert added, f"{key}: module {template.title!r} got no tasks"
        titles = [t["title"] for t in added[0]["tasks"]]
        assert titles == [t.title for t in template.tasks], (key, template.title)


# --- corrections ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "correction", "expected"),
    [
        ("Offboard customers who leave", "No, I meant an employee", "Employee Offboarding Playbook"),
        ("Offboarding checklist", "not customers, employees", "Employee Offboarding Playbook"),
        ("Offboarding process", "employees, not customers", "Employee Offboarding Playbook"),
        ("Plan our next launch", "no, I meant a product recall", "Product Recall Playbook"),
        ("Onboard new clients smoothly", "I meant employees", "Employee Onboarding Playbook"),
        ("Onboard new clients smoothly", "No, vendors", "Vendor Onboarding Playbook"),
    ],
)
def test_a_correction_re_plans_the_outline(first: str, correction: str, expected: str) -> None:
    canvas = Canvas()
    run(canvas, first)
    assert canvas.playbook.title != expected
    replies = run(canvas, correction)
    assert canvas.playbook.title == expected
    assert [c.name for r in replies for c in r.tool_calls][0] == "set_playbook_outline"
    assert "Got it" in next(r.text for r in replies if r.text)


@pytest.mark.parametrize("reply", ["no thanks", "not yet", "no, rename module 2 to Kickoff", "Thanks!"])
def test_other_replies_are_not_corrections(reply: str) -> None:
    canvas = Canvas()
    run(canvas, "Onboard new clients with a kickoff call")
    run(canvas, reply)
    assert canvas.playbook.title == "Client Onboarding Playbook"


def test_a_correction_while_building_is_refused_politely() -> None:
    canvas = Canvas()
    run(canvas, "Offboard customers who leave")
    snap = canvas.snapshot()
    replies = plan_turn("No, I meant an employee", snap["canvas"], "building")
    assert all(c.name != "set_playbook_outline" for r in replies for c in r.tool_calls)


# --- anything else: an outline from the prompt's own words, never a refusal -------------------


@pytest.mark.parametrize(
    ("prompt", "expected_module"),
    [
        ("Run payroll each month", "Run the Payroll"),
        ("Shut down a product line", "Shut Down the Product Line"),
        ("Open a new retail store", "Open the Retail Store"),
        ("Close a regional branch", "Close the Regional Branch"),
        ("Plan our annual warehouse inventory count", "Scope the Annual Warehouse Inventory Count"),
    ],
)
def test_an_unknown_process_gets_an_outline_in_its_own_words(prompt: str, expected_module: str) -> None:
    assert classify(prompt)["domain"] == "playbooks"
    assert choose_archetype(prompt) is None
    _, modules = outline(prompt)
    assert expected_module in modules
    assert len(modules) >= 5


@pytest.mark.parametrize(
    ("prompt", "title"),
    [
        ("We need a process for handling a ransomware attack", "Incident Response Playbook"),
        ("Quarter-end close", "Month-End Close Playbook"),
        ("Onboard a contractor", "Employee Onboarding Playbook"),
    ],
)
def test_near_misses_land_on_the_archetype_that_fits(prompt: str, title: str) -> None:
    assert outline(prompt)[0] == title


@pytest.mark.parametrize(
    "prompt",
    [
        "Prepare for our annual external financial audit",  # not SOC 2
        "Vendor offboarding when we stop using a supplier",  # not customers, not employees, not due diligence
        "Process to approve new software purchases",  # not a software rollout
    ],
)
def test_a_prompt_no_archetype_fits_gets_its_own_outline(prompt: str) -> None:
    assert choose_archetype(prompt) is None
    title, modules = outline(prompt)
    assert len(modules) >= 5 and title.endswith("Playbook")


@pytest.mark.parametrize(
    "prompt",
    ["Merger integration for an acquired company", "Pen test remediation", "Deal with a failed payroll run"],
)
def test_a_business_process_is_never_refused(prompt: str) -> None:
    assert classify(prompt)["domain"] == "playbooks"
    title, modules = outline(prompt)
    assert title != "Deal Playbook" and len(modules) >= 5


def test_a_question_in_the_prompt_is_not_a_module() -> None:
    _, modules = outline("An employee is leaving the company next Friday, what do we do?")
    assert not any("what" in m.lower() for m in modules)


@pytest.mark.parametrize("prompt", ["hi", "tell me a joke", "What is the capital of France?", "thanks!"])
def test_small_talk_is_still_small_talk(prompt: str) -> None:
    assert classify(prompt)["domain"] == "general"
