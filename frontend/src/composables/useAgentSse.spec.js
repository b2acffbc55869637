// @vitest-environment node
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { consumeEventStream, createEventDispatcher, useAgentSse } from './useAgentSse.js'
import { nav, resetCsrfCache } from '../api/agent.js'
import { ev, frame, frames, jsonResponse, sseResponse, toolCall } from '../test/sse.js'

function recorder() {
  const calls = []
  const names = [
    'onText', 'onTextStart', 'onTextEnd', 'onToolCall', 'onState', 'onHandoff', 'onInterrupt', 'onInterrupted',
    'onDone', 'onProgress', 'onModuleStatus', 'onSubagent', 'onCustom', 'onRunStarted', 'onFinished', 'onError',
    'onProtocolWarning', 'onModelRetry',
  ]
  const cb = Object.fromEntries(names.map((n) => [n, (...args) => calls.push([n, ...args])]))
  return { cb, calls, of: (n) => calls.filter((c) => c[0] === n).map((c) => c.slice(1)) }
}

const FIRST_TURN = [
  ev.runStarted(),
  ev.custom('control.handoff', { target: 'playbooks', handoff_context: 'onboarding' }),
  ...toolCall('tc1', 'set_playbook_outline', { title: 'Onboarding', modules: [{ title: 'Kickoff' }] }),
  ev.textStart('m1'),
  ev.text('m1', "Here's an "),
  ev.text('m1', 'outline.'),
  ev.textEnd('m1'),
  ...toolCall('tc2', 'suggest_replies', { replies: ['Build it'] }),
  ev.snapshot({ phase: 'outline', canvas: { title: 'Onboarding', modules: [] }, version: 2 }),
  ev.custom('portal.done', { phase: 'outline', version: 2 }),
  ev.runFinished({ type: 'success' }),
]

describe('createEventDispatcher', () => {
  it('maps a first chat turn to callbacks in order', () => {
    const r = recorder()
    const d = createEventDispatcher(r.cb)
    FIRST_TURN.forEach((e, i) => d.handle(e, i + 1))
    expect(r.calls.map((c) => c[0])).toEqual([
      'onRunStarted', 'onHandoff', 'onToolCall', 'onTextStart', 'onText', 'onText', 'onTextEnd', 'onToolCall',
      'onState', 'onDone', 'onFinished',
    ])
    expect(r.of('onHandoff')[0][0]).toEqual({ target: 'playbooks', handoff_context: 'onboarding' })
    const [tool, args, meta] = r.of('onToolCall')[0]
    expect(tool).toBe('set_playbook_outline')
    expect(args.modules[0].title).toBe('Kickoff')
    expect(meta).toMatchObject({ toolCallId: 'tc1', eventId: 3 })
    expect(r.of('onText').map((c) => c[0]).join('')).toBe("Here's an outline.")
    expect(r.of('onState')[0]).toEqual([{ phase: 'outline', canvas: { title: 'Onboarding', modules: [] }, version: 2 }, { eventId: 13 }])
    expect(r.of('onDone')[0][0]).toEqual({ phase: 'outline', version: 2 })
    expect(d.terminal).toBe('success')
  })

  it('concatenates tool arguments that arrive in several deltas', () => {
    const r = recorder()
    const d = createEventDispatcher(r.cb)
    const json = JSON.stringify({ module_index: 0, tasks: [{ title: 'Send welcome pack', steps: [] }] })
    d.handle(ev.toolStart('a', 'add_tasks', { subagentRunId: 'sub-1' }), 1)
    for (let i = 0; i < json.length; i += 7) d.handle(ev.toolArgs('a', json.slice(i, i + 7)), 2 + i)
    d.handle(ev.toolEnd('a'), 1000)
    expect(r.of('onToolCall')).toEqual([
      ['add_tasks', JSON.parse(json), { toolCallId: 'a', eventId: 1, endEventId: 1000, subagentRunId: 'sub-1' }],
    ])
  })

  it('drops a frame whose id is lower than one already seen on this stream (a replay); equal ids share a log position', () => {
    const r = recorder()
    const d = createEventDispatcher(r.cb)
    d.handle(ev.textStart('m'), 5)
    d.handle(ev.text('m', 'a'), 6)
    d.handle(ev.text('m', 'b'), 6)
    d.handle(ev.text('m', 'x'), 4)
    d.handle(ev.text('m', 'c'), 7)
    expect(r.of('onText').map((c) => c[0])).toEqual(['a', 'b', 'c'])
    expect(d.lastEventId).toBe(7)
  })

  it('reports after each event whether a tool call is half-received', () => {
    const seen = []
    const d = createEventDispatcher({ onApplied: (e, id, info) => seen.push([e.type, id, info.openToolCalls]) })
    toolCall('t', 'add_module', { title: 'x' }).forEach((e, i) => d.handle(e, i + 1))
    expect(seen).toEqual([
      ['TOOL_CALL_START', 1, 1],
      ['TOOL_CALL_ARGS', 2, 1],
      ['TOOL_CALL_END', 3, 0],
    ])
  })

  it('reports interrupt outcomes with their expiry (metadata.expires_at or expiresAt)', () => {
    const r = recorder()
    const d = createEventDispatcher(r.cb)
    d.handle(
      ev.runFinished({
        type: 'interrupt',
        interrupts: [
          { id: 'int-1', reason: 'build_many_modules', message: 'Build 9 modules?', metadata: { expires_at: '2030-01-01T00:00:00Z' } },
          { id: 'int-2', reason: 'remove_built_module', expiresAt: '2031-01-01T00:00:00Z' },
        ],
      }),
      1,
    )
    const [list] = r.of('onInterrupt')[0]
    expect(list).toEqual([
      { id: 'int-1', reason: 'build_many_modules', message: 'Build 9 modules?', expiresAt: '2030-01-01T00:00:00Z', metadata: { expires_at: '2030-01-01T00:00:00Z' } },
      { id: 'int-2', reason: 'remove_built_module', message: '', expiresAt: '2031-01-01T00:00:00Z', metadata: {} },
    ])
    expect(d.terminal).toBe('interrupt')
    expect(r.of('onInterrupted')).toHaveLength(0)
  })

  it('maps run.cancelled + RUN_FINISHED(cancelled) to a single onInterrupted', () => {
    const r = recorder()
    const d = createEventDispatcher(r.cb)
    d.handle(ev.custom('run.cancelled', { reason: 'stopped by user' }), 1)
    d.handle(ev.runFinished({ type: 'cancelled' }), 2)
    expect(r.of('onInterrupted')).toEqual([[{ reason: 'stopped by user' }]])
    expect(d.terminal).toBe('cancelled')
  })

  it('treats RUN_FINISHED(cancelled) alone as interrupted too', () => {
    const r = recorder()
    createEventDispatcher(r.cb).handle(ev.runFinished({ type: 'cancelled' }), 1)
    expect(r.of('onInterrupted')).toHaveLength(1)
  })

  it('turns RUN_ERROR into onError with its code', () => {
    const r = recorder()
    const d = createEventDispatcher(r.cb)
    d.handle(ev.runError('Another turn is running.', 'SESSION_BUSY'), 1)
    const [err] = r.of('onError')[0]
    expect(err).toMatchObject({ message: 'Another turn is running.', code: 'SESSION_BUSY', kind: 'run' })
    expect(d.terminal).toBe('error')
  })

  it('dispatches a model retry notice with the withdrawn message ids', () => {
    const r = recorder()
    const d = createEventDispatcher(r.cb)
    d.handle(ev.custom('model.retry', { attempt: 1, delay_seconds: 2, withdrawn: ['m1'] }), 1)
    expect(r.of('onModelRetry')).toEqual([[{ attempt: 1, delay_seconds: 2, withdrawn: ['m1'] }]])
    expect(r.of('onCustom')).toEqual([])
  })

  it('dispatches build events: subagents, progress, module status', () => {
    const r = recorder()
    const d = createEventDispatcher(r.cb)
    d.handle(ev.subStarted('s0', 0), 1)
    d.handle(ev.custom('module.status', { module_index: 0, status: 'building' }), 2)
    d.handle(ev.custom('build.progress', { built: 1, failed: 0, total: 3 }), 3)
    d.handle(ev.subFinished('s0'), 4)
    d.handle(ev.subError('s1', 'model failed'), 5)
    d.handle(ev.custom('something.else', { a: 1 }), 6)
    expect(r.of('onSubagent').map((c) => c[0])).toEqual(['started', 'finished', 'error'])
    expect(r.of('onModuleStatus')[0][0]).toEqual({ module_index: 0, status: 'building' })
    expect(r.of('onProgress')[0][0]).toEqual({ built: 1, failed: 0, total: 3 })
    expect(r.of('onCustom')[0]).toEqual(['something.else', { a: 1 }])
  })

  it('ignores events that are not valid AG-UI, and tool calls whose args are not JSON', () => {
    const r = recorder()
    const d = createEventDispatcher(r.cb)
    d.handle({ type: 'NOT_A_THING' }, 1)
    d.handle({ type: 'TEXT_MESSAGE_CONTENT' }, 2) // no messageId / delta
    d.handle(ev.toolStart('x', 'add_module'), 3)
    d.handle(ev.toolArgs('x', '{"title": '), 4)
    d.handle(ev.toolEnd('x'), 5)
    expect(r.of('onText')).toHaveLength(0)
    expect(r.of('onToolCall')).toHaveLength(0)
    expect(r.of('onProtocolWarning')).toHaveLength(3)
  })
})

describe('consumeEventStream', () => {
  it('reads a whole response; outcome success', async () => {
    const r = recorder()
    const res = await consumeEventStream(sseResponse(frames(FIRST_TURN)), r.cb)
    expect(res).toEqual({ outcome: 'success', lastEventId: FIRST_TURN.length })
    expect(r.of('onToolCall')).toHaveLength(2)
  })

  it('survives heartbeats and a frame split at every byte', async () => {
    const text = ': keepalive\n\n' + frames(FIRST_TURN) + ': keepalive\n\n'
    const bytes = new TextEncoder().encode(text)
    const r = recorder()
    const pieces = Array.from(bytes, (_, i) => bytes.slice(i, i + 1))
    const res = await consumeEventStream(sseResponse(pieces), r.cb)
    expect(res.outcome).toBe('success')
    expect(r.of('onText').map((c) => c[0]).join('')).toBe("Here's an outline.")
  })

  it('reports a stream that ends without a terminal event as incomplete', async () => {
    const r = recorder()
    const res = await consumeEventStream(sseResponse(frames(FIRST_TURN.slice(0, 5)) + 'id: 6\ndata: {"type":"TEXT_MES'), r.cb)
    expect(res.outcome).toBe('incomplete')
    expect(r.of('onError')[0][0]).toMatchObject({ code: 'STREAM_INTERRUPTED' })
    expect(r.of('onProtocolWarning')).toHaveLength(1)
  })

  it('reports a connection failure mid-stream as incomplete', async () => {
    const r = recorder()
    const res = await consumeEventStream(sseResponse([frame(1, ev.runStarted())], { error: new TypeError('reset') }), r.cb)
    expect(res.outcome).toBe('incomplete')
    expect(r.of('onError')[0][0].code).toBe('STREAM_INTERRUPTED')
  })

  it('reports interrupt and cancelled outcomes', async () => {
    const a = await consumeEventStream(
      sseResponse(frames([ev.runStarted(), ev.runFinished({ type: 'interrupt', interrupts: [{ id: 'i', reason: 'x' }] })])),
      {},
    )
    expect(a.outcome).toBe('interrupt')
    const r = recorder()
    const b = await consumeEventStream(
      sseResponse(frames([ev.runStarted(), ev.custom('run.cancelled', {}), ev.runFinished({ type: 'cancelled' })])),
      r.cb,
    )
    expect(b.outcome).toBe('cancelled')
    expect(r.of('onInterrupted')).toHaveLength(1)
  })
})

describe('useAgentSse', () => {
  let assign
  beforeEach(() => {
    resetCsrfCache()
    assign = vi.spyOn(nav, 'assign').mockImplementation(() => {})
  })
  afterEach(() => vi.unstubAllGlobals())

  function fakeFetch(handler) {
    const calls = []
    const fn = vi.fn(async (url, init = {}) => {
      calls.push({ url, init })
      if (url === '/api/csrf') return jsonResponse(200, { csrf_token: 'tok-123' })
      return handler(url, init)
    })
    vi.stubGlobal('fetch', fn)
    return calls
  }

  it('POSTs JSON with the CSRF token and same-origin credentials, and streams the answer', async () => {
    const calls = fakeFetch(() => sseResponse(frames(FIRST_TURN)))
    const { startRun, isStreaming, lastEventId } = useAgentSse()
    const r = recorder()
    const handle = startRun({ url: '/api/agent/run', body: { prompt: 'hi' }, callbacks: r.cb })
    expect(isStreaming.value).toBe(true)
    const res = await handle.done
    expect(res.outcome).toBe('success')
    expect(isStreaming.value).toBe(false)
    expect(lastEventId.value).toBe(FIRST_TURN.length)
    const run = calls.find((c) => c.url === '/api/agent/run')
    expect(run.init.method).toBe('POST')
    expect(run.init.credentials).toBe('same-origin')
    expect(run.init.headers['X-CSRFToken']).toBe('tok-123')
    expect(run.init.headers.Accept).toBe('text/event-stream')
    expect(JSON.parse(run.init.body)).toEqual({ prompt: 'hi' })
    expect(r.of('onDone')).toHaveLength(1)
  })

  it('sends extra headers such as Last-Event-ID', async () => {
    const calls = fakeFetch(() => sseResponse(frames([ev.runStarted(), ev.runFinished()])))
    const { startRun } = useAgentSse()
    await startRun({ url: '/w', body: {}, headers: { 'Last-Event-ID': '41' } }).done
    expect(calls.find((c) => c.url === '/w').init.headers['Last-Event-ID']).toBe('41')
  })

  it('reads a non-OK response once and raises its status and JSON error', async () => {
    fakeFetch(() => jsonResponse(409, { error: { code: 'SESSION_BUSY', message: 'A turn is already running.' } }))
    const r = recorder()
    const res = await useAgentSse().startRun({ url: '/x', body: {}, callbacks: r.cb }).done
    expect(res.outcome).toBe('error')
    expect(r.of('onError')[0][0]).toMatchObject({ status: 409, code: 'SESSION_BUSY', message: 'A turn is already running.' })
    expect(assign).not.toHaveBeenCalled()
  })

  it('retries once with a fresh CSRF token when the token was refused (nothing ran)', async () => {
    let csrf = 0
    const seen = []
    vi.stubGlobal('fetch', vi.fn(async (url, init) => {
      if (url === '/api/csrf') return jsonResponse(200, { csrf_token: `c${++csrf}` })
      seen.push(init.headers['X-CSRFToken'])
      return seen.length === 1
        ? jsonResponse(403, { error: { code: 'CSRF_FAILED', message: 'The CSRF token has expired.' } })
        : sseResponse(frames([ev.runStarted(), ev.runFinished()]))
    }))
    const r = recorder()
    const res = await useAgentSse().startRun({ url: '/x', body: {}, callbacks: r.cb }).done
    expect(res.outcome).toBe('success')
    expect(seen).toEqual(['c1', 'c2'])
    expect(r.of('onError')).toHaveLength(0)
  })

  it('sends a 401 to the login page', async () => {
    fakeFetch(() => jsonResponse(401, { error: { code: 'UNAUTHENTICATED', message: 'Log in.' } }))
    const r = recorder()
    await useAgentSse().startRun({ url: '/x', body: {}, callbacks: r.cb }).done
    expect(assign).toHaveBeenCalledWith('/login?next=/builder')
    expect(r.of('onError')[0][0].status).toBe(401)
  })

  it('does not log out on a 401 for a stale agent token', async () => {
    fakeFetch(() => jsonResponse(401, { error: { code: 'TOKEN_EXPIRED', message: 'expired' } }))
    await useAgentSse().startRun({ url: '/x', body: {}, callbacks: {} }).done
    expect(assign).not.toHaveBeenCalled()
  })

  it('handles a non-JSON error body', async () => {
    fakeFetch(() => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }))
    const r = recorder()
    await useAgentSse().startRun({ url: '/x', body: {}, callbacks: r.cb }).done
    expect(r.of('onError')[0][0]).toMatchObject({ status: 502, code: null, message: 'Bad Gateway' })
  })

  it('reports a network failure', async () => {
    fakeFetch(() => {
      throw new TypeError('Failed to fetch')
    })
    const r = recorder()
    const res = await useAgentSse().startRun({ url: '/x', body: {}, callbacks: r.cb }).done
    expect(res.outcome).toBe('error')
    expect(r.of('onError')[0][0]).toMatchObject({ code: 'NETWORK', kind: 'network' })
  })

  it('cancel() aborts an open stream without reporting an error', async () => {
    let enqueue
    fakeFetch(
      (url, init) =>
        new Response(
          new ReadableStream({
            start(c) {
              enqueue = (s) => c.enqueue(new TextEncoder().encode(s))
              init.signal.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')))
            },
          }),
          { status: 200 },
        ),
    )
    const r = recorder()
    const sse = useAgentSse()
    const handle = sse.startRun({ url: '/x', body: {}, callbacks: r.cb })
    await vi.waitFor(() => expect(enqueue).toBeTypeOf('function'))
    enqueue(frame(1, ev.runStarted()))
    await vi.waitFor(() => expect(r.of('onRunStarted')).toHaveLength(1))
    sse.cancel()
    const res = await handle.done
    expect(res.outcome).toBe('aborted')
    expect(r.of('onError')).toHaveLength(0)
    expect(sse.isStreaming.value).toBe(false)
  })

  it('cancel() before the response arrives resolves as aborted', async () => {
    fakeFetch(
      (url, init) =>
        new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))),
    )
    const sse = useAgentSse()
    const r = recorder()
    const handle = sse.startRun({ url: '/x', body: {}, callbacks: r.cb })
    await Promise.resolve()
    await new Promise((res) => setTimeout(res, 0))
    handle.cancel()
    expect((await handle.done).outcome).toBe('aborted')
    expect(r.of('onError')).toHaveLength(0)
  })
})
