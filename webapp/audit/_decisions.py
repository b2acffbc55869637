"""Auditing ``resume_interrupt``: every decision a signed-in person sends is a row.

* Forwarded: an ``interrupt.decision`` row (outcome ``forwarded``) is written **before** the
  runtime is called — if it cannot be written, the decision is not forwarded (503
  ``AUDIT_UNAVAILABLE``). When the stream ends, one ``interrupt.outcome`` row with
  ``parent_id`` = the decision row records what the runtime answered (``_outcome.py``).
* Refused by the web app before the runtime (bad/expired token, another user's or vendor's
  session, CSRF, cross-site, wrong content type, a turn already running): one
  ``interrupt.decision`` row with outcome ``refused:<error code>``, written by an
  ``after_request`` hook so that refusals raised by ``before_request`` guards are seen too.
  Malformed or oversized bodies (400/413) are validation noise and not recorded, nor is
  anything from a caller who is not signed in (there is nobody to attribute it to).

Rows are only ever inserted; a decision and its outcome are two rows, never one row updated.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Response, g, request
from sqlalchemy import Engine

from agent_runtime.contract import Action, ErrorCode, Limits, ResumeInterruptPayload

from ..errors import ApiError
from ..extensions import db
from ._outcome import StreamResult, TerminalScanner
from ._record import AuditAction, AuditContext, append_now, current_context

logger = logging.getLogger(__name__)

RECORDED_REFUSALS = frozenset({401, 403, 409, 415})
"""Statuses of web-app refusals that are recorded (security-relevant, not validation noise)."""


class DecisionAudit:
    """The audit of one forwarded decision: observes the relayed stream, then appends the outcome.

    Implements the relay's observer protocol (``feed``/``closed``).
    """

    def __init__(
        self, engine: Engine, who: AuditContext, payload: ResumeInterruptPayload, row_id: int
    ) -> None:
        self._engine = engine
        self._who = who
        self._payload = payload
        self.decision_row_id = row_id
        self._scanner = TerminalScanner()
        self._done = False

    @classmethod
    def record(cls, engine: Engine, who: AuditContext, payload: ResumeInterruptPayload) -> DecisionAudit:
        """Append the decision row (before the runtime is called).

        Raises:
            ApiError: 503 ``AUDIT_UNAVAILABLE`` when the row cannot be written.
        """
        try:
            row_id = append_now(
                engine,
                who,
                AuditAction.DECISION,
                session_id=payload.session_id,
                interrupt_id=payload.interrupt_id,
                decision=payload.decision.value,
                context=payload.context,
                outcome="forwarded",
            )
        except Exception:  # noqa: BLE001 - any database trouble means: do not forward
            logger.exception(
                "session_id=<%s>, interrupt_id=<%s> | decision not audited; not forwarded",
                payload.session_id,
                payload.interrupt_id,
            )
            raise ApiError(
                503, ErrorCode.AUDIT_UNAVAILABLE, "the decision could not be recorded; it was not sent"
            ) from None
        g._audit_decision_recorded = True
        return cls(engine, who, payload, row_id)

    # -- the relay's observer protocol ------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        """A copy of a chunk the relay forwarded (read only)."""
        self._scanner.feed(chunk)

    def closed(self, result: StreamResult) -> None:
        """The stream is over: append the outcome row."""
        detail = self._scanner.detail()
        detail["bytes"] = result.bytes_sent
        self._finish(self._scanner.outcome(result), detail)

    # -- before any stream ------------------------------------------------------------------------

    def upstream_refused(self, status: int, code: str) -> None:
        """The runtime (or the way to it) failed before streaming."""
        self._finish(f"failed:{status}", {"code": code})

    def _finish(self, outcome: str, detail: dict[str, Any]) -> None:
        if self._done:
            return
        self._done = True
        payload = self._payload
        try:
            append_now(
                self._engine,
                self._who,
                AuditAction.OUTCOME,
                session_id=payload.session_id,
                interrupt_id=payload.interrupt_id,
                decision=payload.decision.value,
                outcome=outcome,
                parent_id=self.decision_row_id,
                detail=detail,
            )
        except Exception:  # noqa: BLE001 - the decision row stands; log the missing outcome
            logger.exception(
                "session_id=<%s>, interrupt_id=<%s>, outcome=<%s> | outcome not audited",
                payload.session_id,
                payload.interrupt_id,
                outcome,
            )
            return
        logger.info(
            "session_id=<%s>, interrupt_id=<%s>, decision=<%s>, outcome=<%s> | decision audited",
            payload.session_id,
            payload.interrupt_id,
            payload.decision.value,
            outcome,
        )


def _attempted_fields() -> dict[str, Any]:
    """What the refused request claimed (strings only, capped by :func:`append`)."""
    fields: dict[str, Any] = {"session_id": (request.view_args or {}).get("sid")}
    length = request.content_length
    if length is None or length > Limits.MAX_INVOCATION_BYTES:
        return fields
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except ValueError:
        return fields
    if isinstance(body, dict):
        for name in ("interrupt_id", "decision", "context"):
            value = body.get(name)
            if isinstance(value, str):
                fields[name] = value
    return fields


def _error_code(response: Response) -> str:
    try:
        body = json.loads(response.get_data())
        return str(body["error"]["code"])
    except (ValueError, KeyError, TypeError, RuntimeError):
        return str(response.status_code)


def record_refused_decision(response: Response) -> Response:
    """``after_request`` (agent blueprint): a refused ``resume_interrupt`` becomes a row."""
    if response.status_code not in RECORDED_REFUSALS:
        return response
    if request.endpoint != "agent.run_action":
        return response
    if (request.view_args or {}).get("action") != Action.RESUME_INTERRUPT:
        return response
    if g.get("_audit_decision_recorded"):
        return response  # a forwarded decision; its outcome row tells the rest
    try:
        who = current_context()
        if who is None:
            return response
        outcome = f"refused:{_error_code(response)}"
        append_now(db.engine, who, AuditAction.DECISION, outcome=outcome, **_attempted_fields())
        g._audit_decision_recorded = True
        logger.info("user_id=<%s>, outcome=<%s> | refused decision audited", who.user_id, outcome)
    except Exception:  # noqa: BLE001 - the refusal stands whether or not it could be recorded
        logger.exception("a refused decision could not be audited")
    return response
