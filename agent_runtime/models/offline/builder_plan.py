"""What a module builder does offline: the tasks and steps for one module.

A module that came from the archetype library gets that module's hand-written tasks. Any other
module (from the prompt's own phrases or a chat edit) gets verb-based templates chosen by the kind
of work its title names (a meeting, a review, collecting documents, setting up systems, …).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent_runtime.contract import Limits, ToolName

from ._text import clip, significant, words
from ._types import Reply, call
from .archetypes import TaskTemplate, find_module_template

__all__ = ["describe_module", "module_tasks", "plan_module"]

_ACRONYM_MAX = 5


@dataclass(frozen=True)
class _Kind:
    """A kind of work: the words that name it, a module description and task templates."""

    name: str
    stems: frozenset[str]
    description: str
    tasks: tuple[str, ...]  # "title | description | step; step" with {t} for the module, inline


def _kind(name: str, stems: str, description: str, *tasks: str) -> _Kind:
    return _Kind(name, frozenset(stems.split()), description, tasks)


_KINDS: tuple[_Kind, ...] = (
    _kind(
        "meeting",
        "kickoff kick-off meeting call workshop session demo presentation interview standup sync",
        "Hold a focused {t} with the right people and turn it into agreed actions.",
        "Schedule the {t} | Find a time that works for everyone who needs to be there."
        " | Identify the attendees; Send the invite with an agenda; Share pre-reading in advance",
        "Run the {t} | Keep it focused on decisions and next steps."
        " | Walk through the agenda; Capture decisions and open questions; Agree an owner for each action",
        "Follow up on the {t} | Put what was agreed in writing."
        " | Send notes within 24 hours; Log the actions in the tracker",
    ),
    _kind(
        "review",
        "review retro retrospective check-in checkin audit assessment evaluation debrief "
        "close closure wrap lesson feedback survey report reporting",
        "Run the {t}: check results against the goals, record findings and agree follow-ups.",
        "Prepare the {t} | Bring facts, not impressions."
        " | Gather the metrics and evidence; List open issues and risks; Draft the agenda",
        "Hold the {t} | Compare what happened with what was planned."
        " | Walk through results against goals; Capture feedback from everyone involved;"
        " Agree the improvements to make",
        "Record the outcomes | Make every lesson someone's job."
        " | Write up findings and decisions; Assign owners and dates to follow-ups; Share the summary",
    ),
    _kind(
        "collect",
        "document collection collect intake gather paperwork form data information "
        "evidence request questionnaire",
        "Gather everything needed, check it is complete and store it safely.",
        "Request the {t} | Say exactly what is needed and by when."
        " | List what is needed and why; Send the request with a due date; Share a secure upload link",
        "Check what arrives | Catch gaps early."
        " | Verify each item is complete and current; Chase missing items",
        "File and track | Keep it findable and access-controlled."
        " | Store items in the agreed location; Restrict access to those who need it;"
        " Mark the checklist complete",
    ),
    _kind(
        "setup",
        "setup set-up set configur install provision access account system tool environment space "
        "equipment workspace integration permission",
        "Set up the tools, accounts and access needed, and prove they work.",
        "Plan the {t} | Know what must be ready, for whom and by when."
        " | List what must be set up and for whom; Confirm owners and deadlines",
        "Carry out the {t} | Configure everything once, properly."
        " | Configure each item; Apply the right permissions; Document the configuration",
        "Verify the {t} | Test it the way real users will use it."
        " | Test it end to end with a real user; Fix gaps and confirm in writing",
    ),
    _kind(
        "training",
        "train learn enablement education coach orientation induction tutorial",
        "Give people the knowledge and practice they need to do the work well.",
        "Plan the {t} | Match content to each audience."
        " | Identify who needs what; Prepare materials and examples; Schedule the sessions",
        "Deliver the {t} | Make it practical."
        " | Run the session with hands-on exercises; Record it and share the materials",
        "Check understanding | Confirm people can apply what they learned."
        " | Observe a first piece of real work; Follow up on gaps",
    ),
    _kind(
        "communication",
        "communicat announce announcement notify notification update email message "
        "stakeholder newsletter outreach comm press",
        "Tell the right people the right thing at the right time.",
        "Plan the {t} | Decide who needs to know what."
        " | Identify the audiences; Draft the key messages; Pick channels and timing",
        "Send the {t} | Get it approved and out on time. | Get the message approved; Send and publish it",
        "Handle responses | Close the loop with the audience."
        " | Monitor replies and questions; Answer them promptly; Log feedback",
    ),
    _kind(
        "approval",
        "approv sign-off signoff authoriz decision legal contract compliance policy permit",
        "Get the right decision from the right people and record it.",
        "Prepare the approval pack | Give approvers what they need to decide."
        " | Summarise the request, costs and risks; Attach supporting documents",
        "Route for {t} | Ask the right approvers in the right order."
        " | Send to approvers with a deadline; Answer their questions",
        "Record the decision | Keep an audit trail."
        " | Record the decision and any conditions; Tell everyone affected",
    ),
    _kind(
        "launch",
        "launch go-live release rollout roll-out deploy deployment ship cutover",
        "Go live in a controlled way and watch the results closely.",
        "Confirm readiness | Decide go or no-go on agreed criteria."
        " | Run the readiness checklist; Hold the go/no-go decision",
        "Carry out the {t} | Follow the plan step by step."
        " | Execute the launch steps in order; Announce that it is live",
        "Monitor after the {t} | Catch problems before users do."
        " | Watch the key metrics; Respond to issues quickly; Share an early results update",
    ),
    _kind(
        "handoff",
        "handoff hand-off handover transition transfer offboard",
        "Transfer ownership cleanly so nothing is lost in between.",
        "Prepare the {t} notes | Write down what the next owner needs."
        " | Summarise status, open items and contacts; Attach key documents",
        "Hold the {t} meeting | Let the next owner ask questions."
        " | Walk through the notes; Resolve open questions",
        "Confirm ownership | Make the change of owner official."
        " | Update the owner in every system; Tell stakeholders who to contact now",
    ),
    _kind(
        "quality",
        "test testing qa quality inspect inspection verify verification validat check",
        "Check the work meets the agreed standard before it moves on.",
        "Define acceptance criteria | Agree what good looks like."
        " | Write down the criteria; Agree them with the owner",
        "Run the {t} | Check against the criteria, not against memory."
        " | Run each check and record the result; Log any defects",
        "Fix and retest | Close every defect. | Fix the defects; Retest and record sign-off",
    ),
    _kind(
        "money",
        "invoice billing payment refund pay budget cost expense payroll pricing quote",
        "Get the numbers right and every payment recorded.",
        "Calculate the amounts | Base every figure on the contract or policy."
        " | Gather rates and quantities; Calculate the amounts; Have a second person check them",
        "Issue and record | Make every transaction traceable."
        " | Issue the invoice or payment; Record it in the finance system",
        "Reconcile | Confirm money moved as expected."
        " | Match payments to records; Follow up on anything outstanding",
    ),
    _kind(
        "planning",
        "plan planning strategy scope scoping goal objective preparation prep prepare design "
        "requirement roadmap kickoff",
        "Agree goals, scope, owners and timeline before work starts.",
        "Define goals and scope | Be clear about what is in and out."
        " | Write down the goals and success measures; List what is in and out of scope",
        "Build the plan | Turn goals into owned, dated work."
        " | Break the work into milestones; Assign an owner to each; Identify risks and dependencies",
        "Confirm the plan | Get agreement before starting."
        " | Review the plan with stakeholders; Share the final version",
    ),
)

_DEFAULT = _kind(
    "execution",
    "",
    "Carry out the {t} work with a clear owner, checklist and finish line.",
    "Plan the {t} | Know what done looks like before starting."
    " | Define what done looks like; Agree the owner and deadline",
    "Carry out the {t} | Work through it and keep it visible."
    " | Work through the checklist; Record progress and blockers; Escalate blockers early",
    "Confirm the {t} is complete | Close it out properly."
    " | Check the result against the goal; Share the outcome with stakeholders",
)


_VERBS = frozenset(
    "accept agree align analyse analyze announce approve archive assess assign audit book brief calculate "
    "celebrate choose clean collect communicate complete configure confirm connect create decide define "
    "deliver deploy distribute escalate estimate evaluate finalise finalize fix follow gather get give hand "
    "handle hire identify implement inform inspect install interview invite issue make measure meet migrate "
    "monitor negotiate notify onboard offboard organise organize pack pay prepare present provision publish "
    "receive reconcile recruit register remove renew repair replace request research resolve restock "
    "screen select send share ship sign source submit train update upload validate verify write".split()
)
_NOUN_OR_VERB = frozenset(
    "review plan test process welcome return record report survey check launch release design map order "
    "email invoice refund transfer schedule track hold move pick set close log build draft run kick "
    "document contact".split()
)
_AFTER_VERB = frozenset("the a an all our their your each every new up out off in any".split())


def _verb_led(title: str) -> bool:
    """Whether a title is an instruction ("Configure the CRM") rather than a name ("Review Meeting")."""
    parts = title.lower().split()
    if not parts:
        return False
    if parts[0] in _VERBS:
        return True
    return parts[0] in _NOUN_OR_VERB and len(parts) > 1 and parts[1] in _AFTER_VERB


def _sentence(title: str) -> str:
    inline = _inline(title)
    return inline[:1].upper() + inline[1:]


def _inline(title: str) -> str:
    """A title as it reads inside a sentence: "30-Day Review" → "30-day review", "QBR Prep" → "QBR prep"."""
    return " ".join("-".join(_inline_part(p) for p in word.split("-")) for word in title.split())


def _inline_part(part: str) -> str:
    letters = [c for c in part if c.isalpha()]
    acronym = len(letters) > 1 and part.isupper() and len(part) <= _ACRONYM_MAX
    return part if acronym else part.lower()


def _kind_for(title: str, description: str = "") -> _Kind:
    title_stems = significant(title) | set(words(title))
    desc_stems = significant(description)
    best, best_score = _DEFAULT, 0
    for kind in _KINDS:
        score = 0
        for stem in kind.stems:
            if any(w.startswith(stem) for w in title_stems):
                score += 2
            if any(w.startswith(stem) for w in desc_stems):
                score += 1
        if score > best_score:
            best, best_score = kind, score
    return best


def describe_module(title: str) -> str:
    """A one-sentence description for a module known only by its title."""
    if _verb_led(title):
        text = f"{_sentence(title)}: who does it, in what order, and how we know it is done."
    else:
        text = _kind_for(title).description.format(t=_inline(title))
    return clip(text, Limits.MAX_DESCRIPTION_CHARS)


def module_tasks(title: str, description: str = "", playbook_title: str = "") -> list[TaskTemplate]:
    """The tasks (with step titles) a builder gives a module.

    Args:
        title: The module's title.
        description: The module's description.
        playbook_title: The playbook's title (prefers its archetype's modules).

    Returns:
        Two to six tasks, each with one to four steps.
    """
    template = find_module_template(title, description, playbook_title)
    if template is not None:
        return list(template.tasks)[:6]
    kind = _kind_for(title, description)
    subject = _inline(title)
    instruction = _verb_led(title)
    tasks = []
    for number, spec in enumerate(kind.tasks):
        task_title, task_description, steps = (p.strip() for p in spec.split(" | "))
        if instruction and "{t}" in task_title:
            # "Configure the CRM": prepare to do it, do it, then check the work.
            task_title = (f"Prepare to {subject}", _sentence(title), task_title.format(t="work"))[
                min(number, 2)
            ]
        tasks.append(
            TaskTemplate(
                title=task_title.format(t=subject),
                description=task_description,
                steps=tuple(s.strip() for s in steps.split(";") if s.strip())[:4],
            )
        )
    return tasks


def plan_module(
    playbook_title: str,
    playbook_description: str,
    module: Mapping[str, Any],
    module_index: int,
    source: Mapping[str, Any] | None = None,
) -> list[Reply]:
    """The builder agent's plan for one module.

    The first reply adds the tasks (without steps), then one reply per task adds its steps, and the
    last reply says what was built. Task indices account for tasks the module already has.

    Args:
        playbook_title: The playbook's title.
        playbook_description: The playbook's description (unused offline; kept for parity).
        module: The module as on the canvas (``ModuleSpec`` in JSON mode).
        module_index: The module's zero-based index.
        source: The attached document's part for this module, if any: its lists are the tasks.

    Returns:
        The replies, in order.
    """
    del playbook_description
    title = str(module.get("title") or "Module")
    existing = len(module.get("tasks") or [])
    room = max(0, Limits.MAX_TASKS_PER_MODULE - existing)
    from ._documents import document_tasks  # (imports builder_plan itself)

    drawn = document_tasks(source)
    cited = f"As set out in {source['document']}." if source else ""
    tasks = (
        [TaskTemplate(t, cited, tuple(s)) for t, s in drawn]
        if drawn
        else module_tasks(title, str(module.get("description") or ""), playbook_title)
    )[:room]
    if not tasks:
        return [Reply(f"Built {title}: 0 tasks (it already has the maximum).", ())]
    replies = [
        Reply(
            None,
            (
                call(
                    ToolName.ADD_TASKS.value,
                    module_index=module_index,
                    tasks=[
                        {"title": clip(t.title), "description": clip(t.description, 2000), "steps": []}
                        for t in tasks
                    ],
                ),
            ),
        )
    ]
    for offset, task in enumerate(tasks):
        steps = task.steps[: Limits.MAX_STEPS_PER_TASK] or (f"Complete: {task.title}",)
        replies.append(
            Reply(
                None,
                tuple(
                    call(
                        ToolName.ADD_TASK_STEP.value,
                        module_index=module_index,
                        task_index=existing + offset,
                        step={"title": clip(step), "description": ""},
                    )
                    for step in steps
                ),
            )
        )
    task_word = "task" if len(tasks) == 1 else "tasks"
    replies.append(Reply(f"Built {title}: {len(tasks)} {task_word}.", ()))
    return replies
