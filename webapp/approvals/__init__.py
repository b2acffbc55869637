"""Approvals that reach the right person (issue 13, DESIGN §8): desks, the operator queue, one
decision that resumes the paused session, transfers, SLA escalation, expiry and notifications.

* :mod:`.service` — record, decide (exactly once), transfer, escalate, expire;
* :mod:`.watch` — records a run's pause as requests while its stream is relayed;
* :mod:`.notify` — the outbox and its channels (SMTP, SNS, webhook);
* :mod:`.worker` — the periodic pass (escalation, expiry, delivery);
* :mod:`.views` — ``/approvals``, ``/api/approvals``, and the resume hook of the run proxy.
"""
