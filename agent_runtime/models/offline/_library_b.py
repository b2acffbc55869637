"""Archetype data, part two: customer offboarding, vendor due diligence, sales-to-delivery handoff.

Same format as :mod:`._library_a`.
"""

from __future__ import annotations

from typing import Any

CUSTOMER_OFFBOARDING: dict[str, Any] = {
    "key": "customer_offboarding",
    "title": "Customer Offboarding Playbook",
    "description": "Close a departing customer's account cleanly, securely and on good terms.",
    "keywords": {
        "offboard": 4,
        "off-board": 4,
        "churn": 3,
        "cancel": 3,
        "terminat": 2,
        "customer": 2,
        "exit": 2,
        "leaving": 2,
        "departing": 1,
        "end of contract": 3,
        "wind down": 2,
        "client": 1,
        "non-renewal": 3,
        "data deletion": 2,
    },
    "extra": "win-back outreach",
    "modules": [
        (
            "Cancellation Intake",
            "Record the cancellation request, confirm the details and understand why.",
            [
                "Log the request | Capture exactly what is being cancelled and when."
                " | Record who asked, when and for which services;"
                " Check the contract end date and notice period;"
                " Confirm receipt to the customer",
                "Understand the reason | Learn why the customer is leaving."
                " | Hold an exit conversation; Record the churn reason in the CRM;"
                " Flag save opportunities to the account owner",
            ],
        ),
        (
            "Retention Attempt",
            "Make one well-judged attempt to address the reason before confirming.",
            [
                "Prepare an offer | Base any offer on the customer's actual problem."
                " | Review usage, value delivered and open issues; Decide on an offer within policy",
                "Present and record the outcome | Respect the customer's decision either way."
                " | Present the options to the decision maker; Record the outcome",
            ],
        ),
        (
            "Contract & Billing Closure",
            "Settle the final invoice, refunds and contract termination.",
            [
                "Close billing | Make the last bill accurate and final."
                " | Calculate the final invoice or pro-rated refund; Stop recurring billing;"
                " Send the final statement",
                "Terminate the contract | Make the end of the contract official."
                " | Issue the termination confirmation; Update the contract status;"
                " File the signed paperwork",
            ],
        ),
        (
            "Data Export & Handover",
            "Give the customer their data and any handover material they need.",
            [
                "Export customer data | Hand back the customer's data in a usable form."
                " | Agree the export format and scope; Generate and verify the export;"
                " Share it through a secure link",
                "Transfer knowledge | Help the customer continue without us."
                " | Share configuration and process documentation; Answer handover questions",
            ],
        ),
        (
            "Access Removal",
            "Revoke every account, integration and credential on both sides.",
            [
                "Revoke access | Close every door on the agreed date."
                " | Deactivate customer user accounts; Disconnect integrations and API keys;"
                " Remove our access to their systems",
                "Confirm revocation | Prove nothing was missed."
                " | Check audit logs for remaining sessions; Record the revocation date",
            ],
        ),
        (
            "Data Retention & Deletion",
            "Delete or archive data according to the contract and the law.",
            [
                "Apply the retention policy | Keep only what you must."
                " | Check contractual and legal retention periods; Archive what must be kept",
                "Delete and certify | Delete the rest and be able to prove it."
                " | Delete data from production and backups on schedule;"
                " Send a deletion certificate if requested",
            ],
        ),
        (
            "Exit Review",
            "Close the account internally and learn from the churn.",
            [
                "Close the account | Make sure every team knows the customer has left."
                " | Mark the account churned in the CRM; Notify finance, support and delivery",
                "Share lessons | Use the churn to improve the product and service."
                " | Summarise the churn reason and timeline; Review it with customer success;"
                " Log product feedback",
            ],
        ),
    ],
}

VENDOR_DUE_DILIGENCE: dict[str, Any] = {
    "key": "vendor_due_diligence",
    "title": "Vendor Due Diligence Playbook",
    "description": "Select and approve third-party vendors with the right security,"
    " legal and financial checks.",
    "keywords": {
        "vendor": 4,
        "supplier": 4,
        "due diligence": 4,
        "procurement": 3,
        "third-party": 3,
        "third party": 3,
        "sourcing": 2,
        "rfp": 2,
        "purchas": 1,
        "contractor": 2,
        "partner risk": 2,
    },
    "extra": "business continuity",
    "modules": [
        (
            "Business Need & Scoping",
            "Define what we need from the vendor, the budget and the risk tier.",
            [
                "Document the need | Be clear about the problem before talking to vendors."
                " | Describe the use case and business owner; Estimate budget and contract length;"
                " List must-have requirements",
                "Assign a risk tier | Match review effort to the risk."
                " | Check whether the vendor will handle personal or sensitive data;"
                " Rate criticality to operations;"
                " Pick the review depth for the tier",
            ],
        ),
        (
            "Vendor Shortlist",
            "Identify candidate vendors and compare them on fit and cost.",
            [
                "Research vendors | Cast a wide enough net."
                " | Find three to five candidates; Request proposals or demos",
                "Compare options | Decide on evidence, not the best pitch."
                " | Score candidates against requirements; Check references; Pick the preferred vendor",
            ],
        ),
        (
            "Security & Privacy Assessment",
            "Check the vendor's security controls, certifications and data handling.",
            [
                "Send the security questionnaire | Ask for evidence proportionate to the risk tier."
                " | Send the questionnaire for the tier; Request SOC 2 or ISO 27001 reports;"
                " Chase missing answers",
                "Review the answers | Decide whether the controls are good enough."
                " | Assess controls against our standards; Log gaps and required fixes;"
                " Get security sign-off",
            ],
        ),
        (
            "Financial & Legal Checks",
            "Confirm the vendor is stable, compliant and free of red flags.",
            [
                "Check financial health | Make sure the vendor will still be there next year."
                " | Review financial statements or a credit report; Check insurance certificates",
                "Run legal and compliance screening | Rule out sanctions, litigation and data-law issues."
                " | Screen against sanctions lists; Check for litigation; Confirm data processing terms",
            ],
        ),
        (
            "Contract Negotiation",
            "Agree terms, service levels and data protection clauses.",
            [
                "Negotiate terms | Protect the business if things go wrong."
                " | Review the vendor's contract with legal; Agree SLAs, liability and exit terms;"
                " Attach the data processing agreement",
                "Approve and sign | Get the right signatures in the right order."
                " | Route for budget and legal approval; Sign and store the contract",
            ],
        ),
        (
            "Approval & Vendor Setup",
            "Get final approval and set the vendor up in our systems.",
            [
                "Get final approval | Record who approved what, with which conditions."
                " | Present findings to the approver; Record the decision and conditions",
                "Set up the vendor | Give the vendor only what they need."
                " | Create the vendor in the finance system; Provision least-privilege access;"
                " Introduce the vendor to the business owner",
            ],
        ),
        (
            "Ongoing Monitoring",
            "Review the vendor's performance and risk on a regular schedule.",
            [
                "Track performance | Hold the vendor to the agreed service levels."
                " | Review SLA reports monthly; Log incidents and escalations",
                "Reassess periodically | Risk changes over time; so should the review."
                " | Schedule the annual reassessment; Re-check certifications before renewal",
            ],
        ),
    ],
}

SALES_HANDOFF: dict[str, Any] = {
    "key": "sales_to_delivery_handoff",
    "title": "Sales-to-Delivery Handoff Playbook",
    "description": "Hand every won deal from sales to delivery without losing context or the client's trust.",
    "keywords": {
        "handoff": 4,
        "hand-off": 4,
        "hand off": 4,
        "handover": 3,
        "sales": 3,
        "closed won": 3,
        "closed-won": 3,
        "delivery": 2,
        "deal": 2,
        "account executive": 2,
        "sold": 2,
        "won": 1,
    },
    "extra": "pricing and discount approvals",
    "modules": [
        (
            "Deal Closure & Handoff Trigger",
            "Mark the deal won and start the handoff with a complete record.",
            [
                "Confirm the deal is closed | Never start delivery on a handshake."
                " | Check the signed contract and order form; Mark the opportunity closed-won in the CRM",
                "Start the handoff | Make the handoff automatic, not optional."
                " | Create the delivery project; Notify the delivery lead and account manager",
            ],
        ),
        (
            "Handoff Document",
            "Capture what sales learned so delivery never asks the client twice.",
            [
                "Write the handoff brief | Put the deal's story on one page."
                " | Summarise goals, scope and success criteria; List stakeholders and decision makers;"
                " Record promises, discounts and special terms",
                "Attach the evidence | Link the source material behind the brief."
                " | Attach the proposal, SOW and contract; Link call notes and key emails",
            ],
        ),
        (
            "Internal Handoff Meeting",
            "Walk delivery through the deal and close gaps before meeting the client.",
            [
                "Run the internal meeting | Let delivery question sales while memories are fresh."
                " | Walk through the brief; Flag risks and unusual commitments;"
                " Agree owners for open questions",
                "Resolve open questions | Close gaps before they become client surprises."
                " | Get answers from the client on open questions; Update the brief",
            ],
        ),
        (
            "Client Introduction",
            "Introduce the delivery team to the client with sales still in the room.",
            [
                "Hold the introduction call | Make the transition visible and warm."
                " | Introduce the delivery lead; Restate goals and timeline; Confirm the communication plan",
                "Send the recap | Confirm the next steps in writing."
                " | Send notes and next steps; Share the project workspace",
            ],
        ),
        (
            "Scope & Plan Confirmation",
            "Turn the sold scope into a delivery plan the client agrees with.",
            [
                "Confirm scope | Catch any gap between what was sold and what is expected."
                " | Compare the SOW with the client's expectations; Log and resolve scope differences",
                "Publish the delivery plan | Give everyone the same plan."
                " | Build the project plan with milestones; Get the client's sign-off",
            ],
        ),
        (
            "Handoff Review",
            "Check the handoff worked and feed lessons back to sales.",
            [
                "Review after 30 days | Ask both sides how the transition went."
                " | Ask delivery what was missing from the handoff; Ask the client about the transition",
                "Improve the process | Make the next handoff better."
                " | Update the handoff template; Share lessons with the sales team",
            ],
        ),
    ],
}

ARCHETYPES_B: tuple[dict[str, Any], ...] = (
    CUSTOMER_OFFBOARDING,
    VENDOR_DUE_DILIGENCE,
    SALES_HANDOFF,
)
