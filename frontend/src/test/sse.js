// Helpers for tests: AG-UI events as SSE bytes, and Responses that stream them in chosen pieces.

export function frame(id, event) {
  return `${id == null ? '' : `id: ${id}\n`}data: ${JSON.stringify(event)}\n\n`
}

export function frames(events, startId = 1) {
  return events.map((e, i) => frame(startId + i, e)).join('')
}

/** A ReadableStream of the given byte chunks (Uint8Array or string). */
export function streamOf(chunks, { error } = {}) {
  const enc = new TextEncoder()
  let i = 0
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) {
        const c = chunks[i++]
        controller.enqueue(typeof c === 'string' ? enc.encode(c) : c)
      } else if (error) {
        controller.error(error)
      } else {
        controller.close()
      }
    },
  })
}

export function sseResponse(chunks, init = {}) {
  return new Response(streamOf(Array.isArray(chunks) ? chunks : [chunks], init), {
    status: 200,
    headers: { 'Content-Type': 'text/event-stream' },
  })
}

export function jsonResponse(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

/** Splits bytes into two pieces at `at`. */
export function splitAt(bytes, at) {
  return [bytes.slice(0, at), bytes.slice(at)]
}

export const ev = {
  runStarted: () => ({ type: 'RUN_STARTED', threadId: 't', runId: 'r' }),
  runFinished: (outcome) => ({ type: 'RUN_FINISHED', threadId: 't', runId: 'r', ...(outcome ? { outcome } : {}) }),
  runError: (message, code) => ({ type: 'RUN_ERROR', message, ...(code ? { code } : {}) }),
  custom: (name, value) => ({ type: 'CUSTOM', name, value }),
  textStart: (messageId) => ({ type: 'TEXT_MESSAGE_START', messageId, role: 'assistant' }),
  text: (messageId, delta) => ({ type: 'TEXT_MESSAGE_CONTENT', messageId, delta }),
  textEnd: (messageId) => ({ type: 'TEXT_MESSAGE_END', messageId }),
  toolStart: (toolCallId, toolCallName, extra = {}) => ({ type: 'TOOL_CALL_START', toolCallId, toolCallName, ...extra }),
  toolArgs: (toolCallId, delta) => ({ type: 'TOOL_CALL_ARGS', toolCallId, delta }),
  toolEnd: (toolCallId) => ({ type: 'TOOL_CALL_END', toolCallId }),
  snapshot: (snapshot) => ({ type: 'STATE_SNAPSHOT', snapshot }),
  subStarted: (id, index) => ({ type: 'SUBAGENT_STARTED', subagentRunId: id, name: `module_builder`, metadata: { module_index: index } }),
  subFinished: (id) => ({ type: 'SUBAGENT_FINISHED', subagentRunId: id }),
  subError: (id, message) => ({ type: 'SUBAGENT_ERROR', subagentRunId: id, message }),
}

/** The three events of one tool call. */
export function toolCall(id, name, args) {
  return [ev.toolStart(id, name), ev.toolArgs(id, JSON.stringify(args)), ev.toolEnd(id)]
}
