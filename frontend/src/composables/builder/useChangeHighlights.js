// "See what changed": after every STATE_SNAPSHOT the modules and tasks that changed since the
// previous one are highlighted for a few seconds (not a first outline: all of it is new); when a run (a chat turn, a build's watch, an
// approval's continuation) ends, its changes are listed under its last assistant reply (the
// "3 changes" summary); and the canvas selection follows the item it names as the canvas changes
// under it (or clears when that item is gone). Installed once by the page.

import { getCurrentInstance, onBeforeUnmount, watch } from 'vue'
import { diffCanvas, followSelection } from '../../lib/canvasDiff.js'
import { useCanvasFocusStore } from '../../stores/canvasFocus.js'

/** How long a change stays highlighted. */
export const HIGHLIGHT_MS = 4000

const copy = (canvas) => JSON.parse(JSON.stringify(canvas))

/**
 * @param {{
 *   store: ReturnType<typeof import('../../stores/playbookBuilder.js').usePlaybookBuilderStore>,
 *   focus?: ReturnType<typeof useCanvasFocusStore>,
 *   setTimer?: typeof setTimeout, clearTimer?: typeof clearTimeout,
 * }} deps
 */
export function useChangeHighlights({ store, focus = useCanvasFocusStore(), setTimer = setTimeout, clearTimer = clearTimeout }) {
  let shown = copy(store.canvas) // as of the last change: what the selection refers to
  let settled = copy(store.canvas) // as of the last snapshot: what a highlight compares with
  let run = null // {canvas, from}: the canvas and message count when the current run began
  let timer = null

  const stopFollow = watch(
    () => store.revision,
    (revision) => {
      const now = store.canvas
      if (revision === 0) {
        shown = copy(now)
        focus.clear()
        return
      }
      if (!focus.selection) return // nothing to follow (selecting takes a fresh copy)
      const diff = diffCanvas(shown, now)
      shown = copy(now)
      focus.select(followSelection(focus.selection, diff))
    },
    { flush: 'sync' },
  )

  // A canvas put back after a reload changes nothing the page has seen: selecting starts from it.
  const stopSelect = watch(
    () => focus.selection,
    () => {
      shown = copy(store.canvas)
    },
    { flush: 'sync' },
  )

  const stopFlash = watch(
    () => store.lastReconcile,
    (reconciled) => {
      const now = store.canvas
      // A reset, or a stream that opens with the current canvas (joining a session): a new start.
      if (!reconciled || reconciled.forced) {
        settled = copy(now)
        shown = copy(now)
        if (run) run.canvas = copy(now)
        return
      }
      const fresh = !settled.modules?.length // a first outline: all of it is new, nothing to point at
      const diff = diffCanvas(settled, now)
      settled = copy(now)
      if (fresh || (!diff.modules.length && !diff.tasks.length)) return
      focus.highlight(diff.modules, diff.tasks)
      clearTimer(timer)
      timer = setTimer(() => focus.clearHighlights(), HIGHLIGHT_MS)
    },
  )

  const stopRuns = watch(
    () => store.busy,
    (busy) => {
      if (busy) {
        // What this run changes is measured from here (also after a reload put a canvas back).
        if (!run) run = { canvas: copy(store.canvas), from: store.messages.length }
        settled = copy(store.canvas)
        return
      }
      if (!run) return
      const { canvas, from } = run
      run = null
      if (!canvas.modules?.length) return // a first outline: the reply itself lists it
      const { changes } = diffCanvas(canvas, store.canvas)
      if (!changes.length) return
      const reply = store.messages.slice(from).reverse().find((m) => m.role === 'assistant')
      if (reply) reply.changes = changes.map(({ kind, label }) => ({ kind, label }))
    },
  )

  function stop() {
    stopFollow()
    stopSelect()
    stopFlash()
    stopRuns()
    clearTimer(timer)
  }
  if (getCurrentInstance()) onBeforeUnmount(stop)
  return { stop }
}
