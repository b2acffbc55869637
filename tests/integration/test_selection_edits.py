"""Selection steers the edit (issue 11), through the web runtime_app and the REAL runtime (offline model):
with module 3 selected "make this more detailed" changes module 3 only — the whole canvas is
compared before and after —; a selected task is renamed and removed; named tasks work with no
selection; a stale selection changes nothing and the reply says why."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.support.sse import parse_frames, text_of
from tests.support.webapp_harness import *  # noqa: F403
from tests.support.webapp_harness import Browser, add_user

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"


class Page:
    """One builder page: a signed-in browser with its session."""

    def __init__(self, runtime_app: Flask) -> None:
        user = add_user(runtime_app)
        self.browser = Browser(runtime_app.test_client())
        assert self.browser.login(user["email"], user["password"]).status_code == 302
        self.session = self.browser.mint()

    def say(self, prompt: str, selected: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
        """A chat turn; returns the closing snapshot and the assistant's text."""
        ids = {"session_id": self.session["session_id"], "token": self.session["token"]}
        body: dict[str, Any] = {**ids, "action": "chat", "prompt": prompt}
        body["ui_context"] = {"phase": "outline", **({"selected": selected} if selected else {})}
        response = self.browser.post_json("/api/agent/run", body)
        assert response.status_code == 200, response.get_data()
        frames = parse_frames(response.get_data())
        assert frames[-1].type == "RUN_FINISHED", frames[-1].event
        return [f.event["snapshot"] for f in frames if f.type == "STATE_SNAPSHOT"][-1], text_of(frames)

    def watch(self) -> dict[str, Any]:
        sid = self.session["session_id"]
        response = self.browser.post_json(f"/api/agent/run/{sid}/watch", {"token": self.session["token"]})
        frames = parse_frames(response.get_data())
        return [f.event["snapshot"] for f in frames if f.type == "STATE_SNAPSHOT"][-1]


def only_changed(before: dict[str, Any], after: dict[str, Any], index: int) -> dict[str, Any]:
    """The whole canvas is as before except module ``index``; returns that module after."""
    assert {k: v for k, v in after.items() if k != "modules"} == {
        k: v for k, v in before.items() if k != "modules"
    }
    assert len(after["modules"]) == len(before["modules"])
    differ = [i for i, (a, b) in enumerate(zip(before["modules"], after["modules"], strict=True)) if a != b]
    assert differ == [index], differ
    return after["modules"][index]  # type: ignore[no-any-return]


def test_the_selected_module_or_task_is_the_one_that_changes(runtime_app: Flask) -> None:
    page = Page(runtime_app)
    outline, _ = page.say(ONBOARDING)
    before = outline["canvas"]
    assert len(before["modules"]) >= 4

    detailed, text = page.say("make this more detailed", {"module_index": 2})
    module = only_changed(before, detailed["canvas"], 2)
    assert module["title"] == before["modules"][2]["title"] and module["title"] in text
    assert module["description"].startswith(before["modules"][2]["description"])
    assert len(module["description"]) > len(before["modules"][2]["description"])
    assert detailed["version"] > outline["version"]

    stale, why = page.say("remove this", {"module_index": 15})
    assert stale["canvas"] == detailed["canvas"] and stale["version"] == detailed["version"]
    assert "no longer matches the canvas" in why

    page.say("build it")
    built = page.watch()
    assert built["phase"] == "refinement" and all(m["tasks"] for m in built["canvas"]["modules"])

    renamed, _ = page.say("rename this to Kickoff call", {"module_index": 1, "task_index": 0})
    module = only_changed(built["canvas"], renamed["canvas"], 1)
    assert module["tasks"][0]["title"] == "Kickoff call"
    assert module["tasks"][0]["steps"] == built["canvas"]["modules"][1]["tasks"][0]["steps"]
    assert module["tasks"][1:] == built["canvas"]["modules"][1]["tasks"][1:]

    removed, _ = page.say("remove task 2 of module 1")
    module = only_changed(renamed["canvas"], removed["canvas"], 0)
    kept = renamed["canvas"]["modules"][0]["tasks"]
    assert module["tasks"] == kept[:1] + kept[2:]

    more, _ = page.say("make module 2 more detailed")
    module = only_changed(removed["canvas"], more["canvas"], 1)
    assert [len(t["steps"]) for t in module["tasks"]] == [
        len(t["steps"]) + 1 for t in removed["canvas"]["modules"][1]["tasks"]
    ]

    step, _ = page.say("add a step about recording the call", {"module_index": 1, "task_index": 1})
    module = only_changed(more["canvas"], step["canvas"], 1)
    assert module["tasks"][1]["steps"][-1]["title"] == "Record the call"
