// What the person is looking at on the canvas: the module or task they selected (it steers the
// next chat turn: `ui_context.selected`) and what the last change highlighted. Indices are
// zero-based, as on the wire; the page shows them + 1.

import { ref } from 'vue'
import { defineStore } from 'pinia'

export const useCanvasFocusStore = defineStore('canvasFocus', () => {
  /** `{module_index, task_index|null}` or null. */
  const selection = ref(null)
  /** Module indices highlighted as just changed. */
  const changedModules = ref([])
  /** `[module_index, task_index]` pairs highlighted as just changed. */
  const changedTasks = ref([])
  /** Bumps with every new highlight (a component scrolls the first one into view). */
  const flashes = ref(0)

  /** Selects a module (task_index null) or a task; selecting the selected item again clears it. */
  function toggle(moduleIndex, taskIndex = null) {
    const sel = selection.value
    if (sel && sel.module_index === moduleIndex && (sel.task_index ?? null) === (taskIndex ?? null)) {
      selection.value = null
      return
    }
    selection.value = { module_index: moduleIndex, task_index: taskIndex ?? null }
  }

  function select(value) {
    selection.value = value ? { module_index: value.module_index, task_index: value.task_index ?? null } : null
  }

  function clear() {
    selection.value = null
  }

  function highlight(modules, tasks) {
    changedModules.value = [...modules]
    changedTasks.value = tasks.map(([m, t]) => [m, t])
    flashes.value += 1
  }

  function clearHighlights() {
    changedModules.value = []
    changedTasks.value = []
  }

  return { selection, changedModules, changedTasks, flashes, toggle, select, clear, highlight, clearHighlights }
})
