"""The append-only audit trail (``audit_event``, DESIGN §8–§9, issue 5).

Every decision on an interrupt and every playbook save, edit and delete is a row: who (user id and
the email at that time), vendor, when (UTC), session, action, interrupt, decision, the person's
context (capped at ``Limits.MAX_CONTEXT_CHARS``), outcome, and the request and W3C trace ids.

Append-only at three levels:

* the application has one write path, :func:`append` (an ``INSERT``), and nothing else touches
  the table (a test inspects the source for any ``UPDATE``/``DELETE``);
* the ORM refuses to flush a change to or a deletion of an :class:`~webapp.models.AuditEvent`,
  and refuses ORM ``update()``/``delete()`` statements on it (:class:`~webapp.errors.AppendOnlyError`);
* database triggers refuse ``UPDATE`` and ``DELETE`` (and ``TRUNCATE`` on Postgres), migration
  ``0002``.

Decisions (``_decisions.py``): a forwarded decision is an ``interrupt.decision`` row written
before the runtime is called, then an ``interrupt.outcome`` row (``parent_id`` → the decision)
once the relayed stream ends, its outcome read from the stream's terminal event
(``_outcome.py``). A decision the web app refuses is one ``interrupt.decision`` row with outcome
``refused:<code>``. ``/audit`` (``views.py``) shows a vendor's rows, newest first.
"""

from __future__ import annotations

from ._decisions import DecisionAudit, record_refused_decision
from ._outcome import StreamResult, TerminalScanner
from ._record import (
    CONTEXT_MAX_CHARS,
    AuditAction,
    AuditContext,
    append,
    append_now,
    current_context,
    ids_from_headers,
    request_ids,
)

__all__ = [
    "CONTEXT_MAX_CHARS",
    "AuditAction",
    "AuditContext",
    "DecisionAudit",
    "StreamResult",
    "TerminalScanner",
    "append",
    "append_now",
    "current_context",
    "record_refused_decision",
    "ids_from_headers",
    "request_ids",
]
