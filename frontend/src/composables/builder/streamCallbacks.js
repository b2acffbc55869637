// What each event of a run does to the store: the callbacks given to useAgentSse for a chat turn,
// the build's watch, or a resumed approval. Callbacks of an older session (before a reset) do
// nothing.

import { ErrorCode, ModuleStatus, Phase, PHASES } from '../../generated/contract.js'
import { ClientErrorCode, explainError } from '../../lib/errors.js'
import { liveCheck } from './context.js'

/**
 * @param {import('./context.js').BuilderContext} ctx
 * @param {{persist: () => void, persistSoon: () => void}} reload
 * @param {{showError: (err: object, retry: object) => void}} session
 */
export function useStreamCallbacks(ctx, reload, session) {
  const { store } = ctx

  /** Shows the run as stopped (once), and a build that was under way as no longer building. */
  function markStopped(remote = true) {
    store.endAllStreaming()
    if (!ctx.stopNoticeShown) {
      ctx.stopNoticeShown = true
      store.addNotice(
        remote ? 'Stopped.' : 'Stopped. The server could not be reached, so it may finish its current step.',
        'stopped',
      )
    }
    if (store.phase === Phase.BUILDING) {
      for (const mod of store.canvas.modules) {
        if (mod.status === ModuleStatus.BUILDING) mod.status = ModuleStatus.PENDING
      }
      store.phase = store.taskCount > 0 ? Phase.REFINEMENT : Phase.OUTLINE
      store.progress = null
    }
  }

  /**
   * @param {string} kind  chat | watch | resume
   * @param {object} retry  What "Try again" does for an error in this stream.
   */
  function callbacks(kind, retry) {
    const live = liveCheck(ctx)
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
        reload.persistSoon()
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
        reload.persist()
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
      onMessages(messages) {
        if (live()) store.replaceTranscript(messages)
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
        if (value?.phase && PHASES.includes(value.phase)) {
          store.phase = value.phase
        }
        store.endAllStreaming()
        reload.persist()
      },
      onError(err) {
        if (!live()) return
        store.endAllStreaming()
        if (kind === 'watch' && err.code === ClientErrorCode.STREAM_INTERRUPTED) return // reconnects by itself
        if (kind === 'resume' && retry?.interruptId) {
          if (err.code === ErrorCode.INTERRUPT_EXPIRED) {
            store.updateInterrupt(retry.interruptId, { state: 'expired' })
            return
          }
          if (err.code === ErrorCode.INTERRUPT_ANSWERED || err.code === ErrorCode.INTERRUPT_UNKNOWN) {
            store.updateInterrupt(retry.interruptId, { state: 'answered', error: explainError(err).title })
            return
          }
          store.updateInterrupt(retry.interruptId, { state: 'pending', error: explainError(err).message })
        }
        session.showError(err, retry)
      },
    }
  }

  return { callbacks, markStopped }
}
