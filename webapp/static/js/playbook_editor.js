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
    saveState.className = "save-state warn";
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

  // Every re-render rebuilds the list, so keyboard focus is put back by key: on the moved item's
  // button, the new item's title, or the "add" button of the list an item was deleted from.
  function move(list, index, delta, key) {
    const target = index + delta;
    if (target < 0 || target >= list.length) return;
    [list[index], list[target]] = [list[target], list[index]];
    markDirty();
    const edge = target === 0 || target === list.length - 1;
    render(`${key(target)}-${edge ? (delta < 0 ? "down" : "up") : delta < 0 ? "up" : "down"}`);
  }

  async function remove(list, index, what, key, fallback) {
    const item = list[index];
    const hasChildren = (item.tasks && item.tasks.length) || (item.steps && item.steps.length);
    if (hasChildren) {
      const ok = await window.pbConfirm({
        title: `Delete this ${what}?`,
        message: `“${item.title || "Untitled"}” and everything inside it will be removed when you save.`,
        confirmLabel: `Delete ${what}`,
        cancelLabel: "Keep it",
      });
      if (!ok) return;
    }
    list.splice(index, 1);
    markDirty();
    render(list.length ? `${key(Math.min(index, list.length - 1))}-delete` : fallback);
  }

  function tools(list, index, what, key, fallback) {
    const name = list[index].title ? `${what} “${list[index].title}”` : what;
    return el("div", { class: "row-tools" },
      el("button", { type: "button", class: "icon", title: `Move ${what} up`, "aria-label": `Move ${name} up`,
        "data-focus-key": `${key(index)}-up`, disabled: index === 0 ? "" : null,
        onclick: () => move(list, index, -1, key) }, "↑"),
      el("button", { type: "button", class: "icon", title: `Move ${what} down`, "aria-label": `Move ${name} down`,
        "data-focus-key": `${key(index)}-down`, disabled: index === list.length - 1 ? "" : null,
        onclick: () => move(list, index, 1, key) }, "↓"),
      el("button", { type: "button", class: "icon danger", title: `Delete ${what}`, "aria-label": `Delete ${name}`,
        "data-focus-key": `${key(index)}-delete`, onclick: () => remove(list, index, what, key, fallback) }, "✕"));
  }

  function textField(obj, key, label, opts) {
    const input = el(opts && opts.multiline ? "textarea" : "input", {
      class: opts && opts.cls, "aria-label": label, placeholder: opts && opts.placeholder,
      "data-focus-key": opts && opts.focusKey,
      maxlength: opts && opts.multiline ? 2000 : 200, rows: opts && opts.multiline ? 2 : null,
      type: opts && opts.multiline ? null : "text",
    });
    input.value = obj[key] || "";
    input.addEventListener("input", () => { obj[key] = input.value; markDirty(); });
    return input;
  }

  function renderStep(task, step, i, j, k) {
    const key = (n) => `m${i}-t${j}-s${n}`;
    return el("li", { class: "step" },
      el("span", { class: "num", "aria-hidden": "true" }, String(k + 1)),
      el("div", { class: "grow" },
        textField(step, "title", `Step ${k + 1} title (task ${j + 1}, module ${i + 1})`,
          { cls: "title-input sm", focusKey: `${key(k)}-title` }),
        textField(step, "description", `Step ${k + 1} description`, { cls: "sm", placeholder: "Details (optional)" })),
      tools(task.steps, k, "step", key, `m${i}-t${j}-add`));
  }

  function renderTask(module, task, i, j) {
    task.steps = task.steps || [];
    const key = (n) => `m${i}-t${n}`;
    const steps = el("ol", { class: "steps", "aria-label": `Steps of task ${j + 1}` },
      ...task.steps.map((s, k) => renderStep(task, s, i, j, k)));
    const addStep = el("button", {
      type: "button", class: "link-btn", "data-focus-key": `${key(j)}-add`,
      disabled: task.steps.length >= config.limits.steps ? "" : null,
      onclick: () => {
        task.steps.push({ title: "New step", description: "" });
        markDirty();
        render(`${key(j)}-s${task.steps.length - 1}-title`);
      },
    }, "+ Add step");
    return el("li", { class: "task" },
      el("div", { class: "task-head" },
        el("div", { class: "grow" },
          textField(task, "title", `Task ${j + 1} title (module ${i + 1})`, { cls: "title-input", focusKey: `${key(j)}-title` }),
          textField(task, "description", `Task ${j + 1} description`, { multiline: true, placeholder: "What this task is for" })),
        tools(module.tasks, j, "task", key, `m${i}-add`)),
      steps, addStep);
  }

  function renderModule(module, i) {
    module.tasks = module.tasks || [];
    const key = (n) => `m${n}`;
    const tasks = el("ol", { class: "tasks", "aria-label": `Tasks of module ${i + 1}` },
      ...module.tasks.map((t, j) => renderTask(module, t, i, j)));
    const addTask = el("button", {
      type: "button", class: "btn btn-secondary btn-sm", "data-focus-key": `${key(i)}-add`,
      disabled: module.tasks.length >= config.limits.tasks ? "" : null,
      onclick: () => {
        module.tasks.push({ title: "New task", description: "", steps: [] });
        markDirty();
        render(`${key(i)}-t${module.tasks.length - 1}-title`);
      },
    }, "+ Add task");
    const count = module.tasks.length;
    return el("section", { class: "card module", "aria-label": `Module ${i + 1}` },
      el("div", { class: "module-head" },
        el("span", { class: "badge badge-info" }, `Module ${i + 1}`),
        el("div", { class: "grow" },
          textField(module, "title", `Module ${i + 1} title`, { cls: "title-input lg", focusKey: `${key(i)}-title` }),
          textField(module, "description", `Module ${i + 1} description`, { multiline: true, placeholder: "What this module covers" })),
        tools(data.modules, i, "module", key, "add-module")),
      el("p", { class: "muted small" }, `${count} task${count === 1 ? "" : "s"}`),
      tasks, addTask);
  }

  /** Re-renders the modules; `focusKey` names the control that gets keyboard focus afterwards. */
  function render(focusKey) {
    root.replaceChildren(...data.modules.map(renderModule));
    if (!data.modules.length) {
      root.append(el("div", { class: "empty card" }, el("p", { class: "muted" }, "This playbook has no modules yet.")));
    }
    document.getElementById("add-module").disabled = data.modules.length >= config.limits.modules;
    if (!focusKey) return;
    const target = focusKey === "add-module"
      ? document.getElementById("add-module")
      : root.querySelector(`[data-focus-key="${focusKey}"]`);
    if (!target) return;
    target.focus();
    if (target.select && /-title$/.test(focusKey)) target.select();
  }

  titleInput.addEventListener("input", () => { data.title = titleInput.value; markDirty(); });
  descInput.addEventListener("input", () => { data.description = descInput.value; markDirty(); });
  document.getElementById("add-module").addEventListener("click", () => {
    data.modules.push({ title: "New module", description: "", tasks: [] });
    markDirty();
    render(`m${data.modules.length - 1}-title`);
  });

  /** What has no title yet, in words, with the field to focus: [{what, key}]. */
  function blankTitles() {
    const blank = [];
    if (!data.title.trim()) blank.push({ what: "the playbook", key: null });
    data.modules.forEach((m, i) => {
      if (!m.title.trim()) blank.push({ what: `module ${i + 1}`, key: `m${i}-title` });
      m.tasks.forEach((t, j) => {
        if (!t.title.trim()) blank.push({ what: `task ${j + 1} of module ${i + 1}`, key: `m${i}-t${j}-title` });
        t.steps.forEach((s, k) => {
          if (!s.title.trim()) blank.push({ what: `step ${k + 1} of task ${j + 1}`, key: `m${i}-t${j}-s${k}-title` });
        });
      });
    });
    return blank;
  }

  async function save() {
    const blank = blankTitles();
    if (blank.length) {
      saveState.textContent = `Give ${blank[0].what} a title before saving.`;
      saveState.className = "save-state error";
      const field = blank[0].key ? root.querySelector(`[data-focus-key="${blank[0].key}"]`) : titleInput;
      if (field) field.focus();
      return;
    }
    saving = true;
    saveBtn.disabled = true;
    saveState.textContent = "Saving…";
    saveState.className = "save-state muted";
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
      saveState.className = "save-state ok";
      document.getElementById("page-title").textContent = data.title;
    } catch (err) {
      saveState.textContent = `${err.message} Your edits are still here — try again.`;
      saveState.className = "save-state error";
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
    const ok = await window.pbConfirm({
      title: "Delete this playbook?",
      message: "It is deleted for everyone in your team. The audit trail keeps a record that it existed.",
      confirmLabel: "Delete playbook",
      cancelLabel: "Keep it",
    });
    if (!ok) return;
    const response = await fetch(config.api, { method: "DELETE", credentials: "same-origin", headers: { "X-CSRFToken": csrf } });
    if (response.ok) { dirty = false; window.location.assign(config.list); }
    else { saveState.textContent = `Delete failed (${response.status}).`; saveState.className = "save-state error"; }
  });
  window.addEventListener("beforeunload", (e) => { if (dirty) { e.preventDefault(); e.returnValue = ""; } });
  render();
})();
