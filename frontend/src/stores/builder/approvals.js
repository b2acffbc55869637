// Approvals: the interrupts the runtime asked the person to answer, each also a card in the
// conversation. One part of the playbookBuilder store.

import { computed, ref } from 'vue'

/**
 * @param {{messages: import('vue').Ref<object[]>}} conversation  Where each approval's card goes.
 */
export function useApprovals(conversation) {
  const interrupts = ref([]) // {id, reason, message, expiresAt, state: pending|sending|answered|expired, decision?}
  const pendingInterrupts = computed(() =>
    interrupts.value.filter((i) => i.state === 'pending' || i.state === 'sending'),
  )

  /** Adds approval requests; each also takes its place in the conversation. */
  function addInterrupts(list) {
    const messages = conversation.messages.value
    for (const it of list ?? []) {
      if (!it?.id || interrupts.value.some((i) => i.id === it.id)) continue
      if (!messages.some((m) => m.role === 'approval' && m.interruptId === it.id)) {
        messages.push({ id: `approval-${it.id}`, role: 'approval', interruptId: it.id, text: '' })
      }
      interrupts.value.push({
        id: it.id,
        reason: it.reason ?? '',
        message: it.message ?? '',
        expiresAt: it.expiresAt ?? null,
        metadata: it.metadata ?? {},
        state: 'pending',
        decision: null,
        error: null,
      })
    }
  }

  function updateInterrupt(id, patch) {
    const it = interrupts.value.find((i) => i.id === id)
    if (it) Object.assign(it, patch)
    return it
  }

  function resetApprovals() {
    interrupts.value = []
  }

  return {
    state: { interrupts },
    getters: { pendingInterrupts },
    actions: { addInterrupts, updateInterrupt },
    resetApprovals,
  }
}
