// useBuilder: what the page does, composed of its features (each in composables/builder/): the
// session and how problems are shown (session.js), what each stream event does (streamCallbacks.js),
// chat turns and the build's watch (chat.js), stop and reset (control.js), approvals (approvals.js),
// save (saving.js), what survives a reload (reload.js), opening drafts (drafts.js) and direct edits,
// undo and redo (useCanvasEdits.js). They share one context (context.js).

import { ref } from 'vue'
import * as agentApi from '../api/agent.js'
import { useAgentSse } from './useAgentSse.js'
import { usePlaybookBuilderStore } from '../stores/playbookBuilder.js'
import { useCanvasFocusStore } from '../stores/canvasFocus.js'
import * as storage from '../lib/storage.js'
import { useApprovalAnswers } from './builder/approvals.js'
import { useCanvasEdits } from './builder/useCanvasEdits.js'
import { useChat } from './builder/chat.js'
import { createBuilderContext } from './builder/context.js'
import { useControl } from './builder/control.js'
import { useDraftOpening } from './builder/drafts.js'
import { useReload } from './builder/reload.js'
import { useSaveAction } from './builder/saving.js'
import { useSession } from './builder/session.js'
import { useStreamCallbacks } from './builder/streamCallbacks.js'

/**
 * @param {{
 *   api?: typeof agentApi,
 *   sse?: ReturnType<typeof useAgentSse>,
 *   store?: ReturnType<typeof usePlaybookBuilderStore>,
 *   focus?: ReturnType<typeof useCanvasFocusStore>,
 *   storage?: typeof storage,
 *   navigate?: (url: string) => void,
 *   sleep?: (ms: number) => Promise<void>,
 *   now?: () => number,
 *   draftsApi?: typeof import('../api/drafts.js'),
 * }} [deps]
 */
export function useBuilder(deps = {}) {
  const ctx = createBuilderContext({
    api: deps.api ?? agentApi,
    sse: deps.sse ?? useAgentSse(),
    store: deps.store ?? usePlaybookBuilderStore(),
    focus: deps.focus ?? useCanvasFocusStore(),
    saved: deps.storage ?? storage,
    navigate: deps.navigate ?? ((url) => agentApi.nav.assign(url)),
    sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    now: deps.now ?? (() => Date.now()),
  })
  const { store } = ctx
  const ready = ref(false)
  const confirmingReset = ref(false)

  const reload = useReload(ctx)
  const session = useSession(ctx, reload)
  const streams = useStreamCallbacks(ctx, reload, session)
  const chat = useChat(ctx, reload, session, streams)
  const control = useControl(ctx, reload, session, streams, confirmingReset)
  const approvals = useApprovalAnswers(ctx, reload, streams, chat)
  const saving = useSaveAction(ctx, reload)
  const edits = useCanvasEdits(ctx, reload)
  const drafts = useDraftOpening(ctx, reload, chat, session, deps.draftsApi)

  /** "Try again" / "Reconnect" on an error message. */
  async function retry(message) {
    const r = message?.retry
    if (message?.id) store.removeMessage(message.id)
    if (!r) return
    if (r.type === 'chat') {
      if (!store.chatRunning) await chat.runChat(r.prompt, r.files || [])
    } else if (r.type === 'watch') {
      ctx.watchRetries = 0
      await chat.startWatch()
    } else if (r.type === 'resume') {
      store.updateInterrupt(r.interruptId, { state: 'pending' })
      await approvals.decide(r.interruptId, r.decision, r.context)
    }
  }

  async function retryBanner() {
    const r = store.banner?.retry
    store.banner = null
    if (r?.type === 'session') {
      try {
        await session.ensureSession()
      } catch (err) {
        session.showBanner(err, r)
      }
    }
  }

  /** On page load: re-attach to a saved session (reload during a build), or start a new one. */
  async function init() {
    const asked = drafts.takeFromAddress() // /builder?draft=… or ?playbook=… (issue 11)
    if (asked) {
      ready.value = true
      if (await asked()) return
    }
    const previous = reload.restoreSaved()
    if (previous) {
      ctx.session = {
        session_id: previous.session_id,
        token: previous.token,
        agent_url: previous.agent_url || '/api/agent',
      }
      store.resumeId = Number.isFinite(previous.lastEventId) ? previous.lastEventId : null
      ready.value = true
      await chat.startWatch({ fresh: !previous.resumable || store.resumeId == null })
      return
    }
    try {
      await session.openSession()
    } finally {
      ready.value = true
    }
  }

  /** Sign out: forget this tab's session, then the web app logs the person out. */
  async function signOut() {
    ctx.generation += 1
    ctx.sse.cancel()
    ctx.saved.clearSaved()
    await ctx.api.logout().catch(() => {})
  }

  return {
    ready,
    confirmingReset,
    signOut,
    init,
    send: chat.send,
    stop: control.stop,
    requestNewPlaybook: control.requestNewPlaybook,
    newPlaybook: control.newPlaybook,
    cancelNewPlaybook: () => {
      confirmingReset.value = false
    },
    decide: approvals.decide,
    expireInterrupts: approvals.expireInterrupts,
    save: saving.save,
    openDraft: drafts.openDraft,
    openPlaybook: drafts.openPlaybook,
    retry,
    retryBanner,
    startWatch: chat.startWatch,
    persist: reload.persist,
    /** Direct edits, undo and redo (provided to the canvas as `canvasEdits`). */
    edits,
    get session() {
      return ctx.session
    },
  }
}
