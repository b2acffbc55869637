// useAgentSse: one POST per run (chat turn, watch, stop, reset, resume), its event-stream response
// read with fetch + ReadableStream, and each AG-UI event validated with @ag-ui/core's schemas and
// dispatched to callbacks. See DESIGN §7 and the seed's "Component Initialization" diagram.

import { ref } from 'vue'
import { EventType } from '@ag-ui/core'
import { EventSchema } from '@ag-ui/core/schemas'
import { readSseStream } from './sseParser.js'
import { ApiError, post } from '../api/agent.js'
import { CustomEventName } from '../generated/contract.js'
import { ClientErrorCode } from '../lib/errors.js'

/** The AG-UI `CUSTOM` event names this product emits (generated from contract.py). */
export const CUSTOM = CustomEventName

/**
 * @typedef {object} AgentCallbacks
 * @property {(delta: string, messageId: string|undefined, event: object) => void} [onText]
 * @property {(messageId: string, event: object) => void} [onTextStart]
 * @property {(messageId: string, event: object) => void} [onTextEnd]
 * @property {(tool: string, args: object, meta: {toolCallId: string, eventId: number|null, endEventId: number|null, subagentRunId?: string}) => void} [onToolCall]
 * @property {(snapshot: object, meta: {eventId: number|null}) => void} [onState]
 * @property {(messages: Array<{id: string, role: string, content?: unknown}>) => void} [onMessages]  A joining watch's transcript.
 * @property {(value: object) => void} [onHandoff]
 * @property {(interrupts: object[], event: object) => void} [onInterrupt]
 * @property {(value: object) => void} [onInterrupted]  The run was stopped (run.cancelled / outcome cancelled).
 * @property {(value: object) => void} [onDone]         portal.done: the assistant's turn is complete.
 * @property {(value: {built: number, failed: number, total: number}) => void} [onProgress]
 * @property {(value: {module_index: number, status: string, reason?: string}) => void} [onModuleStatus]
 * @property {(value: {attempt: number, delay_seconds: number, withdrawn: string[]}) => void} [onModelRetry]
 *   The model was throttled and is retried; the text messages in `withdrawn` are replaced by the retry.
 * @property {(kind: 'started'|'finished'|'error', event: object) => void} [onSubagent]
 * @property {(name: string, value: unknown) => void} [onCustom]
 * @property {(event: object) => void} [onRunStarted]
 * @property {(event: object) => void} [onFinished]     RUN_FINISHED, whatever its outcome.
 * @property {(error: ApiError) => void} [onError]
 * @property {(event: object, eventId: number|null) => void} [onEvent]  Every valid event, first.
 * @property {(event: object, eventId: number|null, info: {openToolCalls: number}) => void} [onApplied]
 *   Every valid event, after its callback ran; `openToolCalls` 0 means the state is consistent at this id.
 * @property {(problem: string, detail: unknown) => void} [onProtocolWarning]
 */

/**
 * @typedef {object} RunResult
 * @property {'success'|'interrupt'|'cancelled'|'error'|'aborted'|'incomplete'} outcome
 * @property {number|null} lastEventId
 * @property {ApiError} [error]
 */

function toEventId(raw) {
  if (raw == null || raw === '') return null
  const n = Number(raw)
  return Number.isFinite(n) ? n : null
}

function interruptsOf(outcome) {
  return (outcome?.interrupts ?? []).map((it) => ({
    id: it.id,
    reason: it.reason,
    message: it.message ?? '',
    expiresAt: it.expiresAt ?? it.metadata?.expires_at ?? it.expires_at ?? null,
    metadata: it.metadata ?? {},
  }))
}

/**
 * Dispatches the events of one stream to callbacks. Exported for tests; startRun uses it.
 *
 * @param {AgentCallbacks} callbacks
 */
export function createEventDispatcher(callbacks = {}) {
  const cb = callbacks
  const toolCalls = new Map() // toolCallId → {name, args: string, subagentRunId, eventId}
  let lastSeenId = null
  let terminal = null // 'success' | 'interrupt' | 'cancelled' | 'error'
  let cancelledNotified = false
  let error = null

  function warn(problem, detail) {
    if (cb.onProtocolWarning) cb.onProtocolWarning(problem, detail)
    else console.warn(`[agent-sse] ${problem}`, detail)
  }

  function finishToolCall(toolCallId, event, endEventId) {
    const call = toolCalls.get(toolCallId)
    if (!call) {
      warn('TOOL_CALL_END without a start', toolCallId)
      return
    }
    toolCalls.delete(toolCallId)
    let args = {}
    if (call.args.trim() !== '') {
      try {
        args = JSON.parse(call.args)
      } catch (err) {
        warn(`tool call ${call.name} has arguments that are not JSON`, err)
        return
      }
    }
    cb.onToolCall?.(call.name, args, {
      toolCallId,
      eventId: call.eventId,
      endEventId,
      subagentRunId: call.subagentRunId ?? event.subagentRunId,
    })
  }

  function onCustom(event) {
    const value = event.value ?? {}
    switch (event.name) {
      case CUSTOM.HANDOFF:
        cb.onHandoff?.(value)
        break
      case CUSTOM.DONE:
        cb.onDone?.(value)
        break
      case CUSTOM.CANCELLED:
        if (!cancelledNotified) {
          cancelledNotified = true
          cb.onInterrupted?.(value)
        }
        break
      case CUSTOM.BUILD_PROGRESS:
        cb.onProgress?.(value)
        break
      case CUSTOM.MODULE_STATUS:
        cb.onModuleStatus?.(value)
        break
      case CUSTOM.MODEL_RETRY:
        cb.onModelRetry?.(value)
        break
      default:
        cb.onCustom?.(event.name, value)
    }
  }

  /**
   * @param {object} raw     The decoded JSON of one frame.
   * @param {number|null} eventId  The frame's SSE id.
   */
  function handle(raw, eventId) {
    if (eventId != null) {
      // Ids are log positions: several frames may share one (a watch's opening snapshot), but an
      // id lower than one already seen on this stream is a replay.
      if (lastSeenId != null && eventId < lastSeenId) return
      lastSeenId = eventId
    }
    const parsed = EventSchema.safeParse(raw)
    if (!parsed.success) {
      warn(`ignored an event that is not valid AG-UI (${raw?.type ?? 'no type'})`, parsed.error?.issues)
      return
    }
    const event = parsed.data
    cb.onEvent?.(event, eventId)
    switch (event.type) {
      case EventType.RUN_STARTED:
        cb.onRunStarted?.(event)
        break
      case EventType.TEXT_MESSAGE_START:
        cb.onTextStart?.(event.messageId, event)
        break
      case EventType.TEXT_MESSAGE_CONTENT:
        if (event.delta) cb.onText?.(event.delta, event.messageId, event)
        break
      case EventType.TEXT_MESSAGE_CHUNK:
        if (event.delta) cb.onText?.(event.delta, event.messageId, event)
        break
      case EventType.TEXT_MESSAGE_END:
        cb.onTextEnd?.(event.messageId, event)
        break
      case EventType.TOOL_CALL_START:
        toolCalls.set(event.toolCallId, {
          name: event.toolCallName,
          args: '',
          subagentRunId: event.subagentRunId,
          eventId,
        })
        break
      case EventType.TOOL_CALL_ARGS: {
        const call = toolCalls.get(event.toolCallId)
        if (call) call.args += event.delta ?? ''
        else warn('TOOL_CALL_ARGS without a start', event.toolCallId)
        break
      }
      case EventType.TOOL_CALL_CHUNK: {
        const id = event.toolCallId
        if (!id) break
        const call = toolCalls.get(id)
        if (call) call.args += event.delta ?? ''
        else
          toolCalls.set(id, {
            name: event.toolCallName,
            args: event.delta ?? '',
            subagentRunId: event.subagentRunId,
            eventId,
          })
        break
      }
      case EventType.TOOL_CALL_END:
        finishToolCall(event.toolCallId, event, eventId)
        break
      case EventType.STATE_SNAPSHOT:
        cb.onState?.(event.snapshot ?? {}, { eventId })
        break
      case EventType.MESSAGES_SNAPSHOT:
        // A watch that joins a session: the transcript (user and assistant text, stable ids).
        cb.onMessages?.(Array.isArray(event.messages) ? event.messages : [])
        break
      case EventType.CUSTOM:
        onCustom(event)
        break
      case EventType.SUBAGENT_STARTED:
        cb.onSubagent?.('started', event)
        break
      case EventType.SUBAGENT_FINISHED:
        cb.onSubagent?.('finished', event)
        break
      case EventType.SUBAGENT_ERROR:
        cb.onSubagent?.('error', event)
        break
      case EventType.RUN_FINISHED: {
        const outcome = event.outcome?.type ?? 'success'
        terminal = outcome
        if (outcome === 'interrupt') {
          cb.onInterrupt?.(interruptsOf(event.outcome), event)
        } else if (outcome === 'cancelled' && !cancelledNotified) {
          cancelledNotified = true
          cb.onInterrupted?.({})
        }
        cb.onFinished?.(event)
        break
      }
      case EventType.RUN_ERROR:
        terminal = 'error'
        error = new ApiError(event.message || 'The assistant ran into a problem.', {
          code: event.code ?? null,
          kind: 'run',
        })
        cb.onError?.(error)
        break
      default:
        break
    }
    cb.onApplied?.(event, eventId, { openToolCalls: toolCalls.size })
  }

  return {
    handle,
    get terminal() {
      return terminal
    },
    get error() {
      return error
    },
    get lastEventId() {
      return lastSeenId
    },
  }
}

/**
 * Reads one stream to its end and dispatches its events. Never throws for stream content.
 *
 * @param {Response} response  An OK response whose body is an event stream.
 * @param {AgentCallbacks} callbacks
 * @param {{signal?: AbortSignal, onEventId?: (id: number) => void}} [options]
 * @returns {Promise<RunResult>}
 */
export async function consumeEventStream(response, callbacks = {}, { signal, onEventId } = {}) {
  const dispatcher = createEventDispatcher(callbacks)
  const onFrame = (frame) => {
    if (signal?.aborted) return
    const eventId = toEventId(frame.id)
    let raw
    try {
      raw = JSON.parse(frame.data)
    } catch (err) {
      ;(callbacks.onProtocolWarning ?? ((p, d) => console.warn(`[agent-sse] ${p}`, d)))(
        'ignored a frame whose data is not JSON',
        err,
      )
      return
    }
    const before = dispatcher.lastEventId
    dispatcher.handle(raw, eventId)
    if (eventId != null && dispatcher.lastEventId !== before) onEventId?.(eventId)
  }
  try {
    await readSseStream(response.body, onFrame, { signal })
  } catch (cause) {
    if (signal?.aborted) return { outcome: 'aborted', lastEventId: dispatcher.lastEventId }
    if (!dispatcher.terminal) {
      const error = new ApiError('The connection dropped before the assistant finished.', {
        code: ClientErrorCode.STREAM_INTERRUPTED,
        kind: 'network',
        cause,
      })
      callbacks.onError?.(error)
      return { outcome: 'incomplete', lastEventId: dispatcher.lastEventId, error }
    }
  }
  if (signal?.aborted && !dispatcher.terminal) {
    return { outcome: 'aborted', lastEventId: dispatcher.lastEventId }
  }
  if (!dispatcher.terminal) {
    const error = new ApiError('The connection closed before the assistant finished.', {
      code: ClientErrorCode.STREAM_INTERRUPTED,
      kind: 'network',
    })
    callbacks.onError?.(error)
    return { outcome: 'incomplete', lastEventId: dispatcher.lastEventId, error }
  }
  return {
    outcome: dispatcher.terminal,
    lastEventId: dispatcher.lastEventId,
    ...(dispatcher.error ? { error: dispatcher.error } : {}),
  }
}

/**
 * The composable. Several runs may be open at once (a chat turn and the stop that answers it, or a
 * build's watch); `cancel()` aborts them all.
 *
 * @param {{fetch?: typeof fetch}} [options]
 */
export function useAgentSse(options = {}) {
  const fetchImpl = options.fetch ?? ((...args) => globalThis.fetch(...args))
  const active = new Set()
  const isStreaming = ref(false)
  const lastEventId = ref(null)

  function track(handle, add) {
    if (add) active.add(handle)
    else active.delete(handle)
    isStreaming.value = active.size > 0
  }

  /**
   * Starts one run: POSTs `body` to `url` and streams the answer into `callbacks`.
   *
   * @param {{url: string, body: object, headers?: Record<string,string>, callbacks?: AgentCallbacks}} request
   * @returns {{cancel: () => void, signal: AbortSignal, done: Promise<RunResult>}}
   */
  function startRun({ url, body, headers = {}, callbacks = {} }) {
    const controller = new AbortController()
    const handle = { cancel: () => controller.abort(), signal: controller.signal, done: null }
    const noteId = (id) => {
      if (lastEventId.value == null || id > lastEventId.value) lastEventId.value = id
    }
    track(handle, true)
    handle.done = (async () => {
      let response
      try {
        response = await post(url, body, {
          accept: 'text/event-stream',
          headers,
          signal: controller.signal,
          fetch: fetchImpl,
          csrfOptional: true,
        })
      } catch (error) {
        if (controller.signal.aborted) return { outcome: 'aborted', lastEventId: null }
        callbacks.onError?.(error)
        return { outcome: 'error', lastEventId: null, error }
      }
      return consumeEventStream(response, callbacks, { signal: controller.signal, onEventId: noteId })
    })().finally(() => track(handle, false))
    return handle
  }

  /** Aborts every open run (locally; the server is told with the `stop` action, not by this). */
  function cancel() {
    for (const handle of [...active]) handle.cancel()
  }

  return { startRun, cancel, isStreaming, lastEventId }
}
