"""Saving and loading playbooks: one transaction, a few bulk INSERTs, vendor-scoped."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent_runtime.contract import PlaybookSpec

from ..audit import AuditAction, AuditContext, append
from ..errors import ApiError
from ..models import Module, Playbook, Task, TaskStep, utcnow
from .versions import current_spec, record_version

UNTITLED = "Untitled playbook"


@dataclass(frozen=True)
class SaveResult:
    """The saved playbook's id and whether this call created it."""

    playbook_id: int
    created: bool


def spec_hash(spec: PlaybookSpec) -> str:
    """A stable hash of a playbook's content (for idempotency-key reuse checks)."""
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _insert_content(conn: Connection, playbook_id: int, spec: PlaybookSpec) -> None:
    """Insert modules, tasks and steps: one executemany INSERT per table, and one SELECT per level
    to learn the new ids (portable: no reliance on RETURNING order, which SQLite does not promise)."""
    if not spec.modules:
        return
    conn.execute(
        insert(Module),
        [
            {"playbook_id": playbook_id, "position": i, "title": m.title, "description": m.description}
            for i, m in enumerate(spec.modules)
        ],
    )
    module_ids = (
        conn.execute(select(Module.id).where(Module.playbook_id == playbook_id).order_by(Module.position))
        .scalars()
        .all()
    )
    task_rows = [
        {"module_id": module_id, "position": j, "title": task.title, "description": task.description}
        for module_id, module in zip(module_ids, spec.modules, strict=True)
        for j, task in enumerate(module.tasks)
    ]
    if not task_rows:
        return
    conn.execute(insert(Task), task_rows)
    task_ids = {
        (module_id, position): task_id
        for task_id, module_id, position in conn.execute(
            select(Task.id, Task.module_id, Task.position).where(Task.module_id.in_(module_ids))
        )
    }
    step_rows = [
        {
            "task_id": task_ids[(module_id, j)],
            "position": k,
            "title": step.title,
            "description": step.description,
        }
        for module_id, module in zip(module_ids, spec.modules, strict=True)
        for j, task in enumerate(module.tasks)
        for k, step in enumerate(task.steps)
    ]
    if step_rows:
        conn.execute(insert(TaskStep), step_rows)


def _existing(conn: Connection, vendor_id: int, key: str) -> tuple[int, str | None] | None:
    row = conn.execute(
        select(Playbook.id, Playbook.request_hash).where(
            Playbook.vendor_id == vendor_id, Playbook.idempotency_key == key
        )
    ).first()
    return (row[0], row[1]) if row else None


def _replay(found: tuple[int, str | None], digest: str) -> SaveResult:
    if found[1] != digest:
        raise ApiError(
            409, "IDEMPOTENCY_CONFLICT", "this idempotency key was already used for a different playbook"
        )
    return SaveResult(found[0], created=False)


def save_playbook(
    engine: Engine,
    *,
    spec: PlaybookSpec,
    vendor_id: int,
    user_id: int,
    idempotency_key: str,
    source_session_id: str | None = None,
    audit: AuditContext | None = None,
) -> SaveResult:
    """Store a playbook once per ``(vendor, idempotency_key)``, with its ``playbook.save`` audit row.

    A repeated key with the same content returns the first playbook (and adds no audit row: it is
    the same save); with other content it is a 409. Concurrent saves with one key race on the
    unique constraint; the losers return the winner.

    Args:
        audit: Who saves, from which request (email, request and trace ids); ids only if None.

    Raises:
        ApiError: 409 ``IDEMPOTENCY_CONFLICT``.
    """
    digest = spec_hash(spec)
    with engine.connect() as conn:
        found = _existing(conn, vendor_id, idempotency_key)
    if found is not None:
        return _replay(found, digest)
    now = utcnow()
    try:
        with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
            playbook_id = conn.execute(
                insert(Playbook).returning(Playbook.id),
                {
                    "vendor_id": vendor_id,
                    "created_by": user_id,
                    "title": spec.title or UNTITLED,
                    "description": spec.description,
                    "source_session_id": source_session_id,
                    "idempotency_key": idempotency_key,
                    "request_hash": digest,
                    "created_at": now,
                    "updated_at": now,
                },
            ).scalar_one()
            _insert_content(conn, playbook_id, spec)
            record_version(
                conn,
                playbook_id,
                spec.model_dump(mode="json"),
                user_id=user_id,
                source_session_id=source_session_id,
                idempotency_key=idempotency_key,
                first=True,
            )
            append(
                conn,
                _who(audit, vendor_id, user_id),
                AuditAction.PLAYBOOK_SAVE,
                at=now,
                session_id=source_session_id,
                subject_type="playbook",
                subject_id=str(playbook_id),
                detail={"title": spec.title or UNTITLED, "modules": len(spec.modules)},
            )
    except IntegrityError:
        with engine.connect() as conn:
            found = _existing(conn, vendor_id, idempotency_key)
        if found is None:
            raise
        return _replay(found, digest)
    return SaveResult(playbook_id, created=True)


def replace_playbook(
    engine: Engine,
    *,
    playbook_id: int,
    vendor_id: int,
    user_id: int,
    spec: PlaybookSpec,
    audit: AuditContext | None = None,
    source_session_id: str | None = None,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> int | None:
    """Replace a playbook's title, description and content in one transaction, as a new version.

    Returns:
        The new version's number, or None when the playbook is not this vendor's (nothing changed).
    """
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        owned = conn.execute(
            select(Playbook.id).where(Playbook.id == playbook_id, Playbook.vendor_id == vendor_id)
        ).first()
        if owned is None:
            return None
        before = current_spec(conn, playbook_id)
        changed = conn.execute(
            update(Playbook)
            .where(Playbook.id == playbook_id, Playbook.vendor_id == vendor_id)
            .values(title=spec.title or UNTITLED, description=spec.description, updated_at=utcnow())
        ).rowcount
        if changed != 1:
            return None
        # Steps and tasks go with their modules (ON DELETE CASCADE; SQLite has foreign_keys=ON).
        conn.execute(delete(Module).where(Module.playbook_id == playbook_id))
        _insert_content(conn, playbook_id, spec)
        version = record_version(
            conn,
            playbook_id,
            spec.model_dump(mode="json"),
            user_id=user_id,
            source_session_id=source_session_id,
            note=note,
            before=before,
            idempotency_key=idempotency_key,
        )
        append(
            conn,
            _who(audit, vendor_id, user_id),
            AuditAction.PLAYBOOK_UPDATE,
            session_id=source_session_id,
            subject_type="playbook",
            subject_id=str(playbook_id),
            detail={"title": spec.title or UNTITLED, "modules": len(spec.modules), "version": version}
            | ({"note": note} if note else {}),
        )
    return version


def delete_playbook(
    engine: Engine, *, playbook_id: int, vendor_id: int, user_id: int, audit: AuditContext | None = None
) -> bool:
    """Delete a vendor's playbook (and record it); False when it is not theirs."""
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        found = conn.execute(
            select(Playbook.title, Playbook.source_session_id).where(
                Playbook.id == playbook_id, Playbook.vendor_id == vendor_id
            )
        ).first()
        if found is None:
            return False
        conn.execute(delete(Playbook).where(Playbook.id == playbook_id, Playbook.vendor_id == vendor_id))
        append(
            conn,
            _who(audit, vendor_id, user_id),
            AuditAction.PLAYBOOK_DELETE,
            session_id=found.source_session_id,
            subject_type="playbook",
            subject_id=str(playbook_id),
            detail={"title": found.title},
        )
    return True


def _who(audit: AuditContext | None, vendor_id: int, user_id: int) -> AuditContext:
    """The audit context, trusting the ids the write is scoped by."""
    if audit is None:
        return AuditContext(user_id=user_id, vendor_id=vendor_id)
    if (audit.vendor_id, audit.user_id) != (vendor_id, user_id):
        raise ValueError("the audit context is not the acting user")
    return audit


def load_playbook(session: Session, playbook_id: int, vendor_id: int) -> Playbook | None:
    """The vendor's playbook with modules, tasks and steps loaded, or None."""
    from sqlalchemy.orm import selectinload

    return session.scalar(
        select(Playbook)
        .where(Playbook.id == playbook_id, Playbook.vendor_id == vendor_id)
        .options(selectinload(Playbook.modules).selectinload(Module.tasks).selectinload(Task.steps))
    )


def to_spec_dict(playbook: Playbook) -> dict[str, Any]:
    """A stored playbook in the wire shape (``PlaybookSpec``)."""
    return {
        "title": playbook.title,
        "description": playbook.description,
        "modules": [
            {
                "title": m.title,
                "description": m.description,
                "status": "built",
                "tasks": [
                    {
                        "title": t.title,
                        "description": t.description,
                        "steps": [{"title": s.title, "description": s.description} for s in t.steps],
                    }
                    for t in m.tasks
                ],
            }
            for m in playbook.modules
        ],
    }
