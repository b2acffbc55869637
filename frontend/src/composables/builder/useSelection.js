// The canvas selection in words and on the wire: "Module 3 — Kickoff" / "Task 2 of Module 3 — …"
// for the composer's chip, `ui_context.selected` (zero-based) for the chat body, and the keys that
// select an item on the canvas.

/**
 * The selected module and task as they are on the canvas, or null when the selection names
 * nothing there (it is then never sent).
 *
 * @param {{modules: Array<{title: string, tasks: Array<{title: string}>}>}} canvas
 * @param {{module_index: number, task_index?: number|null}|null} selection
 */
export function resolveSelection(canvas, selection) {
  if (!selection || !Number.isInteger(selection.module_index)) return null
  const mod = canvas?.modules?.[selection.module_index]
  if (!mod) return null
  if (selection.task_index == null) return { module: mod, task: null, ...selection, task_index: null }
  const task = mod.tasks?.[selection.task_index]
  return task ? { module: mod, task, ...selection } : null
}

/** "Module 3 — Kickoff" or "Task 2 of Module 3 — Run the kickoff"; '' when nothing is selected. */
export function selectionLabel(canvas, selection) {
  const found = resolveSelection(canvas, selection)
  if (!found) return ''
  const where = `Module ${found.module_index + 1}`
  if (!found.task) return `${where} — ${found.module.title}`
  return `Task ${found.task_index + 1} of ${where} — ${found.task.title}`
}

/** What a chat body's `ui_context` adds for the selection: `{selected: {module_index, task_index?}}`. */
export function selectionContext(canvas, selection) {
  const found = resolveSelection(canvas, selection)
  if (!found) return {}
  const selected = { module_index: found.module_index }
  if (found.task) selected.task_index = found.task_index
  return { selected }
}

/** Whether a key press on a selectable item selects it (Enter or Space). */
export function isSelectKey(event) {
  return event.key === 'Enter' || event.key === ' ' || event.key === 'Spacebar'
}

/** Whether a click started on a control of its own (a button, a link, a field): it is not a selection. */
const CONTROLS = 'button, a, input, textarea, select, summary, [contenteditable="true"], [role="button"]'

export function fromControl(event, root) {
  // The event's path as dispatched: a control its own handler already replaced (a pencil that
  // opened a field, "Add task" that opened its form) is no longer in the card, but still a control.
  const path = typeof event.composedPath === 'function' ? event.composedPath() : []
  for (const el of path) {
    if (el === root) break
    if (el?.matches?.(CONTROLS)) return true
  }
  const hit = event.target?.closest?.(CONTROLS)
  return Boolean(hit && hit !== root && root?.contains?.(hit))
}
