// Playbook edit page: rename, reorder, add and delete modules, tasks and steps, then save the
// whole playbook with PUT (one transaction on the server). Plain DOM, no innerHTML of user text.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("playbook-data").textContent);
  const config = JSON.parse(document.getElementById("playbook-config").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const root = document.getElementById("modules");
  const saveBtn = document.getElementById("save");
  const saveState = document.getElementById("save-state");
  const titleInput = document.getElementById("pb-title");
  const descInput = document.getElementById("pb-description");
  let dirty = false;
  let saving = false;

  titleInput.value = data.title;
  descInput.value = data.description || "";

  function markDirty() {
    dirty = true;
    saveBtn.disabled = saving;
    saveState.textContent = "Unsaved changes";
    saveState.className = "small warn";
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function move(list, index, delta) {
    const target = index + delta;
    if (target < 0 || target >= list.length) return;
    [list[index], list[target]] = [list[target], list[index]];
    markDirty();
    render();
  }

  function remove(list, index, what) {
    const item = list[index];
    const hasChildren = (item.tasks && item.tasks.length) || (item.steps && item.steps.length);
    if (hasChildren && !window.confirm(`Delete this ${what} and everything inside it?`)) return;
    list.splice(index, 1);
    markDirty();
    render();
  }

  function tools(list, index, what) {
    return el("div", { class: "row-tools" },
      el("button", { type: "button", class: "icon", title: `Move ${what} up`, "aria-label": `Move ${what} up`,
        disabled: index === 0 ? "" : null, onclick: () => move(list, index, -1) }, "↑"),
      el("button", { type: "button", class: "icon", title: `Move ${what} down`, "aria-label": `Move ${what} down`,
        disabled: index === list.length - 1 ? "" : null, onclick: () => move(list, index, 1) }, "↓"),
      el("button", { type: "button", class: "icon danger", title: `Delete ${what}`, "aria-label": `Delete ${what}`,
        onclick: () => remove(list, index, what) }, "✕"));
  }

  function textField(obj, key, label, opts) {
    const input = el(opts && opts.multiline ? "textarea" : "input", {
      class: opts && opts.cls, "aria-label": label, placeholder: opts && opts.placeholder,
      maxlength: opts && opts.multiline ? 2000 : 200, rows: opts && opts.multiline ? 2 : null,
      type: opts && opts.multiline ? null : "text",
    });
    input.value = obj[key] || "";
    input.addEventListener("input", () => { obj[key] = input.value; markDirty(); });
    return input;
  }

  function renderStep(task, step, k) {
    return el("li", { class: "step" },
      el("span", { class: "num" }, String(k + 1)),
      el("div", { class: "grow" }, textField(step, "title", `Step ${k + 1} title`, { cls: "title-input sm" }),
        textField(step, "description", `Step ${k + 1} description`, { cls: "sm", placeholder: "Details (optional)" })),
      tools(task.steps, k, "step"));
  }

  function renderTask(module, task, j) {
    task.steps = task.steps || [];
    const steps = el("ol", { class: "steps" }, ...task.steps.map((s, k) => renderStep(task, s, k)));
    const addStep = el("button", {
      type: "button", class: "link", disabled: task.steps.length >= config.limits.steps ? "" : null,
      onclick: () => { task.steps.push({ title: "New step", description: "" }); markDirty(); render(); },
    }, "+ Add step");
    return el("li", { class: "task" },
      el("div", { class: "task-head" },
        el("div", { class: "grow" }, textField(task, "title", `Task ${j + 1} title`, { cls: "title-input" }),
          textField(task, "description", `Task ${j + 1} description`, { multiline: true, placeholder: "What this task is for" })),
        tools(module.tasks, j, "task")),
      steps, addStep);
  }

  function renderModule(module, i) {
    module.tasks = module.tasks || [];
    const tasks = el("ol", { class: "tasks" }, ...module.tasks.map((t, j) => renderTask(module, t, j)));
    const addTask = el("button", {
      type: "button", class: "btn btn-small", disabled: module.tasks.length >= config.limits.tasks ? "" : null,
      onclick: () => { module.tasks.push({ title: "New task", description: "", steps: [] }); markDirty(); render(); },
    }, "+ Add task");
    const count = module.tasks.length;
    return el("section", { class: "card module", "aria-label": `Module ${i + 1}` },
      el("div", { class: "module-head" },
        el("span", { class: "badge" }, `Module ${i + 1}`),
        el("div", { class: "grow" }, textField(module, "title", `Module ${i + 1} title`, { cls: "title-input lg" }),
          textField(module, "description", `Module ${i + 1} description`, { multiline: true, placeholder: "What this module covers" })),
        tools(data.modules, i, "module")),
      el("p", { class: "muted small" }, `${count} task${count === 1 ? "" : "s"}`),
      tasks, addTask);
  }

  function render() {
    root.replaceChildren(...data.modules.map(renderModule));
    if (!data.modules.length) {
      root.append(el("div", { class: "empty card" }, el("p", { class: "muted" }, "This playbook has no modules yet.")));
    }
    document.getElementById("add-module").disabled = data.modules.length >= config.limits.modules;
  }

  titleInput.addEventListener("input", () => { data.title = titleInput.value; markDirty(); });
  descInput.addEventListener("input", () => { data.description = descInput.value; markDirty(); });
  document.getElementById("add-module").addEventListener("click", () => {
    data.modules.push({ title: "New module", description: "", tasks: [] });
    markDirty();
    render();
  });

  function blankTitles() {
    const blank = [];
    if (!data.title.trim()) blank.push("the playbook title");
    data.modules.forEach((m, i) => {
      if (!m.title.trim()) blank.push(`module ${i + 1}`);
      m.tasks.forEach((t, j) => {
        if (!t.title.trim()) blank.push(`task ${j + 1} of module ${i + 1}`);
        t.steps.forEach((s, k) => { if (!s.title.trim()) blank.push(`step ${k + 1} of task ${j + 1}`); });
      });
    });
    return blank;
  }

  async function save() {
    const blank = blankTitles();
    if (blank.length) {
      saveState.textContent = `Give ${blank[0]} a title before saving.`;
      saveState.className = "small error";
      return;
    }
    saving = true;
    saveBtn.disabled = true;
    saveState.textContent = "Saving…";
    saveState.className = "small muted";
    try {
      const response = await fetch(config.api, {
        method: "PUT",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ playbook: data }),
      });
      if (response.status === 401) { window.location.assign("/login?next=" + encodeURIComponent(location.pathname)); return; }
      if (!response.ok) {
        let message = `Save failed (${response.status}).`;
        try { message = (await response.json()).error.message || message; } catch (e) { /* not JSON */ }
        throw new Error(message);
      }
      dirty = false;
      saveState.textContent = "All changes saved";
      saveState.className = "small ok";
      document.getElementById("page-title").textContent = data.title;
    } catch (err) {
      saveState.textContent = `${err.message} Your edits are still here — try again.`;
      saveState.className = "small error";
      saveBtn.disabled = false;
    } finally {
      saving = false;
      if (dirty) saveBtn.disabled = false;
    }
  }

  saveBtn.addEventListener("click", save);
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); if (dirty) save(); }
  });
  document.getElementById("delete-playbook").addEventListener("click", async () => {
    if (!window.confirm("Delete this playbook for everyone in your team?")) return;
    const response = await fetch(config.api, { method: "DELETE", credentials: "same-origin", headers: { "X-CSRFToken": csrf } });
    if (response.ok) { dirty = false; window.location.assign(config.list); }
    else { saveState.textContent = `Delete failed (${response.status}).`; saveState.className = "small error"; }
  });
  window.addEventListener("beforeunload", (e) => { if (dirty) { e.preventDefault(); e.returnValue = ""; } });
  render();
})();
