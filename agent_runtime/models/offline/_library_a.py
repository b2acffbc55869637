"""Archetype data, part one: client onboarding, employee onboarding, incident response.

Each module is ``(title, description, tasks)``; each task is one string
``"title | description | step; step; step"``. :mod:`.archetypes` parses these.
"""

from __future__ import annotations

from typing import Any

CLIENT_ONBOARDING: dict[str, Any] = {
    "key": "client_onboarding",
    "title": "Client Onboarding Playbook",
    "description": "Take a new client from signed contract to first value, with clear owners at each stage.",
    "keywords": {
        "onboard": 2,
        "client": 3,
        "customer": 1,
        "kickoff": 2,
        "kick-off": 2,
        "new account": 2,
        "welcome": 1,
        "implementation": 1,
        "signed": 1,
    },
    "extra": "security review",
    "modules": [
        (
            "Welcome & Account Setup",
            "Welcome the new client, confirm contacts and set up their account.",
            [
                "Send the welcome pack | Introduce the team and explain what happens next."
                " | Draft the welcome email from the account lead;"
                " Attach the onboarding timeline and contacts;"
                " Send it and log it in the CRM",
                "Create the client record | Set up the account so every team works from the same data."
                " | Create the account and contacts in the CRM;"
                " Record contract dates, tier and billing details;"
                " Assign the account owner and delivery lead",
                "Open a shared workspace | Give the client one place for files, notes and updates."
                " | Create the shared folder or portal space; Invite the client contacts;"
                " Post the onboarding checklist",
            ],
        ),
        (
            "Kickoff Meeting",
            "Align the client and delivery team on goals, scope, roles and the first 30 days.",
            [
                "Schedule the kickoff | Find a time that works for the client sponsor and key stakeholders."
                " | Confirm attendees on both sides; Send the invite with a video link;"
                " Share the agenda two days ahead",
                "Run the kickoff | Walk through goals, scope, timeline and who does what."
                " | Introduce the team and roles; Confirm goals and success measures;"
                " Agree the timeline and milestones",
                "Follow up on the kickoff | Put decisions in writing the same day."
                " | Send notes with decisions and owners; Log action items in the tracker;"
                " Confirm the next check-in",
            ],
        ),
        (
            "Document Collection",
            "Gather the contracts, forms, data and details the team needs to start.",
            [
                "Send the document checklist | Tell the client exactly what to provide and by when."
                " | List the required documents per service; Share a secure upload link; Agree a due date",
                "Review what arrives | Check each document is complete, current and signed."
                " | Verify signatures and dates; Flag missing or expired items;"
                " Request corrections from the client",
                "File and secure the documents | Keep client documents organised and access-controlled."
                " | Store documents in the client folder; Restrict access to the delivery team;"
                " Mark the checklist complete",
            ],
        ),
        (
            "Access & Systems Setup",
            "Provision the tools, integrations and permissions both sides need.",
            [
                "Provision client access | Give each client user the access their role needs."
                " | Create user accounts for client contacts; Apply roles and permissions;"
                " Send login instructions",
                "Connect integrations | Link the client's systems so data flows from day one."
                " | Collect credentials through a secure channel; Configure and test each integration;"
                " Document the setup",
                "Verify access end to end | Prove everything works before real work starts."
                " | Run a test login with the client; Fix any permission gaps; Confirm in writing",
            ],
        ),
        (
            "Training & Enablement",
            "Teach the client's team how to get value from the service early.",
            [
                "Plan training sessions | Match training to each group of users."
                " | Identify who needs training on what; Schedule the sessions;"
                " Prepare materials and a sandbox",
                "Deliver training | Run practical, recorded sessions."
                " | Run the live session and record it; Capture questions and gaps;"
                " Share the recording and guides",
                "Check adoption | Make sure trained users actually use the service."
                " | Review usage after two weeks; Reach out to inactive users",
            ],
        ),
        (
            "First Delivery Milestone",
            "Deliver a first visible result quickly so the client sees progress.",
            [
                "Agree the first milestone | Pick a quick, meaningful win."
                " | Choose a milestone achievable in two weeks; Confirm acceptance criteria with the client",
                "Deliver and demo | Show the result rather than describe it."
                " | Complete the work and check its quality; Demo it to the client sponsor;"
                " Record their feedback",
            ],
        ),
        (
            "30-Day Review",
            "Review progress, satisfaction and open issues a month in, and plan what's next.",
            [
                "Prepare the review | Bring facts, not impressions."
                " | Pull usage and delivery metrics; Summarise open issues and risks; Draft the agenda",
                "Hold the review meeting | Check the client is getting what they signed up for."
                " | Walk through results against goals; Ask for a satisfaction score;"
                " Agree next-quarter priorities",
                "Hand over to account management | Move the client from onboarding to business as usual."
                " | Update the account plan; Introduce the ongoing account manager;"
                " Close the onboarding project",
            ],
        ),
    ],
}

EMPLOYEE_ONBOARDING: dict[str, Any] = {
    "key": "employee_onboarding",
    "title": "Employee Onboarding Playbook",
    "description": "Help every new hire arrive prepared, feel welcome and become productive in 90 days.",
    "keywords": {
        "employee": 3,
        "new hire": 3,
        "hire": 2,
        "hiring": 1,
        "starter": 2,
        "staff": 2,
        "hr": 2,
        "first day": 2,
        "first week": 2,
        "orientation": 2,
        "onboard": 2,
        "team member": 2,
        "colleague": 2,
        "intern": 2,
        "90 day": 1,
        "90-day": 1,
        "probation": 2,
    },
    "extra": "security awareness training",
    "modules": [
        (
            "Pre-Arrival Preparation",
            "Get contracts, equipment and accounts ready before the first day.",
            [
                "Complete the paperwork | Have the contract and HR forms signed before day one."
                " | Send the contract and tax forms; Collect bank and emergency-contact details;"
                " Run the right-to-work check",
                "Order equipment | Make sure the laptop and kit arrive on time."
                " | Order the laptop and peripherals; Set up the desk or ship a home-office kit;"
                " Confirm delivery before the start date",
                "Create accounts | Let the new hire log in to everything on day one."
                " | Create email and SSO accounts; Add them to team channels and groups;"
                " Grant tool access by role",
            ],
        ),
        (
            "First Day Welcome",
            "Make the first day warm, organised and free of IT surprises.",
            [
                "Plan the first day | Nobody should wonder what to do next."
                " | Share the first-day schedule in advance; Tell the team who is starting;"
                " Book a welcome lunch or coffee",
                "Welcome and set up | Greet the new hire and get them working."
                " | Meet the new hire on arrival; Hand over equipment and check logins;"
                " Give an office or virtual tour",
                "Introduce a buddy | Pair the new hire with a peer for everyday questions."
                " | Pick a buddy from the team; Set up a first coffee chat",
            ],
        ),
        (
            "Orientation & Policies",
            "Walk through the company, its values, policies and how work gets done.",
            [
                "Run company orientation | Explain the mission, structure and ways of working."
                " | Present mission, values and structure; Explain how teams work together;"
                " Share the employee handbook",
                "Complete compliance training | Cover the mandatory courses early."
                " | Assign security, privacy and conduct courses; Track completion;"
                " Collect signed policy acknowledgements",
            ],
        ),
        (
            "Role Training",
            "Teach the skills, tools and processes the role needs.",
            [
                "Build a training plan | Tailor learning to the role."
                " | List the tools and processes for the role; Schedule shadowing sessions;"
                " Set learning goals for the first month",
                "Shadow and practice | Learn on real work with support."
                " | Shadow a teammate on live work; Complete a first small task with help;"
                " Review it together",
            ],
        ),
        (
            "Goals & 30-60-90 Plan",
            "Agree clear expectations and milestones for the first three months.",
            [
                "Set 30-60-90 day goals | Make success explicit from the start."
                " | Draft goals with the manager; Agree how success is measured;"
                " Share the plan with the new hire",
                "Schedule regular 1:1s | Create a steady rhythm of support."
                " | Book weekly 1:1s for the first quarter; Agree a shared agenda document",
            ],
        ),
        (
            "Check-ins & Feedback",
            "Check in at 30, 60 and 90 days to support and adjust.",
            [
                "Hold the 30-day check-in | Catch problems while they are small."
                " | Review progress against goals; Ask what is unclear or missing; Adjust the plan",
                "Collect onboarding feedback | Improve onboarding for the next hire."
                " | Send the onboarding survey; Review the answers with HR; Log improvements",
            ],
        ),
        (
            "Probation Review",
            "Confirm the new hire has settled in and close out onboarding.",
            [
                "Prepare the review | Base the conversation on evidence."
                " | Gather feedback from the team; Summarise achievements against the plan",
                "Hold the review | Agree the outcome and next development steps."
                " | Discuss performance and development; Confirm the outcome in writing;"
                " Close the onboarding checklist",
            ],
        ),
    ],
}

INCIDENT_RESPONSE: dict[str, Any] = {
    "key": "incident_response",
    "title": "Incident Response Playbook",
    "description": "Detect, contain and resolve incidents quickly,"
    " keep people informed and learn from each one.",
    "keywords": {
        "incident": 4,
        "outage": 4,
        "breach": 3,
        "on-call": 2,
        "on call": 2,
        "postmortem": 3,
        "post-mortem": 3,
        "sev1": 3,
        "severity": 2,
        "downtime": 3,
        "root cause": 2,
        "emergency": 2,
        "alert": 1,
        "escalat": 1,
        "disaster": 2,
        "war room": 2,
        "pager": 2,
        "crisis": 2,
    },
    "extra": "regulatory notification",
    "modules": [
        (
            "Detection & Triage",
            "Confirm the incident, assess severity and decide who needs to know.",
            [
                "Acknowledge the alert | Respond fast and confirm the impact is real."
                " | Acknowledge the page within five minutes; Check dashboards and logs to confirm impact;"
                " Open an incident ticket",
                "Assign severity | Use one severity scale so everyone reacts the same way."
                " | Apply the severity matrix (SEV1 to SEV4); Record affected services and customers;"
                " Escalate SEV1 and SEV2 to the incident commander",
            ],
        ),
        (
            "Mobilise the Response Team",
            "Bring in an incident commander, responders and a comms lead.",
            [
                "Appoint roles | One person leads, others fix, one communicates."
                " | Name the incident commander; Name the communications lead and scribe;"
                " Page the owning team's on-call",
                "Open the war room | Give responders one place to work."
                " | Start the incident channel and bridge; Pin the ticket, dashboards and runbooks;"
                " Post the first status summary",
            ],
        ),
        (
            "Containment",
            "Stop the damage from spreading while keeping evidence intact.",
            [
                "Contain the impact | Limit harm before hunting the root cause."
                " | Roll back the latest change or fail over; Isolate affected hosts or accounts;"
                " Apply rate limits or feature flags",
                "Preserve evidence | Keep what the review and any investigation will need."
                " | Snapshot affected systems; Export relevant logs; Record every action with a timestamp",
            ],
        ),
        (
            "Stakeholder Communication",
            "Keep customers, leadership and support informed on a set cadence.",
            [
                "Notify stakeholders | Tell the right people early."
                " | Brief leadership and support; Post to the status page; Set the update cadence",
                "Send regular updates | Update even when there is no news."
                " | Update the status page at each interval; Answer support escalations;"
                " Announce the resolution",
            ],
        ),
        (
            "Eradication & Recovery",
            "Fix the root cause and restore normal service safely.",
            [
                "Fix the root cause | Remove the cause, not just the symptom."
                " | Identify the failing component; Deploy and verify the fix; Remove temporary workarounds",
                "Restore service | Bring things back carefully and watch closely."
                " | Restore services gradually; Watch error rates and latency; Confirm service is normal",
            ],
        ),
        (
            "Post-Incident Review",
            "Learn what happened and why, without blame.",
            [
                "Write the timeline | Reconstruct events from facts."
                " | Collect chat logs, alerts and deploys; Build a minute-by-minute timeline",
                "Hold the blameless review | Understand causes, not culprits."
                " | Walk through the timeline with responders; Identify root and contributing causes;"
                " Agree what went well and what did not",
            ],
        ),
        (
            "Follow-up Actions",
            "Turn lessons into tracked fixes so it does not happen again.",
            [
                "Log corrective actions | Make every lesson someone's job."
                " | Create tickets with owners and due dates; Prioritise them with engineering leads",
                "Update runbooks and alerts | Make the next response faster."
                " | Update runbooks with what worked; Tune alerts that fired late or too often;"
                " Share the report with the wider team",
            ],
        ),
    ],
}

ARCHETYPES_A: tuple[dict[str, Any], ...] = (
    CLIENT_ONBOARDING,
    EMPLOYEE_ONBOARDING,
    INCIDENT_RESPONSE,
)
