// Answering approval cards: approve, reject, reroute, or add context; the answer resumes the
// paused run, and a card whose time ran out shows as expired.

import { Phase } from '../../generated/contract.js'
import { liveCheck } from './context.js'

const DECISION_NOTICE = {
  approve: 'You approved.',
  reject: 'You rejected.',
  reroute: 'You sent this back to the assistant to re-route.',
  add_context: 'You added context.',
}

/**
 * @param {import('./context.js').BuilderContext} ctx
 * @param {{persist: () => void}} reload
 * @param {{callbacks: (kind: string, retry: object) => object}} streams
 * @param {{startWatch: () => Promise<void>}} chat
 */
export function useApprovalAnswers(ctx, reload, streams, chat) {
  const { api, sse, store, now } = ctx

  function isExpired(it) {
    if (!it?.expiresAt) return false
    const t = Date.parse(it.expiresAt)
    return Number.isFinite(t) && t <= now()
  }

  /** Answers an approval card: approve | reject | reroute | add_context (with text). */
  async function decide(interruptId, decision, context) {
    const it = store.interrupts.find((i) => i.id === interruptId)
    if (!it || it.state !== 'pending' || !ctx.session) return
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
    ctx.stopNoticeShown = false
    const live = liveCheck(ctx)
    const req = api.actionRequest(ctx.session, 'resume_interrupt', {
      interrupt_id: interruptId,
      decision,
      context: decision === 'add_context' ? String(context).trim() : undefined,
    })
    ctx.handles.resume = sse.startRun({
      ...req,
      callbacks: streams.callbacks('resume', { type: 'resume', interruptId, decision, context }),
    })
    const result = await ctx.handles.resume.done
    if (!live()) return
    ctx.handles.resume = null
    store.resuming = false
    store.endAllStreaming()
    const current = store.interrupts.find((i) => i.id === interruptId)
    if (current?.state === 'sending') {
      store.updateInterrupt(interruptId, {
        state: result.outcome === 'error' || result.outcome === 'incomplete' ? 'pending' : 'answered',
      })
    }
    reload.persist()
    if (result.outcome === 'success' && store.phase === Phase.BUILDING) void chat.startWatch()
  }

  /** Marks approvals whose time ran out (the page calls this on a timer). */
  function expireInterrupts() {
    for (const it of store.interrupts) {
      if (it.state === 'pending' && isExpired(it)) it.state = 'expired'
    }
  }

  return { decide, expireInterrupts }
}
