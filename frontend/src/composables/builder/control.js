// Stop (whatever runs: the turn, the build, a resumed approval) and "New playbook" (reset).

import { liveCheck } from './context.js'

const STOP_GRACE_MS = 8000
const RESET_WAIT_MS = 5000

/**
 * @param {import('./context.js').BuilderContext} ctx
 * @param {{persist: () => void}} reload
 * @param {{openSession: () => Promise<void>}} session
 * @param {{markStopped: (remote?: boolean) => void}} streams
 * @param {import('vue').Ref<boolean>} confirmingReset  Shows the "discard unsaved work?" dialog.
 */
export function useControl(ctx, reload, session, streams, confirmingReset) {
  const { api, sse, store, saved, sleep } = ctx
  const openHandles = () => [ctx.handles.chat, ctx.handles.watch, ctx.handles.resume]

  /** Stops whatever runs: the chat turn, the build, a resumed approval. */
  async function stop() {
    if (!store.canStop || store.stopping || !ctx.session) return
    store.stopping = true
    ctx.stopNoticeShown = false
    const live = liveCheck(ctx)
    const req = api.actionRequest(ctx.session, 'stop')
    const grace = setTimeout(() => {
      // The server was told; if a stream still has not ended, stop listening to it here.
      if (!live()) return
      for (const h of openHandles()) h?.cancel()
    }, STOP_GRACE_MS)
    const stopHandle = sse.startRun({
      ...req,
      callbacks: {
        onInterrupted: () => live() && streams.markStopped(true),
        onError: () => {},
      },
    })
    const result = await stopHandle.done
    if (!live()) return clearTimeout(grace)
    if (result.outcome === 'error' || result.outcome === 'incomplete') {
      for (const h of openHandles()) h?.cancel()
      streams.markStopped(result.outcome === 'incomplete')
    } else {
      streams.markStopped(true)
    }
    await Promise.allSettled(openHandles().map((h) => h?.done).filter(Boolean))
    clearTimeout(grace)
    store.chatRunning = false
    store.watching = false
    store.resuming = false
    store.stopping = false
    reload.persist()
  }

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
    ctx.generation += 1
    sse.cancel()
    ctx.handles = { chat: null, watch: null, resume: null }
    const old = ctx.session
    ctx.session = null
    store.resetAll()
    saved.clearSaved()
    if (old) {
      try {
        const req = api.actionRequest(old, 'reset')
        const handle = sse.startRun({ ...req, callbacks: { onError: () => {} } })
        await Promise.race([handle.done, sleep(RESET_WAIT_MS)])
      } catch {
        /* the old session is abandoned either way */
      }
    }
    await session.openSession()
  }

  return { stop, requestNewPlaybook, newPlaybook }
}
