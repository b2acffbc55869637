"""Notifications about approval requests: an outbox in the database, delivered by the worker.

A request, a transfer, an escalation, a decision or an expiry adds outbox rows in the same
transaction (so nothing is lost if the process dies), one per channel and recipient:

* e-mail over SMTP (``SMTP_URL``, e.g. ``smtp://127.0.0.1:2525``; ``smtps://`` or
  ``smtp://…?starttls=1`` with ``user:password@`` for a real relay), from ``NOTIFY_FROM``, to each
  member of the desk (their account e-mail) and, for outcomes, to the requester — the standard
  library's ``smtplib`` and ``email.message``;
* an SNS publish to ``APPROVAL_SNS_TOPIC_ARN`` (boto3);
* a Slack-compatible incoming-webhook POST ``{"text": …}`` to ``APPROVAL_WEBHOOK_URL`` (httpx).

The worker (:mod:`webapp.approvals.worker`) claims due rows and sends them. A failure is logged
and retried with exponential backoff (``next_attempt_at``, durable across restarts) up to
:data:`MAX_ATTEMPTS`; it never blocks a decision and never loses the request.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import Connection, Engine, insert, select, update

from ..models import Notification, User, UserDesk, utcnow

__all__ = ["MAX_ATTEMPTS", "deliver_due", "enqueue"]

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_DELAY_SECONDS = 5.0
MAX_DELAY_SECONDS = 600.0
CLAIM_SECONDS = 60.0
"""A row being sent is hidden this long from other workers (a crashed sender's row comes back)."""

_WORDS = {
    "requested": "needs your approval",
    "rerouted": "was transferred to your desk",
    "escalated": "was not decided in time and is escalated",
    "decided": "was decided",
    "expired": "expired undecided and was rejected",
}


def enqueue(
    conn: Connection,
    config: Mapping[str, Any],
    request: Mapping[str, Any],
    event: str,
    *,
    desks: list[str] | None = None,
    requester: bool = False,
    decision: str | None = None,
) -> int:
    """Add the outbox rows for one event about ``request``; returns how many.

    ``config`` holds the channel settings (taken when the request was handled: the relay records a
    pause outside any request context).
    """
    summary = str(request.get("intent_summary") or "an action")
    words = _WORDS.get(event, event)
    if event == "decided" and decision:
        words = f"was decided: {decision.replace('_', ' ')}"
    base = str(config.get("PUBLIC_URL") or "").rstrip("/")
    subject = f"Approval request {words}: {summary}"[:300]
    body = "\n".join(
        [
            f"{summary} — {words}.",
            f"Desk: {request.get('desk')}. Risk: {request.get('risk_level')}.",
            f"Decide by {request.get('required_by')}; it expires at {request.get('expires_at')}.",
            f"Open the queue: {base}/approvals" if base else "Open /approvals in Playbook Builder.",
        ]
    )
    recipients: set[str] = set()
    if desks and config.get("SMTP_URL"):
        recipients |= set(
            conn.execute(
                select(User.email)
                .join(UserDesk, UserDesk.user_id == User.id)
                .where(
                    UserDesk.desk.in_(desks),
                    User.vendor_id == request.get("vendor_id"),
                    User.active.is_(True),
                )
            ).scalars()
        )
    if requester and config.get("SMTP_URL"):
        email = conn.execute(select(User.email).where(User.id == request.get("requested_by"))).scalar()
        if email:
            recipients.add(email)
    rows = [{"channel": "email", "recipient": r} for r in sorted(recipients)]
    if config.get("APPROVAL_SNS_TOPIC_ARN"):
        rows.append({"channel": "sns", "recipient": str(config["APPROVAL_SNS_TOPIC_ARN"])})
    if config.get("APPROVAL_WEBHOOK_URL"):
        rows.append({"channel": "webhook", "recipient": "webhook"})
    now = utcnow()
    for row in rows:
        conn.execute(
            insert(Notification),
            {
                **row,
                "request_id": str(request.get("request_id")),
                "event": event,
                "subject": subject,
                "body": body,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
    return len(rows)


def deliver_due(engine: Engine, config: Mapping[str, Any], *, limit: int = 50) -> dict[str, int]:
    """Send the due outbox rows once each; returns counts of ``sent``, ``retry`` and ``failed``."""
    now = utcnow()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    with engine.begin() as conn:
        due = (
            conn.execute(
                select(Notification.id)
                .where(Notification.status == "pending", Notification.next_attempt_at <= now)
                .order_by(Notification.id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    for note_id in due:
        with engine.begin() as conn:
            claimed = conn.execute(
                update(Notification)
                .where(
                    Notification.id == note_id,
                    Notification.status == "pending",
                    Notification.next_attempt_at <= now,
                )
                .values(
                    next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS), attempts=Notification.attempts + 1
                )
            ).rowcount
            if not claimed:
                continue  # another worker took it
            note = conn.execute(select(Notification).where(Notification.id == note_id)).one()
        try:
            _send(note, config)
        except Exception as exc:  # noqa: BLE001 - any channel failure is retried, never raised
            delay = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** (note.attempts - 1))
            final = note.attempts >= MAX_ATTEMPTS
            logger.warning(
                "notification_id=<%s>, channel=<%s>, attempt=<%d>, error=<%s> | notification failed%s",
                note_id,
                note.channel,
                note.attempts,
                type(exc).__name__,
                "" if final else f", retrying in {delay:.0f} s",
            )
            with engine.begin() as conn:
                conn.execute(
                    update(Notification)
                    .where(Notification.id == note_id)
                    .values(
                        status="failed" if final else "pending",
                        next_attempt_at=utcnow() + timedelta(seconds=delay),
                        last_error=f"{type(exc).__name__}: {exc}"[:300],
                    )
                )
            counts["failed" if final else "retry"] += 1
            continue
        with engine.begin() as conn:
            conn.execute(
                update(Notification).where(Notification.id == note_id).values(status="sent", last_error=None)
            )
        counts["sent"] += 1
    return counts


def _send(note: Any, config: Mapping[str, Any]) -> None:
    if note.channel == "email":
        _send_email(note, config)
    elif note.channel == "sns":
        import boto3

        boto3.client("sns", region_name=str(config.get("AWS_REGION") or "us-east-1")).publish(
            TopicArn=note.recipient, Subject=note.subject[:100], Message=note.body
        )
    elif note.channel == "webhook":
        import httpx

        response = httpx.post(
            str(config["APPROVAL_WEBHOOK_URL"]), json={"text": f"{note.subject}\n{note.body}"}, timeout=10
        )
        response.raise_for_status()
    else:
        raise ValueError(f"unknown channel {note.channel!r}")


def _send_email(note: Any, config: Mapping[str, Any]) -> None:
    url = urlsplit(str(config["SMTP_URL"]))
    message = EmailMessage()
    message["From"] = str(config.get("NOTIFY_FROM") or "playbook-builder@localhost")
    message["To"] = note.recipient
    message["Subject"] = note.subject
    message.set_content(note.body)
    secure = url.scheme == "smtps"
    client_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
    with client_class(url.hostname or "127.0.0.1", url.port or (465 if secure else 25), timeout=10) as smtp:
        if not secure and parse_qs(url.query).get("starttls") == ["1"]:
            smtp.starttls()
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(message)
