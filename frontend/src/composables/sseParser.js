// A Server-Sent Events parser following the AG-UI TypeScript client's rules and the WHATWG
// event-stream grammar: bytes are decoded with TextDecoder({stream: true}), lines end in \n, \r\n
// or \r, a blank line ends a frame, the incomplete tail is kept for the next chunk, multi-line
// `data:` is joined with "\n", comment lines (": keepalive") are ignored, `id:` is tracked, and
// whatever is left when the stream ends is flushed.

/**
 * @typedef {object} SseFrame
 * @property {string} data      The frame's data lines joined with "\n".
 * @property {string} event     The `event:` field ("message" when absent).
 * @property {string|null} id   The `id:` given in this frame, or null.
 * @property {string|null} lastEventId  The last id seen on the stream so far.
 */

/**
 * Creates an incremental parser of already-decoded text.
 *
 * @param {(frame: SseFrame) => void} onFrame  Called once per complete frame that has data.
 * @returns {{push: (text: string) => void, flush: () => void, readonly lastEventId: string|null}}
 */
export function createSseParser(onFrame) {
  let buffer = ''
  let dataLines = []
  let eventName = ''
  let frameId = null
  let lastEventId = null

  function dispatch() {
    if (dataLines.length > 0) {
      onFrame({
        data: dataLines.join('\n'),
        event: eventName || 'message',
        id: frameId,
        lastEventId,
      })
    }
    dataLines = []
    eventName = ''
    frameId = null
  }

  function processLine(line) {
    if (line === '') {
      dispatch()
      return
    }
    if (line.startsWith(':')) return // comment / heartbeat
    const colon = line.indexOf(':')
    let field = line
    let value = ''
    if (colon !== -1) {
      field = line.slice(0, colon)
      value = line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
    }
    switch (field) {
      case 'data':
        dataLines.push(value)
        break
      case 'event':
        eventName = value
        break
      case 'id':
        if (!value.includes('\0')) {
          frameId = value
          lastEventId = value
        }
        break
      default:
        // `retry` and unknown fields are ignored.
        break
    }
  }

  function drain(final) {
    let start = 0
    for (let i = 0; i < buffer.length; i++) {
      const ch = buffer[i]
      if (ch === '\n') {
        processLine(buffer.slice(start, i))
        start = i + 1
      } else if (ch === '\r') {
        if (i + 1 < buffer.length) {
          processLine(buffer.slice(start, i))
          if (buffer[i + 1] === '\n') i++
          start = i + 1
        } else if (final) {
          processLine(buffer.slice(start, i))
          start = i + 1
        } else {
          // A lone \r at the end of a chunk may be the first half of \r\n: wait for more.
          break
        }
      }
    }
    buffer = buffer.slice(start)
  }

  return {
    push(text) {
      if (!text) return
      buffer += text
      drain(false)
    },
    flush() {
      drain(true)
      if (buffer !== '') {
        processLine(buffer)
        buffer = ''
      }
      dispatch()
    },
    get lastEventId() {
      return lastEventId
    },
  }
}

/**
 * Reads a fetch Response body as an event stream, calling onFrame for each frame.
 *
 * @param {ReadableStream<Uint8Array>} body
 * @param {(frame: SseFrame) => void} onFrame
 * @param {{signal?: AbortSignal}} [options]
 * @returns {Promise<{lastEventId: string|null}>}
 */
export async function readSseStream(body, onFrame, { signal } = {}) {
  const reader = body.getReader()
  const decoder = new TextDecoder('utf-8')
  const parser = createSseParser(onFrame)
  const onAbort = () => reader.cancel().catch(() => {})
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      parser.push(decoder.decode(value, { stream: true }))
    }
    parser.push(decoder.decode())
    parser.flush()
  } finally {
    signal?.removeEventListener('abort', onAbort)
    try {
      reader.releaseLock()
    } catch {
      /* already released */
    }
  }
  return { lastEventId: parser.lastEventId }
}
