// The operator queue: refreshes from GET /api/approvals every 2 s and sends decisions with
// POST /api/approvals/<id>/decision. Plain DOM; user text only ever goes into textContent.
(function () {
  "use strict";
  const list = document.getElementById("approvals");
  const status = document.getElementById("approvals-status");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const REFRESH_MS = 2000;
  let busy = false;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  function timeLeft(iso) {
    const ms = new Date(iso).getTime() - Date.now();
    if (ms <= 0) return "overdue";
    const minutes = Math.round(ms / 60000);
    return minutes < 1 ? "less than a minute left" : `${minutes} min left`;
  }

  async function decide(request, decision, extra) {
    busy = true;
    status.textContent = "Sending your decision…";
    try {
      const res = await fetch(`/api/approvals/${encodeURIComponent(request.request_id)}/decision`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ decision, ...extra }),
      });
      const data = await res.json().catch(() => ({}));
      status.textContent = res.ok
        ? `Done: ${decision.replace("_", " ")} — ${request.intent_summary}.`
        : (data.error && data.error.message) || `The decision was not accepted (HTTP ${res.status}).`;
    } catch (err) {
      status.textContent = "The network request failed; try again.";
    } finally {
      busy = false;
      refresh({ force: true });
    }
  }

  function item(request) {
    const context = el("textarea", { class: "approval-context", rows: "2", maxlength: "4000", "aria-label": `Context for ${request.intent_summary}` });
    const desk = el("input", { class: "approval-desk", type: "text", placeholder: "desk, e.g. security", "aria-label": "Transfer to desk", pattern: "[a-z0-9][a-z0-9_-]*" });
    const modules = (request.canvas_summary.modules || []).map((m) =>
      el("li", {}, `${m.title}${m.tasks ? ` (${m.tasks} tasks)` : ""}${m.status && m.status !== "pending" ? ` · ${m.status}` : ""}`));
    const args = JSON.stringify(request.args);
    const actions = request.can_decide
      ? el("div", { class: "approval-actions" },
          el("button", { class: "btn btn-primary", type: "button", "data-testid": "approve", onclick: () => decide(request, "approve", { context: context.value }) }, "Approve"),
          el("button", { class: "btn btn-danger", type: "button", "data-testid": "reject", onclick: () => decide(request, "reject", { context: context.value }) }, "Reject"),
          el("button", { class: "btn", type: "button", "data-testid": "add-context", onclick: () => decide(request, "add_context", { context: context.value }) }, "Add context"),
          desk,
          el("button", { class: "btn", type: "button", "data-testid": "reroute", onclick: () => desk.value && decide(request, "reroute", { desk: desk.value, context: context.value }) }, "Reroute"))
      : el("p", { class: "muted small" }, "View only");
    return el("li", { class: "approval-item card", "data-request-id": request.request_id, "data-testid": "approval-request" },
      el("h2", { class: "approval-summary" }, request.intent_summary),
      el("p", { class: "small muted" },
        `${request.requested_by} asked · desk ${request.desk}${request.escalated ? " · escalated" : ""} · risk ${request.risk_level} · ${timeLeft(request.required_by)}`),
      el("details", {}, el("summary", {}, `Playbook “${request.canvas_summary.title}” at the pause`),
        el("ol", {}, ...modules), el("p", { class: "small" }, `Asked: ${request.tool} ${args}`)),
      context, actions);
  }

  async function refresh({ force = false } = {}) {
    if (busy || (document.hidden && !force)) return;
    try {
      const res = await fetch("/api/approvals", { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!res.ok) return;
      const data = await res.json();
      const focused = document.activeElement && list.contains(document.activeElement);
      if (focused && !force) return; // don't pull the form from under someone typing
      list.replaceChildren(...(data.approvals.length
        ? data.approvals.map(item)
        : [el("li", { class: "muted", "data-testid": "approvals-empty" }, "Nothing is waiting for you.")]));
    } catch (err) {
      status.textContent = "Can't reach the server; retrying.";
    }
  }

  refresh();
  setInterval(refresh, REFRESH_MS);
})();
