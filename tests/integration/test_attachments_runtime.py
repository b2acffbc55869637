"""Attach an SOP and get a playbook (issue 12), through the web app and the REAL runtime process with
the offline model: the outline's modules are the document's headings, its title the playbook's, and
after "build it" each module's tasks and steps are the lists under its heading."""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.support import documents as docs
from tests.support.runtime_process import RUNTIME_SECRET, RuntimeProcess, start_runtime
from tests.support.sse import Frame, last_snapshot, parse_frames
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import Browser, add_user, app_config
from webapp import create_app

HEADINGS = [h for h, _ in docs.SOP]
TASKS = {h: [t for t, _ in tasks] for h, tasks in docs.SOP}
STEPS = {t: list(steps) for _, tasks in docs.SOP for t, steps in tasks}


@pytest.fixture(scope="module")
def store_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="pb-attachments-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def attach_runtime(store_dir: str) -> Iterator[RuntimeProcess]:
    with start_runtime({"ATTACHMENT_STORE": store_dir}) as process:
        yield process


@pytest.fixture()
def app(sqlite_url: str, attach_runtime: RuntimeProcess, store_dir: str) -> Iterator[Flask]:
    application = create_app(
        app_config(
            sqlite_url,
            attach_runtime.url,
            AGENT_SIGNING_SECRET=RUNTIME_SECRET,
            ATTACHMENT_STORE=store_dir,
            RUNTIME_READ_TIMEOUT=60.0,
        )
    )
    yield application
    application.extensions["database"].dispose()
    application.extensions["agent_transport"].close()


@pytest.fixture()
def browser(app: Flask) -> Browser:
    user = add_user(app)
    b = Browser(app.test_client())
    assert b.login(user["email"], user["password"]).status_code == 302
    return b


def upload(browser: Browser, name: str, data: bytes) -> str:
    response = browser.client.post(
        "/api/files",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers=browser.headers(),
    )
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["file_id"])


def turn(
    browser: Browser, session: dict[str, Any], prompt: str, files: list[str] | None = None
) -> list[Frame]:
    body: dict[str, Any] = {"session_id": session["session_id"], "token": session["token"], "prompt": prompt}
    if files:
        body["files"] = [{"file_id": f} for f in files]
    response = browser.post_json("/api/agent/run", body)
    assert response.status_code == 200, response.get_data()
    return parse_frames(response.get_data())


def watch(browser: Browser, session: dict[str, Any]) -> list[Frame]:
    response = browser.post_json(f"/api/agent/run/{session['session_id']}/watch", {"token": session["token"]})
    assert response.status_code == 200
    return parse_frames(response.get_data())


def text(frames: list[Frame]) -> str:
    return "".join(f.event.get("delta", "") for f in frames if f.type == "TEXT_MESSAGE_CONTENT")


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("Client Onboarding SOP.docx", lambda: docs.docx_bytes("Client Onboarding SOP")),
        ("client-onboarding-sop.pdf", lambda: docs.pdf_bytes("Client Onboarding SOP")),
        ("onboarding.md", lambda: docs.markdown_text("Client Onboarding SOP").encode()),
        ("onboarding.html", lambda: docs.html_text("Client Onboarding SOP").encode()),
    ],
)
def test_an_attached_sop_becomes_the_playbook_and_its_lists_the_tasks(
    browser: Browser, name: str, make: Any
) -> None:
    file_id = upload(browser, name, make())
    session = browser.mint()
    first = turn(browser, session, "Here is our current onboarding SOP — turn it into a playbook", [file_id])
    assert first[-1].type == "RUN_FINISHED", [f.type for f in first][-5:]
    canvas = last_snapshot(first)["canvas"]
    assert canvas["title"] == "Client Onboarding SOP"
    assert [m["title"] for m in canvas["modules"]] == HEADINGS
    assert name in text(first)

    build = turn(browser, session, "build it")
    assert build[-1].type == "RUN_FINISHED"
    done = watch(browser, session)
    assert done[-1].type == "RUN_FINISHED", [f.type for f in done][-5:]
    built = last_snapshot(done)["canvas"]["modules"]
    for module in built:
        assert [t["title"] for t in module["tasks"]] == TASKS[module["title"]], module["title"]
        for task in module["tasks"]:
            assert [s["title"] for s in task["steps"]] == STEPS[task["title"]]


def test_a_csv_of_steps_becomes_modules_tasks_and_steps(browser: Browser) -> None:
    file_id = upload(browser, "onboarding steps.csv", docs.csv_text().encode())
    session = browser.mint()
    first = turn(browser, session, "Build a playbook from this checklist", [file_id])
    assert [m["title"] for m in last_snapshot(first)["canvas"]["modules"]] == HEADINGS
    turn(browser, session, "build it")
    built = last_snapshot(watch(browser, session))["canvas"]["modules"]
    assert [t["title"] for t in built[1]["tasks"]] == TASKS["Paperwork"]


def test_a_document_without_structure_gets_an_outline_from_its_phrases_and_says_so(browser: Browser) -> None:
    prose = (
        b"Our vendor review happens every quarter. The vendor review covers security questionnaires and "
        b"contract renewals. Security questionnaires go to the security team; contract renewals go to "
        b"legal. After the vendor review we update the risk register. The risk register is shared with "
        b"finance. Security questionnaires must be answered within two weeks."
    )
    file_id = upload(browser, "notes.txt", prose)
    session = browser.mint()
    frames = turn(browser, session, "Turn this into a playbook", [file_id])
    modules = [m["title"] for m in last_snapshot(frames)["canvas"]["modules"]]
    assert "Vendor Review" in modules and "Security Questionnaires" in modules
    assert "no headings or lists" in text(frames)


def test_the_runtime_reads_blobs_only_under_the_tokens_vendor(
    app: Flask, browser: Browser, attach_runtime: RuntimeProcess
) -> None:
    """A payload naming another vendor's hash finds nothing: the key comes from the verified token."""
    import hashlib

    import httpx

    from agent_runtime.contract import SESSION_HEADER, TokenCodec

    data = ("# Secret\n\n## A\n- x\n\n## B\n- y\n" * 40_000).encode()[: 300 * 1024]
    upload(browser, "secret.md", data)  # stored under the first vendor
    other = add_user(app)
    sid = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    token = TokenCodec([RUNTIME_SECRET]).mint(sid=sid, uid=other["id"], vid=other["vendor_id"], typ="copilot")
    payload = {
        "action": "chat",
        "session_id": sid,
        "token": token,
        "prompt": "turn it into a playbook",
        "files": [
            {
                "file_id": "f_forged",
                "name": "secret.md",
                "media_type": "text/markdown",
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        ],
    }
    response = httpx.post(
        f"{attach_runtime.url}/invocations", json=payload, headers={SESSION_HEADER: sid}, timeout=30
    )
    frames = parse_frames(response.content)
    errors = [f.event for f in frames if f.type == "RUN_ERROR"]
    assert [e["code"] for e in errors] == ["FILE_NOT_FOUND"], [f.type for f in frames]
    assert "Secret" not in response.text.replace("secret.md", "")
