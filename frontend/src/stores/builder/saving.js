// Saving the canvas as a playbook: the save's status, what counts as unsaved, the idempotency key
// a retry reuses, and the body of `/agent/save-playbook`. One part of the playbookBuilder store.

import { computed, ref } from 'vue'

export function newIdempotencyKey() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID()
  return `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}-${Math.random().toString(16).slice(2)}`
}

const idle = () => ({ status: 'idle', error: null, key: null, keyRevision: null, savedRevision: null, playbookId: null })

/**
 * @param {{canvas: import('vue').Ref<object>, revision: import('vue').Ref<number>}} doc  The canvas.
 * @param {{hasCanvas: import('vue').ComputedRef<boolean>, isBuilding: import('vue').ComputedRef<boolean>}} docGetters
 * @param {import('vue').Ref<boolean>} chatRunning  No save while a turn may still change the canvas.
 */
export function useSaving(doc, docGetters, chatRunning) {
  const save = ref(idle())
  const unsaved = computed(() => docGetters.hasCanvas.value && save.value.savedRevision !== doc.revision.value)
  const canSave = computed(
    () =>
      docGetters.hasCanvas.value && !docGetters.isBuilding.value && save.value.status !== 'saving' && !chatRunning.value,
  )

  /** The idempotency key for the canvas as it is now: one per revision, so a retry reuses it. */
  function idempotencyKey() {
    if (save.value.key && save.value.keyRevision === doc.revision.value) return save.value.key
    save.value.key = newIdempotencyKey()
    save.value.keyRevision = doc.revision.value
    return save.value.key
  }

  /** The canvas as a PlaybookSpec for `/agent/save-playbook`. */
  function playbookForSave() {
    const c = doc.canvas.value
    return {
      title: c.title.trim() || 'Untitled playbook',
      description: c.description,
      modules: c.modules.map((m) => ({
        title: m.title,
        description: m.description,
        status: m.status,
        ...(m.reason ? { reason: m.reason } : {}),
        tasks: m.tasks.map((t) => ({
          title: t.title,
          description: t.description,
          steps: t.steps.map((s) => ({ title: s.title, description: s.description })),
        })),
      })),
    }
  }

  /** Whether the canvas now shown is the one last saved (it survives a reload as 'current'). */
  function savedState() {
    return save.value.savedRevision === doc.revision.value && docGetters.hasCanvas.value ? 'current' : null
  }

  function markSavedCurrent() {
    save.value.savedRevision = doc.revision.value
  }

  function resetSaving() {
    save.value = idle()
  }

  return {
    state: { save },
    getters: { unsaved, canSave },
    actions: { idempotencyKey, playbookForSave },
    savedState,
    markSavedCurrent,
    resetSaving,
  }
}
