// The builder's state, one Pinia store composed of its features (each in stores/builder/):
// the canvas document (canvasDocument.js), the conversation (conversation.js), approvals
// (approvals.js) and saving (saving.js); what is running, and what survives a reload, are here.

import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import { MODULE_STATUSES, PHASES, TOOL_NAMES } from '../generated/contract.js'
import { useApprovals } from './builder/approvals.js'
import { emptyCanvas, normalizeCanvas, useCanvasDocument } from './builder/canvasDocument.js'
import { useConversation } from './builder/conversation.js'
import { newIdempotencyKey, useSaving } from './builder/saving.js'

export { MODULE_STATUSES, PHASES, emptyCanvas, newIdempotencyKey, normalizeCanvas }
export const TOOLS = TOOL_NAMES

export const usePlaybookBuilderStore = defineStore('playbookBuilder', () => {
  const conversation = useConversation()
  const doc = useCanvasDocument(conversation.state)
  const approvals = useApprovals(conversation.state)

  // ---- activity -----------------------------------------------------------------------------
  const chatRunning = ref(false)
  const watching = ref(false)
  const resuming = ref(false)
  const stopping = ref(false)
  const lastEventId = ref(null) // the highest SSE id seen on any stream
  /** Where a `watch` resumes: a build-log position up to which the canvas here is complete. */
  const resumeId = ref(null)
  const banner = ref(null) // a page-level problem: {title, message, action}
  const busy = computed(() => chatRunning.value || watching.value || resuming.value)
  const canStop = computed(() => busy.value || doc.getters.isBuilding.value)

  const saving = useSaving(doc.state, doc.getters, chatRunning)

  function noteEventId(id) {
    if (id == null) return
    if (lastEventId.value == null || id > lastEventId.value) lastEventId.value = id
  }

  // ---- reload -------------------------------------------------------------------------------

  /** Puts back a canvas saved before a reload (the runtime's watch then brings it up to date). */
  function restore(saved) {
    if (!saved?.canvas) return
    doc.restoreCanvas(saved)
    if (saved.savedRevision === 'current') saving.markSavedCurrent()
  }

  /** The canvas part that survives a reload. */
  function canvasState() {
    const { canvas, phase, version, progress, history } = doc.state
    return {
      canvas: canvas.value,
      phase: phase.value,
      version: version.value,
      progress: progress.value,
      history: history.value,
      savedRevision: saving.savedState(),
    }
  }

  /** Back to an empty builder (a new playbook). */
  function resetAll() {
    doc.resetCanvas()
    conversation.resetConversation()
    approvals.resetApprovals()
    chatRunning.value = false
    watching.value = false
    resuming.value = false
    stopping.value = false
    lastEventId.value = null
    resumeId.value = null
    banner.value = null
    saving.resetSaving()
  }

  return {
    // state
    ...doc.state,
    ...conversation.state,
    ...approvals.state,
    ...saving.state,
    chatRunning,
    watching,
    resuming,
    stopping,
    lastEventId,
    resumeId,
    banner,
    // getters
    ...doc.getters,
    ...approvals.getters,
    ...saving.getters,
    busy,
    canStop,
    // actions
    ...doc.actions,
    ...conversation.actions,
    ...approvals.actions,
    ...saving.actions,
    noteEventId,
    restore,
    canvasState,
    resetAll,
  }
})
