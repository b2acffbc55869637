"""The offline router: whether a first message is about a work process (playbooks) or off-topic.

Deterministic, like the rest of the offline planner; :data:`ROUTER_LEAD` is the router's own words in
front of a handoff context, which the orchestrator's planner strips again.
"""

from __future__ import annotations

import re
from typing import Any

from ._text import clip, significant
from .archetypes import choose_archetype

__all__ = ["ROUTER_LEAD", "classify"]

_PLAYBOOK_SIGNALS = re.compile(
    r"\b(?:playbooks?|runbooks?|checklists?|process(?:es)?|procedures?|workflows?|sops?|handbook|"
    r"onboard\w*|offboard\w*|modules?|steps?|stages?|phases?|templates?|outline|build|rename|remove|delete|"
    r"move|add|tasks?|kickoff|kick-off|handoffs?|hand-off|handover|launch\w*|release|review\w*|audit\w*|"
    r"incidents?|outage|vendors?|suppliers?|clients?|customers?|employees?|hires?|hiring|training|"
    r"compliance|close|closing|reconcil\w*|plan|planning|project|rollout|go-live|escalat\w*|approvals?|"
    r"policy|policies|standardi[sz]e|organi[sz]e|coordinate|manage|handle|set up|prepare|document)\b",
    re.IGNORECASE,
)
_BUSINESS_ACTION = re.compile(
    r"^(?:(?:please|so|ok(?:ay)?|now|hi|hello|hey)[\s,]+)?"
    r"(?:(?:how (?:do|should|can) (?:we|i)|(?:we|i) (?:need|have|want) to|"
    r"help (?:me|us)(?: to)?|can you help (?:me|us)(?: to)?|(?:let'?s|lets))\s+)?"
    r"(?:run|open|shut|close|wind|plan|prepare|organi[sz]e|hire|recruit|move|relocate|migrate|ship|order|pay|"
    r"process|file|set|launch|roll|train|audit|review|renew|recall|notify|handle|manage|onboard|offboard|"
    r"coordinate|schedule|track|approve|submit|respond|reply|escalate|resolve|report|reconcile|deploy|test|"
    r"upgrade|install|decommission|retire|transfer|expand|negotiate|collect|invoice|budget|forecast|refund|"
    r"return|inspect|maintain|repair|deliver|source|procure|purchase|buy|sell|price|hand|host|assess|"
    r"evaluate|investigate|document|certify|comply|register|renovate|consolidate|merge|integrate|restructure|"
    r"reduce|cut|grow|sunset|deprecate|discontinue|replace|rotate|back|restore|archive|dispose|stock|count|"
    r"label|pack|dispatch|receive|onboarding|offboarding|quarterly|annual|monthly|weekly|daily)\b",
    re.IGNORECASE,
)
_BUSINESS_NOUNS = re.compile(
    r"\b(?:payroll|invoices?|expenses?|budgets?|leases?|offices?|stores?|shops?|warehouses?|inventory|"
    r"shipments?|orders?|contracts?|suppliers?|vendors?|customers?|clients?|employees?|staff|teams?|"
    r"product(?: line)?s?|services?|servers?|systems?|data|accounts?|audits?|compliance|regulators?|policy|"
    r"policies|projects?|events?|offsites?|conferences?|campaigns?|releases?|migrations?|recalls?|"
    r"renewals?|tenders?|proposals?|rfps?|interviews?|candidates?|hires?|payments?|refunds?|returns?|"
    r"tickets?|complaints?|escalations?|reports?|board meeting|stakeholders?|partners?|sites?|facilities|"
    r"fleet|equipment|assets?|licen[cs]es?|subscriptions?|pricing|quotes?|deals?|sales|marketing|finance|"
    r"hr|legal|security|operations|logistics|procurement|maintenance|outages?|incidents?)\b",
    re.IGNORECASE,
)
ROUTER_LEAD = re.compile(r"^\s*The person wants help with a playbook:\s*", re.IGNORECASE)
"""The offline router's own words in front of a handoff context (not part of the request)."""
_GENERAL_REPLIES = (
    (
        re.compile(
            r"^\W*(?:hi|hello|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening))\b", re.I
        ),
        "Hi! I build step-by-step playbooks for work processes. Try something like “Onboard new clients "
        "with a kickoff call, document collection and a 30-day review”.",
    ),
    (
        re.compile(r"\b(?:thanks|thank you|cheers)\b", re.I),
        "You're welcome! Whenever you need a playbook — onboarding, incident response, a product "
        "launch — just describe the process.",
    ),
    (
        re.compile(r"\b(?:weather|forecast|temperature|rain|sunny)\b", re.I),
        "I can't check the weather, but I can help you plan for a rainy day: describe a work process "
        "and I'll turn it into a playbook.",
    ),
    (
        re.compile(r"\b(?:joke|funny|laugh)\b", re.I),
        "I'll leave the jokes to the professionals — but I can turn any work process into a clear "
        "playbook. What should we map out?",
    ),
    (
        re.compile(r"\b(?:who are you|what are you|what can you do|what do you do|help)\b", re.I),
        "I'm the Playbook Builder assistant: describe a process — client onboarding, incident response, "
        "vendor due diligence, a product launch — and I'll outline it, then build its tasks and steps.",
    ),
)
_GENERAL_FALLBACK = (
    "That's outside what I can help with — I build step-by-step playbooks for work processes like "
    "client onboarding or incident response. What process would you like to turn into a playbook?"
)


def classify(prompt: str) -> dict[str, Any]:
    """The router's decision for a first message.

    Args:
        prompt: The person's message.

    Returns:
        A ``RouterDecision`` dict: ``{"domain", "handoff_context", "reply"}``. ``domain`` is
        ``"playbooks"`` for anything about a work process (``reply`` is ``None``) and ``"general"``
        otherwise, with a short polite ``reply`` that steers back to playbooks.
    """
    text = " ".join((prompt or "").split())
    one_line = clip(text.rstrip(" .!?"), 240)
    if text and (
        _PLAYBOOK_SIGNALS.search(text) or choose_archetype(text) is not None or _is_business_process(text)
    ):
        return {
            "domain": "playbooks",
            "handoff_context": f"The person wants help with a playbook: {one_line}.",
            "reply": None,
        }
    reply = next((answer for pattern, answer in _GENERAL_REPLIES if pattern.search(text)), _GENERAL_FALLBACK)
    return {
        "domain": "general",
        "handoff_context": f"Off-topic message: {one_line}." if one_line else "Empty message.",
        "reply": reply,
    }


def _is_business_process(text: str) -> bool:
    """Whether a message reads like a work process: an action on a business object.

    Small talk (greetings, thanks, weather, jokes, "what is …" trivia) is never one; a message that
    starts with a work verb ("Run payroll…", "Open a new store…") or names a business object
    ("…our office lease") is, so a legitimate process is never refused.
    """
    if any(pattern.search(text) for pattern, _ in _GENERAL_REPLIES[:-1]):  # not "help": "help us recall…"
        return False
    if re.match(r"^\W*(?:what|who|when|where|why|which|is|are|do you|did|tell me)\b", text, re.IGNORECASE):
        return bool(re.search(r"\b(?:how (?:do|should|can) we|process|steps)\b", text, re.IGNORECASE))
    if _BUSINESS_ACTION.search(text) or _BUSINESS_NOUNS.search(text):
        return True
    # Not small talk, not a trivia question: a statement of something to organise ("Merger
    # integration for an acquired company", "Pen test remediation"). Planning it is never wrong.
    return not text.rstrip().endswith("?") and len(significant(text)) >= 2
