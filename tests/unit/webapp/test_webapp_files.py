"""Attachments through the web app (issue 12): upload, refusals that name the file, a turn's files
forwarded to the runtime, vendor scoping, and the audit trail."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.support import documents as docs
from tests.support.runtime_stub import StubRuntime
from tests.support.webapp_harness import Browser, LiveServer, WebClient, add_user
from webapp.extensions import db
from webapp.models import Attachment, AuditEvent, SessionAttachment

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def upload(browser: Browser, name: str, data: bytes, content_type: str = "application/octet-stream") -> Any:
    return browser.client.post(
        "/api/files",
        data={"file": (io.BytesIO(data), name, content_type)},
        content_type="multipart/form-data",
        headers=browser.headers(),
    )


def chat(session: dict[str, Any], files: list[dict[str, Any]], prompt: str = "frames=2") -> dict[str, Any]:
    return {
        "session_id": session["session_id"],
        "token": session["token"],
        "action": "chat",
        "prompt": prompt,
        "files": files,
    }


def rows(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(
    ("name", "make", "media_type"),
    [
        ("Onboarding SOP.docx", lambda: docs.docx_bytes("Client Onboarding SOP"), DOCX),
        ("runbook.pdf", lambda: docs.pdf_bytes("Client Onboarding SOP"), "application/pdf"),
        (
            "steps.xlsx",
            lambda: docs.xlsx_bytes("Steps"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("steps.csv", lambda: docs.csv_text().encode(), "text/csv"),
        ("sop.md", lambda: docs.markdown_text("SOP").encode(), "text/markdown"),
        ("notes.txt", lambda: b"Preparation:\n1. Book the room\n2. Send the agenda\n", "text/plain"),
        ("wiki.html", lambda: docs.html_text("Wiki export").encode(), "text/html"),
    ],
)
def test_each_supported_format_uploads_and_is_recognised_by_content(
    app: Flask, browser: Browser, user: dict[str, Any], name: str, make: Any, media_type: str
) -> None:
    data = make()
    response = upload(browser, name, data)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["name"] == name and body["media_type"] == media_type and body["size"] == len(data)
    assert body["file_id"].startswith("f_") and len(body["file_id"]) > 20
    with app.app_context():
        audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "attachment.upload")).one()
        assert audit.user_id == user["id"] and audit.subject_id == body["file_id"]
        assert audit.detail == {
            "name": name,
            "media_type": media_type,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }


@pytest.mark.parametrize(
    ("name", "make", "status", "code", "reason"),
    [
        ("locked.pdf", lambda: docs.pdf_bytes("X", password="s3cret"), 400, "FILE_UNREADABLE", "password"),
        ("broken.pdf", lambda: b"%PDF-1.7\n1 0 obj << >> garbage", 400, "FILE_UNREADABLE", "damaged"),
        ("bomb.docx", docs.zip_bomb_docx, 400, "FILE_UNREADABLE", "zip bomb"),
        ("parts.xlsx", docs.many_parts_xlsx, 400, "FILE_UNREADABLE", "parts"),
        ("cut.docx", lambda: docs.docx_bytes("T")[:4000], 400, "FILE_UNREADABLE", "damaged"),
        ("report.pdf", lambda: docs.docx_bytes("T"), 400, "UNSUPPORTED_FILE_TYPE", "not a PDF"),
        ("plan.docx", lambda: b"# Just markdown\n", 400, "UNSUPPORTED_FILE_TYPE", "not a Word document"),
        (
            "photo.png",
            lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            400,
            "UNSUPPORTED_FILE_TYPE",
            "can't be read",
        ),
        ("empty.txt", lambda: b"", 400, "FILE_EMPTY", "empty"),
        ("../../etc/cron.md", lambda: b"# x", 400, "INVALID_FILE_NAME", "path"),
        ("sop\x1b[31m.md", lambda: b"# x", 400, "INVALID_FILE_NAME", "control"),
    ],
)
def test_bad_files_are_refused_with_the_file_named_and_nothing_kept(
    app: Flask, browser: Browser, name: str, make: Any, status: int, code: str, reason: str
) -> None:
    response = upload(browser, name, make())
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and reason in error["message"]
    assert name.split("/")[-1][:3] in error["message"]  # the file is named
    assert rows(app, Attachment) == 0


def test_a_file_over_the_limit_is_refused_413_even_when_chunked(app: Flask, browser: Browser) -> None:
    app.config["ATTACH_MAX_FILE_BYTES"] = 64 * 1024
    big = b"# Heading\n" + b"- item\n" * 20_000
    response = upload(browser, "big.md", big)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "FILE_TOO_LARGE"

    boundary = "xyz"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.md"\r\n\r\n'.encode()
        + big
        + f"\r\n--{boundary}--\r\n".encode()
    )
    with LiveServer(app) as server, WebClient(server.url) as client:
        user = add_user(app)
        assert client.login(user["email"], user["password"]).status_code == 302
        sent: list[int] = []

        def chunks() -> Any:  # no Content-Length: Transfer-Encoding chunked
            for i in range(0, len(body), 8192):
                sent.append(i)
                yield body[i : i + 8192]

        response = client.http.post(
            "/api/files",
            content=chunks(),
            headers={**client.headers(), "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    assert response.status_code == 413 and response.json()["error"]["code"] == "FILE_TOO_LARGE"
    assert rows(app, Attachment) == 0


def test_upload_needs_sign_in_csrf_and_multipart(app: Flask, browser: Browser, anonymous: Browser) -> None:
    data = docs.markdown_text("SOP").encode()
    assert upload(anonymous, "sop.md", data).status_code == 401
    no_csrf = browser.client.post(
        "/api/files",
        data={"file": (io.BytesIO(data), "sop.md")},
        content_type="multipart/form-data",
        headers={k: v for k, v in browser.headers().items() if k != "X-CSRFToken"},
    )
    assert no_csrf.status_code == 403
    as_json = browser.post_json("/api/files", {"file": "x"})
    assert as_json.status_code == 415
    assert rows(app, Attachment) == 0


def test_the_same_content_is_stored_once_per_vendor(
    app: Flask, browser: Browser, user: dict[str, Any]
) -> None:
    data = docs.markdown_text("SOP").encode()
    first = upload(browser, "a.md", data).get_json()
    second = upload(browser, "b.md", data).get_json()
    assert first["file_id"] != second["file_id"]
    root = Path(app.config["ATTACHMENT_STORE"]) / str(user["vendor_id"])
    assert [p.name for p in root.iterdir() if not p.name.startswith(".")] == [
        hashlib.sha256(data).hexdigest()
    ]


def test_a_turns_files_reach_the_runtime_checked_linked_and_audited(
    app: Flask, browser: Browser, stub: StubRuntime
) -> None:
    small = docs.markdown_text("SOP").encode()
    # Over the runtime's inline limit (256 KB): sent by reference to the attachment store.
    large = (
        "Phase,Task,Step\n" + "".join(f"Phase {i // 100},Task {i // 10},Step {i}\n" for i in range(12_000))
    ).encode()
    assert len(large) > 256 * 1024
    large_ref = upload(browser, "Big steps.csv", large).get_json()
    small_ref = upload(browser, "sop.md", small).get_json()
    session = browser.mint()
    response = browser.post_json(
        "/api/agent/run",
        chat(session, [{"file_id": small_ref["file_id"]}, {"file_id": large_ref["file_id"]}]),
    )
    assert response.status_code == 200
    response.get_data()
    [invocation] = stub.invocations
    forwarded = invocation.payload["files"]
    assert [f["file_id"] for f in forwarded] == [small_ref["file_id"], large_ref["file_id"]]
    assert forwarded[0]["sha256"] == hashlib.sha256(small).hexdigest()
    assert base64.b64decode(forwarded[0]["data"]) == small  # small: inline
    assert forwarded[1]["size"] == len(large)
    assert "data" not in forwarded[1] and forwarded[1]["sha256"] == hashlib.sha256(large).hexdigest()
    listed = browser.client.get(f"/api/files?session_id={session['session_id']}").get_json()["files"]
    assert {f["name"] for f in listed} == {"sop.md", "Big steps.csv"}
    with app.app_context():
        sent = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "attachment.send")).all()
        assert {(a.session_id, a.detail["name"]) for a in sent} == {
            (session["session_id"], "sop.md"),
            (session["session_id"], "Big steps.csv"),
        }
        assert db.session.scalar(select(func.count()).select_from(SessionAttachment)) == 2


def test_an_inline_file_is_checked_and_stored_like_an_upload(
    app: Flask, browser: Browser, stub: StubRuntime
) -> None:
    data = docs.csv_text().encode()
    session = browser.mint()
    inline = {"name": "steps.csv", "media_type": "text/csv", "data": base64.b64encode(data).decode()}
    response = browser.post_json("/api/agent/run", chat(session, [inline]))
    assert response.status_code == 200
    response.get_data()
    [forwarded] = stub.invocations[0].payload["files"]
    assert forwarded["name"] == "steps.csv" and forwarded["media_type"] == "text/csv"
    assert rows(app, Attachment) == 1

    bad = {
        "name": "evil.pdf",
        "media_type": "application/pdf",
        "data": base64.b64encode(b"MZ\x90\x00").decode(),
    }
    refused = browser.post_json("/api/agent/run", chat(session, [bad]))
    assert refused.status_code == 400 and "evil.pdf" in refused.get_json()["error"]["message"]
    assert len(stub.invocations) == 1  # no partial turn ran


def test_too_many_or_too_large_files_are_refused_before_the_runtime(
    app: Flask, browser: Browser, stub: StubRuntime
) -> None:
    ids = [upload(browser, f"s{i}.md", f"# Doc {i}\n- a\n".encode()).get_json()["file_id"] for i in range(6)]
    session = browser.mint()
    response = browser.post_json("/api/agent/run", chat(session, [{"file_id": i} for i in ids]))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "TOO_MANY_FILES"
    app.config["ATTACH_MAX_TURN_BYTES"] = 20
    response = browser.post_json("/api/agent/run", chat(session, [{"file_id": i} for i in ids[:2]]))
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "FILE_TOO_LARGE"
    assert stub.invocations == []


def test_another_vendors_file_cannot_be_sent_fetched_or_listed(
    app: Flask, browser: Browser, stub: StubRuntime
) -> None:
    theirs = upload(browser, "secret.md", b"# Secret plan\n- step\n").get_json()
    their_session = browser.mint()

    intruder_user = add_user(app)
    intruder = Browser(app.test_client())
    assert intruder.login(intruder_user["email"], intruder_user["password"]).status_code == 302
    mine = intruder.mint()
    response = intruder.post_json("/api/agent/run", chat(mine, [{"file_id": theirs["file_id"]}]))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "FILE_NOT_FOUND"
    assert intruder.client.get(f"/api/files/{theirs['file_id']}").status_code == 404
    assert intruder.client.get(f"/api/files?session_id={their_session['session_id']}").status_code == 404
    assert stub.invocations == []

    own = browser.client.get(f"/api/files/{theirs['file_id']}")
    assert own.status_code == 200 and own.get_data() == b"# Secret plan\n- step\n"
    assert own.headers["Content-Disposition"].startswith("attachment")
    assert own.headers["X-Content-Type-Options"] == "nosniff"


def test_the_audit_page_lists_uploads_and_sends_in_words(
    app: Flask, browser: Browser, stub: StubRuntime
) -> None:
    data = docs.markdown_text("SOP").encode()
    file_id = upload(browser, "Onboarding SOP.md", data).get_json()["file_id"]
    session = browser.mint()
    browser.post_json("/api/agent/run", chat(session, [{"file_id": file_id}])).get_data()
    page = browser.client.get("/audit").get_data(as_text=True)
    assert "File uploaded" in page and "File sent to the assistant" in page
    assert "Onboarding SOP.md" in page and hashlib.sha256(data).hexdigest()[:12] in page
