// Chat turns and the build's watch: a message starts a turn; a turn (or an approval) that leaves a
// build running opens the watch, which reconnects a few times when it drops.

import { Phase } from '../../generated/contract.js'
import { liveCheck } from './context.js'
import { selectionContext } from './useSelection.js'

const WATCH_RETRY_DELAYS_MS = [1000, 2000, 4000]

/**
 * @param {import('./context.js').BuilderContext} ctx
 * @param {{persist: () => void}} reload
 * @param {{ensureSession: () => Promise<object>, showError: (err: object, retry: object) => void}} session
 * @param {{callbacks: (kind: string, retry: object) => object}} streams
 */
export function useChat(ctx, reload, session, streams) {
  const { api, sse, store, sleep } = ctx

  function uiContext() {
    const base = { phase: store.phase, canvas_version: store.version, module_count: store.canvas.modules.length }
    return { ...base, ...selectionContext(store.canvas, ctx.focus?.selection ?? null) }
  }

  async function runChat(prompt, files = []) {
    // A turn changes the canvas outside the build log: until a watch has given a fresh snapshot,
    // there is no position to resume from.
    store.resumeId = null
    store.chatRunning = true
    store.stopping = false
    ctx.stopNoticeShown = false
    store.banner = null
    try {
      await session.ensureSession()
    } catch (err) {
      store.chatRunning = false
      session.showError(err, { type: 'chat', prompt, files })
      return
    }
    const live = liveCheck(ctx)
    const { url, body } = api.runRequest(ctx.session, prompt, uiContext(), files)
    ctx.handles.chat = sse.startRun({
      url,
      body,
      callbacks: streams.callbacks('chat', { type: 'chat', prompt, files }),
    })
    const result = await ctx.handles.chat.done
    if (!live()) return
    ctx.handles.chat = null
    store.chatRunning = false
    store.endAllStreaming()
    reload.persist()
    if (result.outcome === 'success' && store.phase === Phase.BUILDING) void startWatch()
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
    reload.persist()
    await runChat(prompt, files)
    return true
  }

  /**
   * Opens (or re-opens after a reload) the stream of the session's background work.
   *
   * @param {{fresh?: boolean}} [options]  `fresh`: ask for the current canvas instead of resuming.
   */
  async function startWatch({ fresh = false } = {}) {
    if (store.watching || !ctx.session) return
    store.watching = true
    const live = liveCheck(ctx)
    const req = api.actionRequest(ctx.session, 'watch', { last_event_id: fresh ? null : store.resumeId })
    ctx.handles.watch = sse.startRun({ ...req, callbacks: streams.callbacks('watch', { type: 'watch' }) })
    const before = store.resumeId
    const result = await ctx.handles.watch.done
    if (!live()) return
    ctx.handles.watch = null
    store.watching = false
    reload.persist()
    if (store.resumeId !== before) ctx.watchRetries = 0 // it made progress: the retry budget starts again
    const dropped = result.outcome === 'incomplete' && !store.stopping
    // A watch that ended while the runtime still reports a build: look again shortly.
    const unfinished = result.outcome === 'success' && store.phase === Phase.BUILDING
    if (dropped || unfinished) {
      if (ctx.watchRetries < WATCH_RETRY_DELAYS_MS.length) {
        await sleep(WATCH_RETRY_DELAYS_MS[ctx.watchRetries++])
        if (live() && !store.watching && !store.stopping) return startWatch()
        return
      }
      if (dropped) session.showError(result.error, { type: 'watch' })
      return
    }
    ctx.watchRetries = 0
  }

  return { runChat, send, startWatch }
}
