"""How the offline model uses the playbook library's MCP tools (when the agent offers them).

Orchestrator: a prompt that says "based on our <name> playbook" searches the saved playbooks
(``search_playbooks``), reads the best hit (``get_playbook``) and drafts the outline from its
structure, with the old topic's words swapped for the new one's; a prompt that names a policy
("follow our security policy") lists the policies (``list_policies``), reads the best match
(``get_policy``) and notes it in the playbook description ("Follows our …"). Builders of such a
playbook read that policy too and cite it (and the closest section) in each task's description.

Everything is read back from the conversation — the tool calls made since the prompt and their
results — so the replies stay deterministic across the turn's model calls.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from strands.types.content import Messages
from strands.types.tools import ToolSpec

from agent_runtime.contract import Limits, ToolName

from ._text import clip, title_case
from ._types import Reply, ToolCall, call

__all__ = [
    "LIBRARY_TOOLS",
    "LibraryState",
    "LibraryStep",
    "builder_library_state",
    "cite_policy",
    "library_state",
    "orchestrator_replies",
    "use_library",
]

LIBRARY_TOOLS = frozenset({"search_playbooks", "get_playbook", "list_policies", "get_policy"})

_BASED_ON = re.compile(
    r"\b(?:based on|modell?ed on|starting from|from|like|using|reusing|adapting)\s+our\s+"
    r"(?P<name>[\w\s&'/-]+?)\s+(?:playbook|runbook|checklist|process)\b",
    re.IGNORECASE,
)
_POLICY = re.compile(
    r"\b(?:follow(?:s|ing)?|per|comply with|complies with|according to|in line with|under|apply|applying)\s+"
    r"(?:to\s+)?our\s+(?P<name>[\w\s&'/-]+?)\s+(?:policy|policies|standards?|guidelines?|template)\b",
    re.IGNORECASE,
)
_FOLLOWS = re.compile(r"Follows our (?P<title>[^.]+)\.")
_BEFORE = re.compile(
    r"\s*,?\s*(?:based on|modell?ed on|starting from|using|reusing|adapting)\s+our\b.*$", re.I | re.S
)
_REQUEST = re.compile(
    r"^(?:please\s+)?(?:(?:can|could) you\s+)?"
    r"(?:create|make|draft|write|design|build|give me|i need|we need)\s+"
    r"(?:me\s+|us\s+)?(?:a|an|the|new)?\s*",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")


@dataclass
class LibraryState:
    """What the library calls since the prompt found, and what is still to call.

    Attributes:
        next_call: The library call to make now, if any.
        calls_made: Assistant messages since the prompt that called library tools.
        playbook_query: The "based on our …" name, if the prompt has one.
        playbook: The saved playbook read, if found.
        policy_query: The policy the prompt names, if any.
        policy: The policy read (``name``, ``title``, ``sections``, ``markdown``), if found.
    """

    next_call: ToolCall | None = None
    calls_made: int = 0
    playbook_query: str | None = None
    playbook: dict[str, Any] | None = None
    policy_query: str | None = None
    policy: dict[str, Any] | None = None
    results: dict[str, list[Any]] = field(default_factory=dict)


def _offered(tool_specs: list[ToolSpec]) -> set[str]:
    return {spec["name"] for spec in tool_specs} & LIBRARY_TOOLS


def _prompt_index(messages: Messages) -> int:
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message["role"] == "user" and any("text" in block for block in message.get("content", [])):
            return index
    return -1


def _calls_since_prompt(messages: Messages) -> tuple[int, dict[str, list[Any]]]:
    """(assistant messages with library calls, successful results by tool name, oldest first)."""
    start = _prompt_index(messages)
    names: dict[str, str] = {}
    made = 0
    results: dict[str, list[Any]] = {}
    for message in messages[start + 1 :]:
        blocks = message.get("content", [])
        if message["role"] == "assistant":
            uses = [b["toolUse"] for b in blocks if "toolUse" in b and b["toolUse"]["name"] in LIBRARY_TOOLS]
            for use in uses:
                names[use["toolUseId"]] = use["name"]
            made += 1 if uses else 0
            continue
        for block in blocks:
            result = block.get("toolResult")
            if not result or result.get("toolUseId") not in names:
                continue
            name = names[result["toolUseId"]]
            value: Any = None
            if result.get("status") == "success":
                value = _result_json(result)
            results.setdefault(name, []).append(value)
    return made, results


def _result_json(result: Any) -> Any:
    structured = result.get("structuredContent")
    if isinstance(structured, dict):
        return structured
    for item in result.get("content", []):
        text = item.get("text") if isinstance(item, dict) else None
        if text:
            try:
                return json.loads(text)
            except ValueError:
                continue
    return None


def library_state(messages: Messages, tool_specs: list[ToolSpec], prompt: str) -> LibraryState | None:
    """The orchestrator's library work for this prompt (``None``: the prompt asks for none)."""
    offered = _offered(tool_specs)
    based = _BASED_ON.search(prompt) if {"search_playbooks", "get_playbook"} <= offered else None
    policy = _POLICY.search(prompt) if {"list_policies", "get_policy"} <= offered else None
    if based is None and policy is None:
        return None
    made, results = _calls_since_prompt(messages)
    state = LibraryState(calls_made=made, results=results)
    if based is not None:
        state.playbook_query = " ".join(based.group("name").split())
        if "search_playbooks" not in results:
            state.next_call = call("search_playbooks", query=state.playbook_query, limit=3)
            return state
        hits = (results["search_playbooks"][-1] or {}).get("playbooks") or []
        if hits and "get_playbook" not in results:
            state.next_call = call("get_playbook", playbook_id=int(hits[0]["playbook_id"]))
            return state
        found = (results.get("get_playbook") or [None])[-1]
        state.playbook = found if isinstance(found, dict) and found.get("modules") else None
    if policy is not None:
        state.policy_query = " ".join(policy.group("name").split())
        _policy_step(state, results, state.policy_query)
    return state


def _policy_step(state: LibraryState, results: dict[str, list[Any]], query: str) -> None:
    if "list_policies" not in results:
        state.next_call = call("list_policies", query=query)
        return
    docs = (results["list_policies"][-1] or {}).get("policies") or []
    if docs and "get_policy" not in results:
        state.next_call = ToolCall("get_policy", {"name": str(docs[0]["name"])})
        return
    found = (results.get("get_policy") or [None])[-1]
    state.policy = found if isinstance(found, dict) and found.get("title") else None


def builder_library_state(
    messages: Messages, tool_specs: list[ToolSpec], playbook_description: str
) -> LibraryState | None:
    """A builder's library work: read the policy its playbook follows (``None``: none to read)."""
    follows = _FOLLOWS.search(playbook_description or "")
    if follows is None or not {"list_policies", "get_policy"} <= _offered(tool_specs):
        return None
    made, results = _calls_since_prompt(messages)
    state = LibraryState(calls_made=made, results=results, policy_query=follows.group("title"))
    _policy_step(state, results, follows.group("title"))
    return state


# ------------------------------------------------------------------ shaping the replies


def _topic(prompt: str) -> str:
    text = _BEFORE.sub("", " ".join(prompt.split())).strip(" .!?")
    text = _REQUEST.sub("", text).strip()
    text = re.sub(r"\s+(?:playbook|runbook|checklist|process)$", "", text, flags=re.I)
    return text or "New"


def _swaps(old: str, new: str) -> list[tuple[re.Pattern[str], str]]:
    """Word swaps from the old topic to the new one ("onboarding" → "offboarding")."""
    old_words = [w for w in _WORD.findall(old.lower())]
    new_words = [w for w in _WORD.findall(new.lower())]
    swaps = []
    for a, b in zip(old_words, new_words, strict=False):
        if a != b:
            swaps.append((re.compile(rf"\b{re.escape(a)}\b", re.I), b))
    return swaps


def _swap(text: str, swaps: list[tuple[re.Pattern[str], str]]) -> str:
    for pattern, word in swaps:

        def keep_case(match: re.Match[str], word: str = word) -> str:
            return word.capitalize() if match.group(0)[:1].isupper() else word

        text = pattern.sub(keep_case, text)
    return text


def _outline_from(playbook: dict[str, Any], topic: str, query: str) -> dict[str, Any]:
    swaps = _swaps(query, topic)
    title = clip(title_case(f"{topic} Playbook"))
    modules = []
    for module in playbook["modules"][: Limits.MAX_MODULES]:
        modules.append(
            {
                "title": clip(_swap(module["title"], swaps)),
                "description": clip(
                    _swap(module.get("description") or "", swaps), Limits.MAX_DESCRIPTION_CHARS
                ),
            }
        )
    description = clip(
        f"Follows the structure of your saved playbook “{playbook['title']}”.", Limits.MAX_DESCRIPTION_CHARS
    )
    return {"title": title, "description": description, "modules": modules}


def _with_text_prefix(replies: list[Reply], prefix: str) -> list[Reply]:
    out = list(replies)
    for i, reply in enumerate(out):
        if reply.text:
            out[i] = replace(reply, text=f"{prefix}\n\n{reply.text}")
            return out
    return [Reply(prefix, ()), *out] if out and out[-1].tool_calls else out + [Reply(prefix, ())]


def _with_policy(replies: list[Reply], policy: dict[str, Any]) -> list[Reply]:
    note = f" Follows our {policy['title']}."
    out = []
    for reply in replies:
        calls = []
        for tool_call in reply.tool_calls:
            if tool_call.name == ToolName.SET_PLAYBOOK_OUTLINE.value:
                args = dict(tool_call.args)
                args["description"] = clip(
                    (args.get("description") or "") + note, Limits.MAX_DESCRIPTION_CHARS
                )
                tool_call = ToolCall(tool_call.name, args)
            calls.append(tool_call)
        out.append(replace(reply, tool_calls=tuple(calls)))
    sections = ", ".join(policy.get("sections") or [])
    detail = f" (sections: {sections})" if sections else ""
    return _with_text_prefix(
        out, f"I followed your **{policy['title']}**{detail}; each module's builder will cite it."
    )


def orchestrator_replies(
    state: LibraryState, prompt: str, plan: list[Reply], outline_text: Any
) -> list[Reply]:
    """The turn's replies once the library calls are done.

    Args:
        state: What the library calls found.
        prompt: The person's message.
        plan: The replies the planner makes for ``prompt`` without the library.
        outline_text: The planner's presenter of an outline (``outline_text(args) -> str``).
    """
    replies = plan
    if state.playbook_query is not None:
        if state.playbook is not None:
            args = _outline_from(state.playbook, _topic(prompt), state.playbook_query)
            text = (
                f"I based this on your saved playbook **{state.playbook['title']}** and adapted it.\n\n"
                + outline_text(args)
            )
            replies = [
                Reply(None, (call(ToolName.SET_PLAYBOOK_OUTLINE.value, **args),)),
                Reply(
                    text,
                    (call(ToolName.SUGGEST_REPLIES.value, replies=["Build it", "Move the last module up"]),),
                ),
                Reply(None, ()),
            ]
        else:
            replies = _with_text_prefix(
                plan,
                f"I couldn't find a saved playbook matching “{state.playbook_query}”, "
                "so I drafted this one fresh.",
            )
    if state.policy is not None:
        replies = _with_policy(replies, state.policy)
    elif state.policy_query is not None:
        replies = _with_text_prefix(
            replies, f"I couldn't find a policy matching “{state.policy_query}” in your library."
        )
    return replies


def cite_policy(replies: list[Reply], policy: dict[str, Any]) -> list[Reply]:
    """A builder's replies with every task citing the policy (and section) it follows."""
    sections = [str(s) for s in policy.get("sections") or []]
    out = []
    for reply in replies:
        calls = []
        for tool_call in reply.tool_calls:
            if tool_call.name == ToolName.ADD_TASKS.value:
                args = dict(tool_call.args)
                args["tasks"] = [_cite(task, policy["title"], sections) for task in args["tasks"]]
                tool_call = ToolCall(tool_call.name, args)
            calls.append(tool_call)
        out.append(replace(reply, tool_calls=tuple(calls)))
    return out


def _cite(task: dict[str, Any], title: str, sections: list[str]) -> dict[str, Any]:
    words = {w.lower() for w in _WORD.findall(task["title"])}
    best = max(sections, key=lambda s: len(words & {w.lower() for w in _WORD.findall(s)}), default="")
    where = f" ({best})" if best else ""
    description = f"{task.get('description') or ''} Per our {title}{where}.".strip()
    return {**task, "description": clip(description, Limits.MAX_DESCRIPTION_CHARS)}


@dataclass(frozen=True)
class LibraryStep:
    """What the offline model does next because of the library."""

    next_call: ToolCall | None
    replies: list[Reply]
    calls_made: int


def use_library(
    role: str,
    messages: Messages,
    tool_specs: list[ToolSpec],
    prompt: str,
    context: dict[str, Any],
    replies: list[Reply],
    outline_text: Any,
) -> LibraryStep | None:
    """The library call to make now, or the replies shaped by what the calls found (``None``: no library use).

    The caller counts its replies from ``calls_made`` fewer assistant messages.
    """
    if role == "builder":
        state = builder_library_state(messages, tool_specs, str(context.get("playbook_description", "")))
        if state is None:
            return None
        shaped = cite_policy(replies, state.policy) if state.next_call is None and state.policy else replies
        return LibraryStep(state.next_call, shaped, state.calls_made)
    if role != "orchestrator":
        return None
    state = library_state(messages, tool_specs, prompt)
    if state is None:
        return None
    if state.next_call is not None:
        return LibraryStep(state.next_call, replies, state.calls_made)
    return LibraryStep(None, orchestrator_replies(state, prompt, replies, outline_text), state.calls_made)
