"""Archetype data, part three: QBR, product launch, security review, month-end close.

Same format as :mod:`._library_a`.
"""

from __future__ import annotations

from typing import Any

QUARTERLY_BUSINESS_REVIEW: dict[str, Any] = {
    "key": "quarterly_business_review",
    "title": "Quarterly Business Review Playbook",
    "description": "Prepare and run quarterly business reviews that prove value and agree the next"
    " quarter's goals.",
    "keywords": {
        "qbr": 5,
        "quarterly business review": 6,
        "quarterly": 3,
        "business review": 4,
        "account review": 3,
        "executive review": 3,
        "renewal": 1,
        "account health": 2,
        "customer success": 1,
    },
    "extra": "renewal planning",
    "modules": [
        (
            "Scheduling & Attendees",
            "Book the review with the right people on both sides.",
            [
                "Schedule the QBR | Get executives in the room."
                " | Propose dates to the client sponsor; Invite executives and key users;"
                " Book 60 to 90 minutes",
                "Confirm the agenda | Make the meeting about the client's priorities."
                " | Ask the client what they want to cover; Circulate the agenda a week ahead",
            ],
        ),
        (
            "Data & Metrics Gathering",
            "Pull usage, outcomes, support and billing data for the quarter.",
            [
                "Collect metrics | Gather the numbers that show value."
                " | Export usage and adoption trends; Pull support ticket volume and CSAT;"
                " Check billing and contract status",
                "Measure against goals | Compare results with what was promised."
                " | Compare results with last quarter's goals; Quantify return on investment where possible",
            ],
        ),
        (
            "Deck Preparation",
            "Build a concise story of value delivered and what comes next.",
            [
                "Draft the deck | Tell a short, evidence-based story."
                " | Summarise wins and outcomes; Show metrics with clear charts; Add risks and asks",
                "Run an internal dry run | Rehearse before the client sees it."
                " | Review the deck with the account team; Agree who presents which part",
            ],
        ),
        (
            "Review Meeting",
            "Run the meeting as a conversation about the client's goals.",
            [
                "Present results | Lead with outcomes, not features."
                " | Recap goals and results; Highlight wins and customer stories",
                "Discuss the road ahead | Listen more than you present."
                " | Ask about upcoming priorities; Present roadmap items that matter to them;"
                " Agree goals for next quarter",
            ],
        ),
        (
            "Action Plan & Follow-up",
            "Turn what was agreed into owned, dated actions.",
            [
                "Send the summary | Confirm agreements while they are fresh."
                " | Send notes within 24 hours; List actions with owners and dates",
                "Track actions | Show progress before the next review."
                " | Add actions to the account plan; Review progress in regular check-ins",
            ],
        ),
        (
            "Account Health & Expansion",
            "Update the health score and spot renewal risks and growth.",
            [
                "Update account health | Make risk visible early."
                " | Update the health score; Flag renewal risks to leadership",
                "Identify expansion opportunities | Grow accounts that are getting value."
                " | Note expansion opportunities; Brief the account executive",
            ],
        ),
    ],
}

PRODUCT_LAUNCH: dict[str, Any] = {
    "key": "product_launch",
    "title": "Product Launch Playbook",
    "description": "Plan, ship and announce a product or feature with every team ready on launch day.",
    "keywords": {
        "launch": 4,
        "release": 3,
        "go-to-market": 4,
        "go to market": 4,
        "gtm": 4,
        "go live": 2,
        "go-live": 2,
        "product": 2,
        "feature": 2,
        "announce": 2,
        "beta": 1,
        "rollout": 2,
        "roll out": 2,
        "ship": 1,
    },
    "extra": "beta program",
    "modules": [
        (
            "Launch Strategy & Goals",
            "Define the audience, positioning, goals and launch tier.",
            [
                "Define launch goals | Decide what success looks like before launch."
                " | Set measurable launch goals; Pick the launch tier and date; Agree the budget",
                "Define positioning | Know who it is for and why they should care."
                " | Describe the target audience; Write the positioning statement; Agree key messages",
            ],
        ),
        (
            "Readiness Plan",
            "Line up owners, milestones and a go/no-go checklist across teams.",
            [
                "Build the launch plan | One plan, every team."
                " | List workstreams and owners; Set milestones back from the launch date;"
                " Share the plan in one tracker",
                "Define go/no-go criteria | Decide in advance what would stop the launch."
                " | Agree quality, support and legal criteria; Schedule the go/no-go meeting",
            ],
        ),
        (
            "Product & QA Readiness",
            "Make sure the product is stable, documented and ready to scale.",
            [
                "Finish QA | Ship only what has been tested."
                " | Run regression and acceptance tests; Fix launch-blocking bugs; Load test critical paths",
                "Prepare the release | Make it easy to ship and easy to undo."
                " | Set up feature flags and a rollback plan; Finalise release notes",
            ],
        ),
        (
            "Marketing & Content",
            "Create the assets that tell the market about the launch.",
            [
                "Create launch content | Have every asset ready before the date."
                " | Write the announcement post; Update the website and pricing page;"
                " Prepare email and social posts",
                "Brief press and partners | Line up outside voices."
                " | Prepare the press kit; Brief analysts and partners under embargo",
            ],
        ),
        (
            "Sales & Support Enablement",
            "Equip customer-facing teams to sell and support the product.",
            [
                "Train sales | Give sales the story and the tools."
                " | Run a sales training session; Share the pitch deck and battlecard;"
                " Update CRM fields and pricing",
                "Prepare support | Answer the first questions before they arrive."
                " | Publish help-center articles; Train support on common questions; Set up ticket tags",
            ],
        ),
        (
            "Launch Day",
            "Ship, announce and watch closely.",
            [
                "Go live | Launch in a controlled order."
                " | Hold the final go/no-go; Release the product or switch on the flag;"
                " Publish the announcement",
                "Monitor the launch | React quickly to problems and feedback."
                " | Watch error rates and sign-ups; Staff a launch war room; Respond to feedback quickly",
            ],
        ),
        (
            "Post-Launch Review",
            "Measure results against goals and capture lessons.",
            [
                "Measure results | Check the launch against its goals."
                " | Compare adoption and revenue with goals at 30 days; Gather customer feedback",
                "Hold the retrospective | Make the next launch smoother."
                " | Review what went well and what did not; Log improvements for the next launch",
            ],
        ),
    ],
}

SECURITY_REVIEW: dict[str, Any] = {
    "key": "security_review",
    "title": "Security Review Playbook",
    "description": "Review a system's security before launch or on a schedule,"
    " and track every finding to closure.",
    "keywords": {
        "security review": 4,
        "security": 3,
        "threat model": 4,
        "pentest": 3,
        "penetration": 3,
        "vulnerabilit": 2,
        "appsec": 3,
        "access review": 3,
        "soc 2": 2,
        "soc2": 2,
        "audit": 1,
        "compliance": 1,
        "least privilege": 2,
    },
    "extra": "incident readiness",
    "modules": [
        (
            "Scope & Context",
            "Define what is being reviewed, the data it handles and who owns it.",
            [
                "Define the scope | Agree exactly what is in and out."
                " | List components, data flows and integrations; Identify the owners;"
                " Record the data classification",
                "Gather documentation | Start from what already exists."
                " | Collect architecture diagrams; Collect policies and past findings",
            ],
        ),
        (
            "Threat Modeling",
            "Identify how the system could be attacked and what matters most.",
            [
                "Run a threat modeling session | Think like an attacker, together."
                " | Walk through the data flow diagram; Apply STRIDE to each component;"
                " Rank threats by likelihood and impact",
                "Record the threat model | Keep it next to the design."
                " | Document threats and mitigations; Store it with the design docs",
            ],
        ),
        (
            "Access & Identity Review",
            "Check who can access what, and that it follows least privilege.",
            [
                "Review accounts and roles | Remove access nobody needs."
                " | Export users, roles and service accounts; Remove stale and excessive access;"
                " Confirm MFA and SSO are enforced",
                "Review secrets | Keep credentials out of code and rotate them."
                " | Check secrets are stored in a vault; Rotate exposed or old credentials",
            ],
        ),
        (
            "Vulnerability Assessment",
            "Scan code, dependencies and infrastructure for known weaknesses.",
            [
                "Scan code and dependencies | Find known issues automatically."
                " | Run static analysis; Run dependency scanning; Triage findings by severity",
                "Test the running system | Check what an attacker would see."
                " | Run an infrastructure scan; Commission a penetration test for high-risk scope",
            ],
        ),
        (
            "Findings & Remediation",
            "Prioritise findings and fix them within agreed timelines.",
            [
                "Prioritise findings | Fix what matters first."
                " | Rate each finding; Agree fix deadlines by severity; Assign owners",
                "Verify fixes | A fix is done when it is retested."
                " | Retest each fixed finding; Record accepted risks with sign-off",
            ],
        ),
        (
            "Sign-off & Reporting",
            "Record the outcome and get approval to proceed.",
            [
                "Write the report | Give decision makers a clear picture."
                " | Summarise scope, findings and status; List residual risks",
                "Get sign-off | Make the decision explicit."
                " | Present to the security lead and owner; Record approval or conditions;"
                " Schedule the next review",
            ],
        ),
    ],
}

MONTH_END_CLOSE: dict[str, Any] = {
    "key": "month_end_close",
    "title": "Month-End Close Playbook",
    "description": "Close the books accurately and on time every month, with reviewed reconciliations.",
    "keywords": {
        "month-end": 5,
        "month end": 5,
        "close the books": 5,
        "financial close": 4,
        "reconcil": 3,
        "accounting": 3,
        "ledger": 3,
        "accrual": 3,
        "journal entr": 3,
        "bookkeeping": 3,
        "finance": 2,
        "books": 2,
        "close": 1,
    },
    "extra": "audit preparation",
    "modules": [
        (
            "Close Calendar & Kickoff",
            "Agree the close timetable, owners and cut-off dates.",
            [
                "Publish the close calendar | Everyone knows what is due and when."
                " | Set deadlines for each close task; Assign owners;"
                " Share the calendar with finance and approvers",
                "Confirm cut-offs | Stop late items from slipping into the wrong period."
                " | Remind teams of invoice and expense cut-offs; Lock the prior period in the ledger",
            ],
        ),
        (
            "Transactions & Accruals",
            "Record all of the period's transactions and accruals.",
            [
                "Record revenue and billing | Recognise revenue in the right period."
                " | Confirm all invoices are issued; Record deferred and accrued revenue",
                "Book accruals and prepayments | Match costs to the period they belong to."
                " | Accrue unbilled expenses; Amortise prepayments; Post payroll entries",
            ],
        ),
        (
            "Reconciliations",
            "Reconcile bank, subledgers and balance sheet accounts.",
            [
                "Reconcile bank accounts | Every ledger line matches the bank."
                " | Match bank statements to the ledger; Investigate unmatched items",
                "Reconcile balance sheet accounts | Support every balance."
                " | Reconcile AR, AP and fixed asset subledgers; Document reconciling items;"
                " Get reviewer sign-off",
            ],
        ),
        (
            "Journal Entries & Adjustments",
            "Post and review manual entries and adjustments.",
            [
                "Post adjusting entries | Every entry has support attached."
                " | Prepare journal entries with support; Post depreciation and FX revaluation",
                "Review entries | A second pair of eyes on material entries."
                " | Review entries above the approval threshold; Approve and lock them",
            ],
        ),
        (
            "Financial Statements & Variance Review",
            "Produce the statements and explain the variances.",
            [
                "Produce statements | Generate the core reports from a balanced ledger."
                " | Check the trial balance; Run the P&L, balance sheet and cash flow",
                "Analyse variances | Explain the numbers before anyone asks."
                " | Compare actuals with budget and last month; Explain significant variances",
            ],
        ),
        (
            "Reporting & Sign-off",
            "Report results to leadership and close the period.",
            [
                "Report results | Give leadership a clear monthly picture."
                " | Prepare the management pack; Present results to leadership",
                "Close the period | Make the close final."
                " | Get CFO sign-off; Lock the period; Note improvements for next month",
            ],
        ),
    ],
}

ARCHETYPES_C: tuple[dict[str, Any], ...] = (
    QUARTERLY_BUSINESS_REVIEW,
    PRODUCT_LAUNCH,
    SECURITY_REVIEW,
    MONTH_END_CLOSE,
)
