"""The offline model: a Strands ``Model`` that answers from the deterministic offline planner.

It needs no network and drives the real agent loop: each call streams the next planned reply
(text in small deltas, then real tool uses) exactly as a provider would. Which reply comes next
is read from the conversation itself:

* the plan is computed from the latest user prompt and the context block the system prompt ends
  with (``render_context``: the canvas at the start of the turn, or the module to build) — the
  system prompt is fixed for the whole turn, so the plan is stable across the turn's calls;
* the number of assistant messages since that prompt says which reply is next;
* when the last tool call failed, it apologises briefly and ends the turn;
* when a person declined a paused tool call (an approval decision note in the tool result, see
  ``messages.decision_note``), the replies come from ``plan_resume`` instead, counted from the
  note.

Roles: ``router`` answers the structured-output tool with ``classify``; ``orchestrator`` follows
``plan_turn``; ``builder`` follows ``plan_module``. ``OFFLINE_MODEL_LATENCY_MS`` delays each call
(cancellable) for demos and benchmarks.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from strands.models.model import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

from agent_runtime import messages as conv
from agent_runtime.models._stream import reply_events
from agent_runtime.models.offline import Reply, classify, outline_text, plan_module, plan_resume, plan_turn
from agent_runtime.models.offline.library_use import use_library
from agent_runtime.models.offline.repair import FLAW_BUILDER_FIRST_DRAFT, flawed_first_draft, repair_replies

__all__ = ["OfflineModel"]

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

_PLAN_CACHE_SIZE = 64
_LATENCY_SLICE_S = 0.02
_HOLD_LOCK = threading.Lock()  # a pass is used up by one call, whichever builder thread asks


def hold_decision(hold: Path, role: str) -> bool:
    """Whether a call of ``role`` waits now, by the hold file (``OFFLINE_MODEL_HOLD_FILE``).

    No file: no hold. Its text is words: role names (none means ``builder``) and ``pass=N``. A held
    role's call waits while the file is there, unless a pass is left: then it uses one up (the file
    is rewritten with ``pass=N-1``) and runs. Passes are exact within one runtime process (a test
    cuts a turn after its first model call, or holds a build after its first builder call).
    """
    with _HOLD_LOCK:
        try:
            words = hold.read_text(encoding="utf-8").split()
        except FileNotFoundError:
            return False
        roles = {word for word in words if "=" not in word} or {"builder"}
        if role not in roles:
            return False
        passes = [int(word[5:]) for word in words if word.startswith("pass=") and word[5:].isdigit()]
        if not passes or passes[0] <= 0:
            return True
        rest = [word for word in words if not word.startswith("pass=")]
        hold.write_text(" ".join([*rest, f"pass={passes[0] - 1}"]), encoding="utf-8")
        return False


class OfflineModel(Model):
    """Deterministic model for one role (``router``, ``orchestrator`` or ``builder``)."""

    def __init__(
        self,
        role: str,
        *,
        latency_ms: int = 0,
        chunk_chars: int = 24,
        flaws: frozenset[str] = frozenset(),
        hold_file: Path | None = None,
    ) -> None:
        """Create the model.

        Args:
            role: Which planner entry point answers.
            latency_ms: Delay added to every call (honours cancellation).
            chunk_chars: Size of the streamed text deltas.
            flaws: Deliberate mistakes for demos and tests (``builder_first_draft``: a builder's
                first output repeats a task, which the module self-check then has repaired).
            hold_file: While this file exists, a builder's calls wait (honouring cancellation):
                a test or a demo holds a build mid-way — its builders started, none finished —
                and lets it go by removing the file. The file's text may name the roles held
                instead (``orchestrator``) and let calls through first (``pass=1``: the next call
                runs and uses up the pass, the one after waits) — see :func:`hold_decision`.
        """
        self.config: dict[str, Any] = {
            "model_id": f"offline-{role}",
            "role": role,
            "latency_ms": latency_ms,
            "chunk_chars": chunk_chars,
            "context_window_limit": 200_000,
        }
        self._flaws = frozenset(flaws)
        self._hold = hold_file
        self._plans: OrderedDict[str, list[Reply]] = OrderedDict()
        self._lock = threading.Lock()
        self.calls = 0

    def update_config(self, **model_config: Any) -> None:
        """Merge configuration overrides."""
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        """The configuration."""
        return dict(self.config)

    async def structured_output(
        self, output_model: type[T], prompt: Messages, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, T | Any], None]:
        """Classify the prompt into ``output_model`` (the router's decision)."""
        decision = classify(conv.first_prompt(prompt))
        yield {"output": output_model.model_validate(decision)}

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        *,
        tool_choice: Any = None,
        cancel_signal: threading.Event | None = None,
        **kwargs: Any,
    ) -> AsyncIterable[StreamEvent]:
        """Stream the next planned reply."""
        self.calls += 1
        if not await self._delay(cancel_signal):
            return
        text, tool_calls = self._next(messages, tool_specs or [], system_prompt)
        input_tokens = len(json.dumps(messages, default=str)) // 4
        for event in reply_events(
            text, tool_calls, chunk_chars=int(self.config["chunk_chars"]), input_tokens=input_tokens
        ):
            yield event

    # ------------------------------------------------------------------ internals

    async def _delay(self, cancel_signal: threading.Event | None) -> bool:
        """Wait while held, then sleep the configured latency; ``False`` if cancelled meanwhile."""
        while self._hold is not None and hold_decision(self._hold, self.config["role"]):
            if cancel_signal is not None and cancel_signal.is_set():
                return False
            await asyncio.sleep(_LATENCY_SLICE_S)
        remaining = int(self.config["latency_ms"]) / 1000.0
        while remaining > 0:
            if cancel_signal is not None and cancel_signal.is_set():
                return False
            step = min(remaining, _LATENCY_SLICE_S)
            await asyncio.sleep(step)
            remaining -= step
        return not (cancel_signal is not None and cancel_signal.is_set())

    def _next(
        self, messages: Messages, tool_specs: list[ToolSpec], system_prompt: str | None
    ) -> tuple[str | None, list[tuple[str, dict[str, Any]]]]:
        role = self.config["role"]
        if role == "router":
            return self._route(messages, tool_specs)
        failure = conv.last_tool_error(messages)
        if failure is not None and conv.parse_decision_note(failure) is None:
            return _apology(failure), []
        note = conv.decision_since_prompt(messages) if role == "orchestrator" else None
        if note is not None:
            context = conv.parse_context(system_prompt)
            replies = plan_resume(
                note.decision,
                note.summary,
                note.context,
                dict(context.get("canvas") or {}),
                str(context.get("phase", "empty")),
            )
            index = note.replies_after
        else:
            prompt = conv.current_prompt(messages)
            repair = repair_replies(prompt) if role == "builder" else None
            replies = repair if repair is not None else self._plan(role, prompt, system_prompt or "")
            index = conv.replies_since_prompt(messages)
            library = None
            if repair is None:
                context = conv.parse_context(system_prompt)
                library = use_library(role, messages, tool_specs, prompt, context, replies, outline_text)
            if library is not None:
                if library.next_call is not None:
                    return None, [(library.next_call.name, dict(library.next_call.args))]
                replies, index = library.replies, index - library.calls_made
        if index >= len(replies):
            return None, []
        reply = replies[index]
        return reply.text, [(call.name, dict(call.args)) for call in reply.tool_calls]

    def _route(
        self, messages: Messages, tool_specs: list[ToolSpec]
    ) -> tuple[str | None, list[tuple[str, dict[str, Any]]]]:
        decision = classify(conv.first_prompt(messages))
        if tool_specs and conv.replies_since_prompt(messages) == 0:
            return None, [(tool_specs[0]["name"], decision)]
        # No tool offered (or a retry): answer with the JSON object Strands can parse from text.
        return json.dumps(decision), []

    def _plan(self, role: str, prompt: str, system_prompt: str) -> list[Reply]:
        key = hashlib.sha256(f"{role}\0{prompt}\0{system_prompt}".encode()).hexdigest()
        with self._lock:
            cached = self._plans.get(key)
            if cached is not None:
                self._plans.move_to_end(key)
                return cached
        context = conv.parse_context(system_prompt)
        if role == "builder":
            replies = plan_module(
                str(context.get("playbook_title", "")),
                str(context.get("playbook_description", "")),
                dict(context.get("module") or {}),
                int(context.get("module_index", 0)),
                source=context.get("source"),
            )
            if FLAW_BUILDER_FIRST_DRAFT in self._flaws:
                replies = flawed_first_draft(list(replies))
        else:
            replies = plan_turn(
                prompt,
                dict(context.get("canvas") or {}),
                str(context.get("phase", "empty")),
                context.get("handoff_context"),
                context.get("attachments"),
                selected=context.get("selected"),
                selection_note=context.get("selection_note"),
                history=context.get("history"),
            )
        replies = list(replies)
        with self._lock:
            self._plans[key] = replies
            while len(self._plans) > _PLAN_CACHE_SIZE:
                self._plans.popitem(last=False)
        return replies


def _apology(failure: str) -> str:
    detail = " ".join(failure.split())
    if len(detail) > 160:
        detail = detail[:159].rstrip() + "…"
    return f"Sorry, I couldn't make that change ({detail}). Could you put it another way?"
