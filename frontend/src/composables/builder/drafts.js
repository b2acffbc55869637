// Opening another draft, or a saved playbook, in this tab (issue 11). The new session is asked for
// first — a refusal leaves the page as it was and says why in the banner — then this tab forgets
// its own session (it stays a draft on the server) and joins the other one with a fresh watch:
// its MESSAGES_SNAPSHOT brings the transcript back, its STATE_SNAPSHOT the canvas and phase, and a
// build still running streams on (its builders announced first).
//
// The builder also opens one from its address: /builder?draft=<session id> or
// /builder?playbook=<playbook id> ("Refine with the assistant" on the playbook pages); the address
// is then put back to /builder, so a reload re-attaches instead of opening it again.

import * as defaultApi from '../../api/drafts.js'

/**
 * @param {import('./context.js').BuilderContext} ctx
 * @param {{persist: () => void}} reload
 * @param {{startWatch: (options?: {fresh?: boolean}) => Promise<void>}} chat
 * @param {{showBanner: (err: object, retry: object|null) => void}} session
 * @param {typeof defaultApi} [api]
 */
export function useDraftOpening(ctx, reload, chat, session, api = defaultApi) {
  const { store, sse, saved } = ctx

  async function switchTo(getSession, { playbookId = null } = {}) {
    let next
    try {
      next = await getSession()
    } catch (err) {
      session.showBanner(err, null)
      return false
    }
    ctx.generation += 1
    sse.cancel()
    ctx.handles = { chat: null, watch: null, resume: null }
    ctx.watchRetries = 0
    store.resetAll()
    saved.clearSaved()
    ctx.session = { session_id: next.session_id, token: next.token, agent_url: next.agent_url || '/api/agent' }
    if (playbookId) store.save.playbookId = playbookId
    reload.persist()
    await chat.startWatch({ fresh: true })
    if (playbookId && ctx.session?.session_id === next.session_id) {
      // The canvas is the saved playbook as it is: nothing unsaved yet; and the chat says what opened.
      store.save.savedRevision = store.revision
      const version = Number.isFinite(next.version) ? ` (version ${next.version})` : ''
      const title = store.canvas.title || 'your playbook'
      store.addNotice(`Opened “${title}”${version}. Tell me what to change; saving adds a new version.`)
      reload.persist()
    }
    return true
  }

  /** Opens one of the person's drafts here. */
  function openDraft(sessionId) {
    if (ctx.session?.session_id === sessionId) return Promise.resolve(true)
    return switchTo(() => api.reopenDraft(sessionId))
  }

  /** Opens a saved playbook with the assistant (a new draft on it; its saves are new versions). */
  function openPlaybook(playbookId) {
    return switchTo(() => api.openPlaybook(playbookId), { playbookId })
  }

  /** What the address asks to open (`?draft=` / `?playbook=`), taken off the address; or null. */
  function takeFromAddress(location = globalThis.location, history = globalThis.history) {
    if (!location?.search) return null
    const params = new URLSearchParams(location.search)
    const draft = params.get('draft')
    const playbook = params.get('playbook')
    if (!draft && !playbook) return null
    history?.replaceState?.(null, '', location.pathname || '/builder')
    return draft ? () => openDraft(draft) : () => openPlaybook(playbook)
  }

  return { openDraft, openPlaybook, takeFromAddress }
}
