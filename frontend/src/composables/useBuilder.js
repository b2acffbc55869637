// useBuilder: what the page does — a session, chat turns, the build's watch, stop, reset, approvals
// and save — wiring api/agent.js and useAgentSse to the playbookBuilder store.

import { ref } from 'vue'
import * as agentApi from '../api/agent.js'
import { useAgentSse } from './useAgentSse.js'
import { usePlaybookBuilderStore } from '../stores/playbookBuilder.js'
import { explainError } from '../lib/errors.js'
import * as storage from '../lib/storage.js'

const STOP_GRACE_MS = 8000
const PERSIST_EVERY_MS = 250
const WATCH_RETRY_DELAYS_MS = [1000, 2000, 4000]
const MAX_SAVED_MESSAGES = 200

const DECISION_NOTICE = {
  approve: 'You approved.',
  reject: 'You rejected.',
  reroute: 'You sent this back to the assistant to re-route.',
  add_context: 'You added context.',
}

/**
 * @param {{
 *   api?: typeof agentApi,
 *   sse?: ReturnType<typeof useAgentSse>,
 *   store?: ReturnType<typeof usePlaybookBuilderStore>,
 *   storage?: typeof storage,
 *   navigate?: (url: string) => void,
 *   sleep?: (ms: number) => Promise<void>,
 *   now?: () => number,
 * }} [deps]
 */
export function useBuilder(deps = {}) {
  const api = deps.api ?? agentApi
  const sse = deps.sse ?? useAgentSse()
  const store = deps.store ?? usePlaybookBuilderStore()
  const saved = deps.storage ?? storage
  const navigate = deps.navigate ?? ((url) => agentApi.nav.assign(url))
  const sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)))
  const now = deps.now ?? (() => Date.now())

  /** @type {{session_id: string, token: string, agent_url: string}|null} */
  let session = null
  let chatHandle = null
  let watchHandle = null
  let resumeHandle = null
  let stopNoticeShown = false
  let watchRetries = 0
  let generation = 0 // bumps on reset so late callbacks of an old session are ignored
  const ready = ref(false)
  const confirmingReset = ref(false)

  // ---- persistence --------------------------------------------------------------------------
  // What a reload needs: the session, the conversation, the canvas, and `lastEventId` — the build-log
  // position the canvas is complete up to (taken from a watch stream at points where no tool call is
  // half-received, or from a turn's closing STATE_SNAPSHOT, which the runtime takes together with
  // its id under the canvas lock). They are written together, so a watch resumed after that id
  // replays exactly what the canvas lacks — including a build that finished before the watch
  // connected, and its "Done!" message. While a turn runs there is no such position; a reload then
  // asks the watch for a fresh snapshot instead (also exact).

  let lastPersist = 0

  function persist() {
    if (!session) return
    lastPersist = now()
    saved.saveSession({
      ...session,
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

  function restoreSaved() {
    const t = saved.loadTranscript()
    if (t) {
      if (Array.isArray(t.messages)) store.messages = t.messages.map((m) => ({ ...m, streaming: false }))
      if (Array.isArray(t.suggestions)) store.suggestions = t.suggestions
      if (Array.isArray(t.interrupts)) store.addInterrupts(t.interrupts)
    }
    store.restore(saved.loadCanvas())
  }

  // ---- session ------------------------------------------------------------------------------

  async function ensureSession() {
    if (session) return session
    session = await api.createSession()
    persist()
    return session
  }

  async function replaceSession() {
    session = null
    saved.clearSaved()
    try {
      await ensureSession()
    } catch (err) {
      showBanner(err, { type: 'session' })
    }
  }

  function showBanner(err, retry) {
    store.banner = { ...explainError(err), code: err?.code ?? null, status: err?.status ?? null, retry }
  }

  function showError(err, retry) {
    const explained = explainError(err)
    if (explained.action === 'login') return // already on the way to the login page
    const msg = store.addError(err)
    Object.assign(msg, {
      title: explained.title,
      text: explained.message,
      action: explained.action,
      retry,
      code: err?.code ?? null,
    })
    if (explained.action === 'new' && agentApi.isTokenError(err)) {
      // The token is stale; a fresh session lets the next message go through.
      void replaceSession()
    }
  }

  // ---- stream callbacks ---------------------------------------------------------------------

  function markStopped(remote = true) {
    store.endAllStreaming()
    if (!stopNoticeShown) {
      stopNoticeShown = true
      store.addNotice(remote ? 'Stopped.' : 'Stopped. The server could not be reached, so it may finish its current step.', 'stopped')
    }
    if (store.phase === 'building') {
      for (const mod of store.canvas.modules) {
        if (mod.status === 'building') mod.status = 'pending'
      }
      store.phase = store.taskCount > 0 ? 'refinement' : 'outline'
      store.progress = null
    }
  }

  /**
   * @param {string} kind  chat | watch | resume
   * @param {object} retry  What "Try again" does for an error in this stream.
   */
  function callbacks(kind, retry) {
    const gen = generation
    const live = () => gen === generation
    let snapshots = 0
    let retryNotice = null // one "model is busy" notice per run, updated on each retry
    return {
      onEvent(_event, eventId) {
        if (!live()) return
        store.noteEventId(eventId)
      },
      onApplied(event, eventId, { openToolCalls }) {
        // A watch's frames carry build-log positions. After each one (but RUN_STARTED, which comes
        // before the opening snapshot) with no tool call half-received, the canvas here is complete
        // up to that position: a resume point. So is a turn's closing STATE_SNAPSHOT.
        if (!live() || openToolCalls > 0 || eventId == null) return
        if (kind !== 'watch' && event.type !== 'STATE_SNAPSHOT') return
        if (event.type === 'RUN_STARTED') return
        if (store.resumeId == null || eventId > store.resumeId) store.resumeId = eventId
        persistSoon()
      },
      onTextStart(messageId) {
        if (live()) store.startAssistantMessage(messageId)
      },
      onText(delta, messageId) {
        if (live()) store.appendAssistantText(messageId, delta)
      },
      onTextEnd(messageId) {
        if (!live()) return
        store.endAssistantMessage(messageId)
        persist()
      },
      onToolCall(tool, args, meta) {
        if (!live()) return
        store.applyToolCall(tool, args, meta)
      },
      onState(snapshot, meta) {
        if (!live()) return
        // A watch opens with the runtime's current canvas: it replaces whatever this page had.
        const force = kind === 'watch' && snapshots === 0
        snapshots += 1
        store.applySnapshot(snapshot, { ...meta, force })
      },
      onHandoff(value) {
        if (live()) store.activeAgent = value?.target ?? null
      },
      onProgress(value) {
        if (live()) store.setProgress(value)
      },
      onModuleStatus(value) {
        if (live()) store.setModuleStatus(value?.module_index, value?.status, value?.reason ?? null)
      },
      onModelRetry(value) {
        if (!live()) return
        // The retry streams the whole answer again: drop what the failed attempt showed.
        for (const id of value?.withdrawn ?? []) store.removeMessage(id)
        const seconds = Math.max(1, Math.round(value?.delay_seconds ?? 0))
        if (retryNotice) store.removeMessage(retryNotice.id)
        retryNotice = store.addNotice(`The model is busy right now; trying again in ${seconds} s…`)
      },
      onSubagent(subKind, event) {
        if (live()) store.applySubagent(subKind, event)
      },
      onInterrupt(interrupts) {
        if (live()) store.addInterrupts(interrupts)
      },
      onInterrupted() {
        if (live()) markStopped(true)
      },
      onDone(value) {
        if (!live()) return
        if (value?.phase && ['empty', 'outline', 'building', 'refinement'].includes(value.phase)) {
          store.phase = value.phase
        }
        store.endAllStreaming()
        persist()
      },
      onError(err) {
        if (!live()) return
        store.endAllStreaming()
        if (kind === 'watch' && err.code === 'STREAM_INTERRUPTED') return // reconnects by itself
        if (kind === 'resume' && retry?.interruptId) {
          if (err.code === 'INTERRUPT_EXPIRED') {
            store.updateInterrupt(retry.interruptId, { state: 'expired' })
            return
          }
          if (err.code === 'INTERRUPT_ANSWERED' || err.code === 'INTERRUPT_UNKNOWN') {
            store.updateInterrupt(retry.interruptId, { state: 'answered', error: explainError(err).title })
            return
          }
          store.updateInterrupt(retry.interruptId, { state: 'pending', error: explainError(err).message })
        }
        showError(err, retry)
      },
    }
  }

  // ---- chat ---------------------------------------------------------------------------------

  function uiContext() {
    return { phase: store.phase, canvas_version: store.version, module_count: store.canvas.modules.length }
  }

  async function runChat(prompt, files = []) {
    // A turn changes the canvas outside the build log: until a watch has given a fresh snapshot,
    // there is no position to resume from.
    store.resumeId = null
    store.chatRunning = true
    store.stopping = false
    stopNoticeShown = false
    store.banner = null
    try {
      await ensureSession()
    } catch (err) {
      store.chatRunning = false
      showError(err, { type: 'chat', prompt, files })
      return
    }
    const gen = generation
    const { url, body } = api.runRequest(session, prompt, uiContext(), files)
    chatHandle = sse.startRun({ url, body, callbacks: callbacks('chat', { type: 'chat', prompt, files }) })
    const result = await chatHandle.done
    if (gen !== generation) return
    chatHandle = null
    store.chatRunning = false
    store.endAllStreaming()
    persist()
    if (result.outcome === 'success' && store.phase === 'building') void startWatch()
  }

  /**
   * Sends a message (Enter in the composer, or a suggestion chip), with the files attached to it.
   *
   * @param {string} text
   * @param {Array<{file_id: string, name: string, size: number, media_type: string}>} [files]
   */
  async function send(text, files = []) {
    const prompt = String(text ?? '').trim()
    if (!prompt || store.chatRunning || store.resuming) return false
    store.addUserMessage(prompt, files)
    persist()
    await runChat(prompt, files)
    return true
  }

  // ---- build watch --------------------------------------------------------------------------

  /**
   * Opens (or re-opens after a reload) the stream of the session's background work.
   *
   * @param {{fresh?: boolean}} [options]  `fresh`: ask for the current canvas instead of resuming.
   */
  async function startWatch({ fresh = false } = {}) {
    if (store.watching || !session) return
    store.watching = true
    const gen = generation
    const req = api.actionRequest(session, 'watch', { last_event_id: fresh ? null : store.resumeId })
    watchHandle = sse.startRun({ ...req, callbacks: callbacks('watch', { type: 'watch' }) })
    const before = store.resumeId
    const result = await watchHandle.done
    if (gen !== generation) return
    watchHandle = null
    store.watching = false
    persist()
    if (store.resumeId !== before) watchRetries = 0 // it made progress: the retry budget starts again
    const dropped = result.outcome === 'incomplete' && !store.stopping
    // A watch that ended while the runtime still reports a build: look again shortly.
    const unfinished = result.outcome === 'success' && store.phase === 'building'
    if (dropped || unfinished) {
      if (watchRetries < WATCH_RETRY_DELAYS_MS.length) {
        await sleep(WATCH_RETRY_DELAYS_MS[watchRetries++])
        if (gen === generation && !store.watching && !store.stopping) return startWatch()
        return
      }
      if (dropped) showError(result.error, { type: 'watch' })
      return
    }
    watchRetries = 0
  }

  // ---- stop ---------------------------------------------------------------------------------

  /** Stops whatever runs: the chat turn, the build, a resumed approval. */
  async function stop() {
    if (!store.canStop || store.stopping || !session) return
    store.stopping = true
    stopNoticeShown = false
    const gen = generation
    const req = api.actionRequest(session, 'stop')
    const grace = setTimeout(() => {
      // The server was told; if a stream still has not ended, stop listening to it here.
      if (gen !== generation) return
      for (const h of [chatHandle, watchHandle, resumeHandle]) h?.cancel()
    }, STOP_GRACE_MS)
    const stopHandle = sse.startRun({
      ...req,
      callbacks: {
        onInterrupted: () => gen === generation && markStopped(true),
        onError: () => {},
      },
    })
    const result = await stopHandle.done
    if (gen !== generation) return clearTimeout(grace)
    if (result.outcome === 'error' || result.outcome === 'incomplete') {
      for (const h of [chatHandle, watchHandle, resumeHandle]) h?.cancel()
      markStopped(result.outcome === 'incomplete')
    } else {
      markStopped(true)
    }
    await Promise.allSettled([chatHandle?.done, watchHandle?.done, resumeHandle?.done].filter(Boolean))
    clearTimeout(grace)
    store.chatRunning = false
    store.watching = false
    store.resuming = false
    store.stopping = false
    persist()
  }

  // ---- reset --------------------------------------------------------------------------------

  /** "New playbook": asks first when the canvas has unsaved work. */
  function requestNewPlaybook() {
    if (store.unsaved) {
      confirmingReset.value = true
      return false
    }
    void newPlaybook()
    return true
  }

  async function newPlaybook() {
    confirmingReset.value = false
    generation += 1
    sse.cancel()
    chatHandle = watchHandle = resumeHandle = null
    const old = session
    session = null
    store.resetAll()
    saved.clearSaved()
    if (old) {
      try {
        const req = api.actionRequest(old, 'reset')
        const handle = sse.startRun({ ...req, callbacks: { onError: () => {} } })
        await Promise.race([handle.done, sleep(5000)])
      } catch {
        /* the old session is abandoned either way */
      }
    }
    try {
      await ensureSession()
    } catch (err) {
      showBanner(err, { type: 'session' })
    }
  }

  // ---- approvals ----------------------------------------------------------------------------

  function isExpired(it) {
    if (!it?.expiresAt) return false
    const t = Date.parse(it.expiresAt)
    return Number.isFinite(t) && t <= now()
  }

  /** Answers an approval card: approve | reject | reroute | add_context (with text). */
  async function decide(interruptId, decision, context) {
    const it = store.interrupts.find((i) => i.id === interruptId)
    if (!it || it.state !== 'pending' || !session) return
    if (isExpired(it)) {
      store.updateInterrupt(interruptId, { state: 'expired' })
      return
    }
    if (decision === 'add_context' && !String(context ?? '').trim()) {
      store.updateInterrupt(interruptId, { error: 'Write the extra instructions first.' })
      return
    }
    store.updateInterrupt(interruptId, { state: 'sending', decision, error: null })
    store.addNotice(
      decision === 'add_context' ? `${DECISION_NOTICE.add_context} “${String(context).trim()}”` : DECISION_NOTICE[decision],
      'decision',
    )
    store.resuming = true
    store.resumeId = null
    stopNoticeShown = false
    const gen = generation
    const req = api.actionRequest(session, 'resume_interrupt', {
      interrupt_id: interruptId,
      decision,
      context: decision === 'add_context' ? String(context).trim() : undefined,
    })
    resumeHandle = sse.startRun({
      ...req,
      callbacks: callbacks('resume', { type: 'resume', interruptId, decision, context }),
    })
    const result = await resumeHandle.done
    if (gen !== generation) return
    resumeHandle = null
    store.resuming = false
    store.endAllStreaming()
    const current = store.interrupts.find((i) => i.id === interruptId)
    if (current?.state === 'sending') {
      store.updateInterrupt(interruptId, {
        state: result.outcome === 'error' || result.outcome === 'incomplete' ? 'pending' : 'answered',
      })
    }
    persist()
    if (result.outcome === 'success' && store.phase === 'building') void startWatch()
  }

  /** Marks approvals whose time ran out (the page calls this on a timer). */
  function expireInterrupts() {
    for (const it of store.interrupts) {
      if (it.state === 'pending' && isExpired(it)) it.state = 'expired'
    }
  }

  // ---- save ---------------------------------------------------------------------------------

  /** Saves the canvas; a retry of the same canvas reuses its idempotency key. */
  async function save() {
    if (!store.canSave) return null
    const revision = store.revision
    const key = store.idempotencyKey()
    store.save.status = 'saving'
    store.save.error = null
    try {
      const data = await api.savePlaybook(store.playbookForSave(), key, session?.session_id)
      store.save.status = 'saved'
      store.save.savedRevision = revision
      store.save.playbookId = data.playbook_id
      persist()
      navigate(api.playbookUrl(data.playbook_id))
      return data
    } catch (err) {
      store.save.status = 'error'
      store.save.error = { ...explainError(err), code: err?.code ?? null }
      return null
    }
  }

  // ---- retry --------------------------------------------------------------------------------

  /** "Try again" / "Reconnect" on an error message. */
  async function retry(message) {
    const r = message?.retry
    if (message?.id) store.removeMessage(message.id)
    if (!r) return
    if (r.type === 'chat') {
      if (!store.chatRunning) await runChat(r.prompt, r.files || [])
    } else if (r.type === 'watch') {
      watchRetries = 0
      await startWatch()
    } else if (r.type === 'resume') {
      store.updateInterrupt(r.interruptId, { state: 'pending' })
      await decide(r.interruptId, r.decision, r.context)
    }
  }

  async function retryBanner() {
    const r = store.banner?.retry
    store.banner = null
    if (r?.type === 'session') {
      try {
        await ensureSession()
      } catch (err) {
        showBanner(err, r)
      }
    }
  }

  // ---- start --------------------------------------------------------------------------------

  /** On page load: re-attach to a saved session (reload during a build), or start a new one. */
  async function init() {
    const previous = saved.loadSession()
    if (previous) {
      session = {
        session_id: previous.session_id,
        token: previous.token,
        agent_url: previous.agent_url || '/api/agent',
      }
      restoreSaved()
      store.resumeId = Number.isFinite(previous.lastEventId) ? previous.lastEventId : null
      ready.value = true
      await startWatch({ fresh: !previous.resumable || store.resumeId == null })
      return
    }
    try {
      await ensureSession()
    } catch (err) {
      showBanner(err, { type: 'session' })
    } finally {
      ready.value = true
    }
  }

  /** Sign out: forget this tab's session, then the web app logs the person out. */
  async function signOut() {
    generation += 1
    sse.cancel()
    saved.clearSaved()
    await api.logout().catch(() => {})
  }

  return {
    ready,
    confirmingReset,
    signOut,
    init,
    send,
    stop,
    requestNewPlaybook,
    newPlaybook,
    cancelNewPlaybook: () => {
      confirmingReset.value = false
    },
    decide,
    expireInterrupts,
    save,
    retry,
    retryBanner,
    startWatch,
    persist,
    get session() {
      return session
    },
  }
}
