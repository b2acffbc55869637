// What a reload needs, kept in this tab's storage: the session, the conversation, the canvas, and
// `lastEventId` — the build-log position the canvas is complete up to (taken from a watch stream at
// points where no tool call is half-received, or from a turn's closing STATE_SNAPSHOT, which the
// runtime takes together with its id under the canvas lock). They are written together, so a watch
// resumed after that id replays exactly what the canvas lacks — including a build that finished
// before the watch connected, and its "Done!" message. While a turn runs there is no such
// position; a reload then asks the watch for a fresh snapshot instead (also exact).

const PERSIST_EVERY_MS = 250
const MAX_SAVED_MESSAGES = 200

/** @param {import('./context.js').BuilderContext} ctx */
export function useReload(ctx) {
  const { store, saved, now } = ctx
  let lastPersist = 0

  function persist() {
    if (!ctx.session) return
    lastPersist = now()
    saved.saveSession({
      ...ctx.session,
      lastEventId: store.resumeId,
      resumable: store.resumeId != null && !(store.chatRunning || store.resuming),
    })
    saved.saveTranscript({
      messages: store.messages
        .filter((m) => m.role !== 'error')
        .slice(-MAX_SAVED_MESSAGES)
        .map((m) => ({ id: m.id, role: m.role, text: m.text, tone: m.tone, interruptId: m.interruptId })),
      suggestions: store.suggestions,
      interrupts: store.interrupts.filter((i) => i.state === 'pending'),
    })
    saved.saveCanvas(store.canvasState())
  }

  function persistSoon() {
    if (now() - lastPersist >= PERSIST_EVERY_MS) persist()
  }

  /** Puts back the conversation and canvas a reload left; returns the saved session, if any. */
  function restoreSaved() {
    const previous = saved.loadSession()
    if (!previous) return null
    const t = saved.loadTranscript()
    if (t) {
      if (Array.isArray(t.messages)) store.messages = t.messages.map((m) => ({ ...m, streaming: false }))
      if (Array.isArray(t.suggestions)) store.suggestions = t.suggestions
      if (Array.isArray(t.interrupts)) store.addInterrupts(t.interrupts)
    }
    store.restore(saved.loadCanvas())
    return previous
  }

  return { persist, persistSoon, restoreSaved }
}
