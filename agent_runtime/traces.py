"""List every trace of one session from the MLflow tracking server.

Usage::

    python -m agent_runtime.traces SESSION_ID [--tracking-uri URI] [--experiment NAME] [--json]

One line per trace (the orchestrator's turns and each module builder's root trace), oldest first,
with its duration, tokens, cost, tool calls and errors, then the session's totals. The tokens are
the run's own ``playbook.run.*_tokens`` (MLflow's ``token_usage`` for a trace without them), the
cost the ``playbook.run.cost_usd`` the runtime puts on each agent's root span (priced from its price table
by model id); the session's running usage is ``playbook.session.total_tokens`` / ``…cost_usd``.
Traces are found by the trace metadata ``mlflow.trace.session`` that :mod:`agent_runtime.telemetry`
writes from the spans' ``session.id`` attribute. Needs the ``telemetry`` extra (``mlflow``); the
runtime itself never imports this module.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Trace

SESSION_METADATA_KEY = "mlflow.trace.session"
# The usage attributes of agent_runtime.usage.hook (kept literal: this CLI must not import strands).
RUN_COST_USD = "playbook.run.cost_usd"
SESSION_TOTAL_TOKENS = "playbook.session.total_tokens"
SESSION_COST_USD = "playbook.session.cost_usd"
# The run's own tokens (agent_runtime.telemetry.attributes): Strands' per-agent metrics of this run.
RUN_INPUT_TOKENS = "playbook.run.input_tokens"
RUN_OUTPUT_TOKENS = "playbook.run.output_tokens"
RUN_TOTAL_TOKENS = "playbook.run.total_tokens"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,200}$")
_PAGE = 100


@dataclass
class ToolCall:
    """One tool span inside a trace."""

    name: str
    duration_ms: float
    ok: bool


@dataclass
class TraceSummary:
    """What an operator needs to know about one trace."""

    trace_id: str
    name: str
    agent_type: str
    run_id: str
    module_index: str
    started_at: str
    duration_ms: float
    status: str
    spans: int
    model_calls: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float = 0.0
    session_total_tokens: int = 0
    session_cost_usd: float = 0.0
    tool_calls: list[ToolCall] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def session_filter(session_id: str) -> str:
    """Return the ``search_traces`` filter string that selects one session's traces.

    Raises:
        ValueError: If ``session_id`` has characters that cannot be part of a session id.
    """
    if not _SAFE_ID.match(session_id):
        raise ValueError(f"not a session id: {session_id!r}")
    return f"metadata.`{SESSION_METADATA_KEY}` = '{session_id}'"


def _ms(start_ns: int | None, end_ns: int | None) -> float:
    if not start_ns or not end_ns:
        return 0.0
    return round((end_ns - start_ns) / 1e6, 1)


def _status_name(status: Any) -> str:
    code = getattr(status, "status_code", status)
    return str(getattr(code, "value", code))


def _number(value: Any) -> float:
    try:
        return float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def summarize(trace: Trace) -> TraceSummary:
    """Condense one MLflow trace (with spans) into a :class:`TraceSummary`."""
    info = trace.info
    tags = dict(info.tags or {})
    spans = list(trace.data.spans) if trace.data else []
    root = next((s for s in spans if s.parent_id is None), None)
    tools: list[ToolCall] = []
    errors: list[str] = []
    model_calls = 0
    for span in spans:
        span_type = str(span.span_type or "")
        if span_type == "TOOL":
            tool_name = span.get_attribute("gen_ai.tool.name") or span.name.removeprefix("execute_tool ")
            ok = _status_name(span.status) != "ERROR" and span.get_attribute("gen_ai.tool.status") != "error"
            tools.append(ToolCall(str(tool_name), _ms(span.start_time_ns, span.end_time_ns), ok))
        elif span_type == "CHAT_MODEL":
            model_calls += 1
        if _status_name(span.status) == "ERROR":
            description = getattr(span.status, "description", "") or "error"
            errors.append(f"{span.name}: {description}")
    attributes = (root.attributes or {}) if root is not None else {}
    # The runtime's own count of the run when it is there (the same numbers as the session's
    # ledger); MLflow's roll-up of the model spans otherwise — it has been seen to count one
    # concurrent builder's model call twice across a session's traces.
    usage: dict[str, Any]
    if RUN_TOTAL_TOKENS in attributes:
        usage = {
            "input_tokens": _number(attributes.get(RUN_INPUT_TOKENS)),
            "output_tokens": _number(attributes.get(RUN_OUTPUT_TOKENS)),
            "total_tokens": _number(attributes.get(RUN_TOTAL_TOKENS)),
        }
    else:
        usage = dict(info.token_usage or {})
    started = datetime.fromtimestamp(info.request_time / 1000.0, tz=UTC) if info.request_time else None
    duration: float | None = info.execution_duration
    if duration is None and root is not None:
        duration = _ms(root.start_time_ns, root.end_time_ns)
    return TraceSummary(
        trace_id=info.trace_id,
        name=tags.get("mlflow.traceName") or (root.name if root else ""),
        agent_type=tags.get("agent_type", ""),
        run_id=tags.get("run_id", ""),
        module_index=tags.get("module_index", ""),
        started_at=started.isoformat(timespec="milliseconds") if started else "",
        duration_ms=float(duration or 0.0),
        status=_status_name(info.state),
        spans=len(spans),
        model_calls=model_calls,
        input_tokens=int(usage.get("input_tokens", 0)),
        output_tokens=int(usage.get("output_tokens", 0)),
        total_tokens=int(usage.get("total_tokens", 0)),
        cost_usd=_number(attributes.get(RUN_COST_USD)),
        session_total_tokens=int(_number(attributes.get(SESSION_TOTAL_TOKENS))),
        session_cost_usd=_number(attributes.get(SESSION_COST_USD)),
        tool_calls=tools,
        errors=errors,
    )


def _experiment_ids(client: MlflowClient, experiment: str | None) -> list[str]:
    if experiment:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            raise LookupError(f"no MLflow experiment named {experiment!r}")
        return [found.experiment_id]
    return [e.experiment_id for e in client.search_experiments()]


def find_session_traces(
    client: MlflowClient, session_id: str, *, experiment: str | None = None
) -> list[TraceSummary]:
    """Fetch and summarise every trace of ``session_id``, oldest first.

    Args:
        client: An ``MlflowClient`` pointed at the tracking server.
        session_id: The session's id.
        experiment: Only look in this experiment (default: every active experiment).
    """
    locations = _experiment_ids(client, experiment)
    if not locations:
        return []
    summaries: list[TraceSummary] = []
    page_token: str | None = None
    while True:
        page = client.search_traces(
            locations=locations,
            filter_string=session_filter(session_id),
            order_by=["timestamp ASC"],
            max_results=_PAGE,
            page_token=page_token,
        )
        summaries.extend(summarize(t) for t in page)
        page_token = page.token
        if not page_token:
            break
    summaries.sort(key=lambda s: s.started_at)
    return summaries


def _tool_counts(calls: Iterable[ToolCall]) -> str:
    counts: dict[str, int] = {}
    for call in calls:
        label = call.name if call.ok else f"{call.name}(failed)"
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{name}×{n}" if n > 1 else name for name, n in counts.items()) or "-"


def render(session_id: str, summaries: Sequence[TraceSummary]) -> str:
    """Render summaries as a plain-text report."""
    if not summaries:
        return f"no traces for session {session_id}\n"
    lines = [f"session {session_id}: {len(summaries)} trace(s)", ""]
    header = (
        f"{'started (UTC)':<29} {'agent':<13} {'status':<6} {'ms':>9} {'tokens':>7} {'cost $':>9} {'llm':>3}"
        "  trace / tools"
    )
    lines += [header, "-" * len(header)]
    for s in summaries:
        agent = s.agent_type + (f"[{s.module_index}]" if s.module_index else "")
        lines.append(
            f"{s.started_at:<29} {agent:<13} {s.status:<6} {s.duration_ms:>9.1f} {s.total_tokens:>7} "
            f"{s.cost_usd:>9.4f} {s.model_calls:>3}  {s.trace_id}  {s.name}"
        )
        lines.append(f"{'':<29} tools: {_tool_counts(s.tool_calls)}")
        for error in s.errors:
            lines.append(f"{'':<29} ERROR {error}")
    total_ms = sum(s.duration_ms for s in summaries)
    total_tokens = sum(s.total_tokens for s in summaries)
    failed = sum(1 for s in summaries if s.errors or s.status == "ERROR")
    total_cost = sum(s.cost_usd for s in summaries)
    lines += [
        "",
        f"total: {total_ms:.1f} ms in traces, {total_tokens} tokens, ${total_cost:.4f}, "
        f"{failed} trace(s) with errors",
    ]
    latest = max(summaries, key=lambda s: s.session_total_tokens)
    if latest.session_total_tokens:
        lines.append(
            f"session usage so far: {latest.session_total_tokens} tokens, ${latest.session_cost_usd:.4f}"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m agent_runtime.traces", description=__doc__.splitlines()[0]
    )
    parser.add_argument("session_id")
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI") or "http://127.0.0.1:5001",
        help="MLflow tracking server (default: $MLFLOW_TRACKING_URI or http://127.0.0.1:5001)",
    )
    parser.add_argument("--experiment", default=None, help="only this experiment (default: all)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    try:
        import mlflow
        from mlflow import MlflowClient
    except ImportError:
        print("mlflow is not installed: pip install '.[telemetry]'", file=sys.stderr)
        return 2
    # Span data stored as mlflow-artifacts:/ is fetched through the global tracking URI.
    mlflow.set_tracking_uri(args.tracking_uri)
    try:
        summaries = find_session_traces(
            MlflowClient(tracking_uri=args.tracking_uri), args.session_id, experiment=args.experiment
        )
    except (ValueError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([asdict(s) for s in summaries], indent=2))
    else:
        sys.stdout.write(render(args.session_id, summaries))
    return 0 if summaries else 1


if __name__ == "__main__":
    raise SystemExit(main())
