import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useBuilder } from './useBuilder.js'
import { usePlaybookBuilderStore } from '../stores/playbookBuilder.js'
import { nav, resetCsrfCache } from '../api/agent.js'
import { CANVAS_KEY, SESSION_KEY, TRANSCRIPT_KEY } from '../lib/storage.js'
import { ev, frames, toolCall } from '../test/sse.js'
import { installFakeServer, jsonResponse, openStream, SESSION, sessionRoute, sseResponse } from '../test/fakeServer.js'

const OUTLINE = { title: 'Client onboarding', modules: [{ title: 'Kickoff' }, { title: 'Documents' }] }
const CANVAS_OUTLINE = {
  title: 'Client onboarding',
  description: '',
  modules: OUTLINE.modules.map((m) => ({ ...m, description: '', status: 'pending', tasks: [] })),
}

function outlineTurn(start = 1) {
  return frames(
    [
      ev.runStarted(),
      ev.custom('control.handoff', { target: 'playbooks' }),
      ...toolCall('t1', 'set_playbook_outline', OUTLINE),
      ev.textStart('m1'),
      ev.text('m1', "Here's an **outline**."),
      ev.textEnd('m1'),
      ...toolCall('t2', 'suggest_replies', { replies: ['Build it'] }),
      ev.snapshot({ phase: 'outline', canvas: CANVAS_OUTLINE, version: 1 }),
      ev.custom('portal.done', { phase: 'outline', version: 1 }),
      ev.runFinished({ type: 'success' }),
    ],
    start,
  )
}

function buildTurn(start) {
  return frames(
    [
      ev.runStarted(),
      ...toolCall('t3', 'build_modules', {}),
      ev.textStart('m2'),
      ev.text('m2', 'Building 2 modules now…'),
      ev.textEnd('m2'),
      ev.snapshot({ phase: 'building', canvas: CANVAS_OUTLINE, version: 2 }),
      ev.custom('portal.done', { phase: 'building', version: 2 }),
      ev.runFinished({ type: 'success' }),
    ],
    start,
  )
}

function builtCanvas() {
  return {
    ...CANVAS_OUTLINE,
    modules: [
      { title: 'Kickoff', description: '', status: 'built', reason: null, tasks: [{ title: 'Book call', description: '', steps: [{ title: 'Pick date', description: '' }] }] },
      { title: 'Documents', description: '', status: 'built', reason: null, tasks: [{ title: 'Request ID', description: '', steps: [] }] },
    ],
  }
}

function watchEvents(start) {
  return frames(
    [
      ev.runStarted(),
      ev.snapshot({ phase: 'building', canvas: CANVAS_OUTLINE, version: 2 }),
      ev.subStarted('s0', 0),
      { ...toolCall('b1', 'add_tasks', { module_index: 0, tasks: [{ title: 'Book call' }] })[0], subagentRunId: 's0' },
      ev.toolArgs('b1', JSON.stringify({ module_index: 0, tasks: [{ title: 'Book call' }] })),
      ev.toolEnd('b1'),
      ...toolCall('b2', 'add_task_step', { module_index: 0, task_index: 0, step: { title: 'Pick date' } }),
      ev.subFinished('s0'),
      ev.custom('build.progress', { built: 1, failed: 0, total: 2 }),
      ev.subStarted('s1', 1),
      ...toolCall('b3', 'add_tasks', { module_index: 1, tasks: [{ title: 'Request ID' }] }),
      ev.subFinished('s1'),
      ev.custom('build.progress', { built: 2, failed: 0, total: 2 }),
      ev.snapshot({ phase: 'refinement', canvas: builtCanvas(), version: 7 }),
      ev.textStart('m3'),
      ev.text('m3', 'Done! Take a look and let me know what to change.'),
      ev.textEnd('m3'),
      ev.custom('portal.done', { phase: 'refinement', version: 7 }),
      ev.runFinished({ type: 'success' }),
    ],
    start,
  )
}

describe('useBuilder', () => {
  let store
  let navigate
  beforeEach(() => {
    setActivePinia(createPinia())
    store = usePlaybookBuilderStore()
    resetCsrfCache()
    sessionStorage.clear()
    navigate = vi.fn()
    vi.spyOn(nav, 'assign').mockImplementation(() => {})
  })
  afterEach(() => vi.unstubAllGlobals())

  const make = (extra = {}) => useBuilder({ store, navigate, sleep: () => Promise.resolve(), ...extra })

  it('creates a session on load and keeps it in sessionStorage', async () => {
    const server = installFakeServer({ 'POST /api/agent/copilot/session': sessionRoute() })
    const b = make()
    await b.init()
    expect(server.callsTo('/session')[0].headers['X-CSRFToken']).toBe('csrf-1')
    expect(JSON.parse(sessionStorage.getItem(SESSION_KEY))).toMatchObject(SESSION)
    expect(b.ready.value).toBe(true)
  })

  it('a first turn: outline on the canvas, Markdown text, suggestions; then "build it" streams the build via watch', async () => {
    let turn = 0
    const server = installFakeServer({
      'POST /api/agent/copilot/session': sessionRoute(),
      'POST /api/agent/run': () => sseResponse(turn++ === 0 ? outlineTurn(1) : buildTurn(20)),
      '/watch': () => sseResponse(watchEvents(40)),
    })
    const b = make()
    await b.init()
    await b.send('Onboard new clients')
    const run = server.callsTo('/api/agent/run')[0]
    expect(run.body).toMatchObject({ session_id: SESSION.session_id, token: SESSION.token, action: 'chat', prompt: 'Onboard new clients' })
    expect(store.canvas.modules.map((m) => m.title)).toEqual(['Kickoff', 'Documents'])
    expect(store.messages.map((m) => [m.role, m.text])).toEqual([
      ['user', 'Onboard new clients'],
      ['assistant', "Here's an **outline**."],
    ])
    expect(store.suggestions).toEqual(['Build it'])
    expect(store.activeAgent).toBe('playbooks')
    expect(store.chatRunning).toBe(false)

    await b.send('Build it')
    await vi.waitFor(() => expect(server.callsTo('/watch')).toHaveLength(1))
    const watch = server.callsTo('/watch')[0]
    expect(watch.url).toBe(`/api/agent/run/${SESSION.session_id}/watch`)
    // After a chat turn the watch resumes from the turn's closing snapshot (id 27 = 20 + 7 frames):
    // the runtime takes that snapshot and its id under the canvas lock, so replaying after it
    // neither misses nor doubles build events — even when the build already finished.
    expect(watch.body).toEqual({ token: SESSION.token, session_id: SESSION.session_id, last_event_id: 27 })
    expect(watch.headers['Last-Event-ID']).toBe('27')
    await vi.waitFor(() => expect(store.watching).toBe(false))
    expect(store.phase).toBe('refinement')
    expect(store.canvas).toEqual(builtCanvas())
    expect(store.messages.at(-1).text).toBe('Done! Take a look and let me know what to change.')
    expect(JSON.parse(sessionStorage.getItem(SESSION_KEY)).lastEventId).toBe(62)
  })

  it('a message sent while the page is still getting its session goes to that session, and so does the next', async () => {
    // Under load the page's own session request (on load) answers late, and the person has already
    // sent their first message: one session is minted and both turns go to it.
    const minted = []
    let answerLoad
    const loadAnswered = new Promise((resolve) => {
      answerLoad = resolve
    })
    let turn = 0
    const server = installFakeServer({
      'POST /api/agent/copilot/session': async () => {
        const session = { ...SESSION, session_id: `session-${minted.length}`, token: `token-${minted.length}` }
        minted.push(session)
        if (minted.length === 1) await loadAnswered
        return jsonResponse(200, session)
      },
      'POST /api/agent/run': () => sseResponse(turn++ === 0 ? outlineTurn(1) : buildTurn(20)),
      '/watch': () => sseResponse(watchEvents(40)),
    })
    const b = make()
    const loading = b.init()
    const first = b.send('Onboard new clients')
    await new Promise((resolve) => setTimeout(resolve, 0)) // every request either made has been answered
    answerLoad()
    await Promise.all([loading, first])
    await b.send('Build it')
    expect(minted.map((s) => s.session_id)).toEqual(['session-0'])
    expect(server.callsTo('/api/agent/run').map((c) => c.body.session_id)).toEqual(['session-0', 'session-0'])
    expect(JSON.parse(sessionStorage.getItem(SESSION_KEY)).session_id).toBe('session-0')
  })

  it('stop during a chat turn: posts stop, shows "Stopped." once, stays usable', async () => {
    const chat = openStream()
    let stopBody
    const server = installFakeServer({
      'POST /api/agent/copilot/session': sessionRoute(),
      'POST /api/agent/run': (init) => {
        chat.bindAbort(init.signal)
        chat.send(frames([ev.runStarted(), ev.textStart('m'), ev.text('m', 'Thinking about')], 1))
        return chat.response
      },
      '/stop': (init, body) => {
        stopBody = body
        // The in-flight run ends too, with run.cancelled + RUN_FINISHED(cancelled).
        chat.send(frames([ev.custom('run.cancelled', { reason: 'stopped' }), ev.runFinished({ type: 'cancelled' })], 4))
        chat.close()
        return sseResponse(frames([ev.runStarted(), ev.custom('run.cancelled', {}), ev.runFinished({ type: 'cancelled' })], 6))
      },
    })
    const b = make()
    await b.init()
    const sending = b.send('Onboard clients')
    await vi.waitFor(() => expect(store.messages.at(-1)?.text).toBe('Thinking about'))
    expect(store.canStop).toBe(true)
    await b.stop()
    await sending
    expect(stopBody).toEqual({ token: SESSION.token, session_id: SESSION.session_id })
    expect(server.callsTo('/stop')[0].url).toBe(`/api/agent/run/${SESSION.session_id}/stop`)
    expect(store.messages.filter((m) => m.text === 'Stopped.')).toHaveLength(1)
    expect(store.chatRunning).toBe(false)
    expect(store.stopping).toBe(false)
    expect(store.messages.some((m) => m.streaming)).toBe(false)
  })

  it('stop during a build keeps the tasks already on the canvas and leaves the building phase', async () => {
    const watch = openStream()
    installFakeServer({
      'POST /api/agent/copilot/session': sessionRoute(),
      'POST /api/agent/run': () => sseResponse(buildTurn(1)),
      '/watch': (init) => {
        watch.bindAbort(init.signal)
        watch.send(
          frames(
            [
              ev.runStarted(),
              ev.snapshot({ phase: 'building', canvas: CANVAS_OUTLINE, version: 2 }),
              ev.subStarted('s0', 0),
              ...toolCall('b1', 'add_tasks', { module_index: 0, tasks: [{ title: 'Book call' }] }),
            ],
            20,
          ),
        )
        return watch.response
      },
      '/stop': () => {
        watch.send(frames([ev.custom('run.cancelled', {}), ev.runFinished({ type: 'cancelled' })], 30))
        watch.close()
        return sseResponse(frames([ev.custom('run.cancelled', {}), ev.runFinished({ type: 'cancelled' })], 32))
      },
    })
    const b = make()
    await b.init()
    store.applyToolCall('set_playbook_outline', OUTLINE)
    await b.send('Build it')
    await vi.waitFor(() => expect(store.canvas.modules[0].tasks).toHaveLength(1))
    expect(store.watching).toBe(true)
    await b.stop()
    expect(store.watching).toBe(false)
    expect(store.canvas.modules[0].tasks[0].title).toBe('Book call')
    expect(store.phase).toBe('refinement')
    expect(store.canvas.modules.map((m) => m.status)).toEqual(['pending', 'pending'])
    expect(store.messages.filter((m) => m.text === 'Stopped.')).toHaveLength(1)
  })

  it('a 409 busy answer is shown in plain words with a retry that re-sends the prompt', async () => {
    let n = 0
    const server = installFakeServer({
      'POST /api/agent/copilot/session': sessionRoute(),
      'POST /api/agent/run': () =>
        n++ === 0
          ? jsonResponse(409, { error: { code: 'SESSION_BUSY', message: 'busy' } })
          : sseResponse(outlineTurn(1)),
    })
    const b = make()
    await b.init()
    await b.send('Onboard')
    const err = store.messages.find((m) => m.role === 'error')
    expect(err).toMatchObject({ title: 'Still working on your last request', action: 'retry' })
    await b.retry(err)
    expect(store.messages.some((m) => m.role === 'error')).toBe(false)
    expect(server.callsTo('/api/agent/run').map((c) => c.body.prompt)).toEqual(['Onboard', 'Onboard'])
    expect(store.messages.filter((m) => m.role === 'user')).toHaveLength(1)
    expect(store.hasCanvas).toBe(true)
  })

  it('a RUN_ERROR inside the stream is shown with its message', async () => {
    installFakeServer({
      'POST /api/agent/copilot/session': sessionRoute(),
      'POST /api/agent/run': () => sseResponse(frames([ev.runStarted(), ev.runError('The model did not answer.', 'MODEL_ERROR')])),
    })
    const b = make()
    await b.init()
    await b.send('x')
    expect(store.messages.at(-1)).toMatchObject({ role: 'error', title: 'The assistant ran into a problem', text: 'The model did not answer.' })
    expect(store.chatRunning).toBe(false)
  })

  it('a throttled model retry withdraws the partial text, so the answer shows once', async () => {
    installFakeServer({
      'POST /api/agent/copilot/session': sessionRoute(),
      'POST /api/agent/run': () =>
        sseResponse(
          frames([
            ev.runStarted(),
            ev.textStart('m1'),
            ev.text('m1', 'Ren'),
            ev.textEnd('m1'),
            ev.custom('model.retry', { attempt: 1, delay_seconds: 1.2, withdrawn: ['m1'] }),
            ev.custom('model.retry', { attempt: 2, delay_seconds: 2.4, withdrawn: [] }),
            ev.textStart('m2'),
            ev.text('m2', 'Renaming it. Done.'),
            ev.textEnd('m2'),
            ev.snapshot({ phase: 'empty', canvas: { title: '', description: '', modules: [] }, version: 0 }),
            ev.custom('portal.done', { phase: 'empty', version: 0 }),
            ev.runFinished({ type: 'success' }),
          ]),
        ),
    })
    const b = make()
    await b.init()
    await b.send('rename it')
    const assistant = store.messages.filter((m) => m.role === 'assistant')
    expect(assistant.map((m) => m.text)).toEqual(['Renaming it. Done.'])
    const notices = store.messages.filter((m) => m.role === 'notice' && /model is busy/.test(m.text))
    expect(notices.map((m) => m.text)).toEqual(['The model is busy right now; trying again in 2 s…'])
  })

  it('a network failure is shown with a way forward', async () => {
    installFakeServer({
      'POST /api/agent/copilot/session': sessionRoute(),
      'POST /api/agent/run': () => {
        throw new TypeError('Failed to fetch')
      },
    })
    const b = make()
    await b.init()
    await b.send('x')
    expect(store.messages.at(-1)).toMatchObject({ role: 'error', title: "Can't reach Playbook Builder", action: 'retry' })
  })

  it('a stale token gets a fresh session instead of a login loop', async () => {
    let sessions = 0
    installFakeServer({
      'POST /api/agent/copilot/session': () => {
        sessions += 1
        return jsonResponse(200, { ...SESSION, token: `tok-${sessions}` })
      },
      'POST /api/agent/run': () => jsonResponse(401, { error: { code: 'TOKEN_EXPIRED', message: 'expired' } }),
    })
    const b = make()
    await b.init()
    await b.send('x')
    await vi.waitFor(() => expect(b.session?.token).toBe('tok-2'))
    expect(nav.assign).not.toHaveBeenCalled()
  })

  it('reload during a build: re-attaches with watch from the saved lastEventId and catches up without doubles', async () => {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ ...SESSION, lastEventId: 27, resumable: true }))
    sessionStorage.setItem(TRANSCRIPT_KEY, JSON.stringify({ messages: [{ id: 'u1', role: 'user', text: 'Build it' }], suggestions: [] }))
    sessionStorage.setItem(CANVAS_KEY, JSON.stringify({ canvas: CANVAS_OUTLINE, phase: 'building', version: 2 }))
    const server = installFakeServer({
      // The watch replays ids 40.. after its snapshot; a replayed frame (same id) must not apply twice.
      '/watch': () => sseResponse(watchEvents(40).replace('id: 44\n', 'id: 44\n') + ''),
    })
    const b = make()
    await b.init()
    const watch = server.callsTo('/watch')[0]
    expect(watch.body.last_event_id).toBe(27)
    expect(server.callsTo('/session')).toHaveLength(0)
    expect(store.messages[0].text).toBe('Build it')
    expect(store.canvas).toEqual(builtCanvas())
    expect(store.phase).toBe('refinement')
  })

  it('reload during a build resumes right after the saved id: the saved canvas plus only what it lacks', async () => {
    const partial = {
      ...CANVAS_OUTLINE,
      modules: [{ ...CANVAS_OUTLINE.modules[0], status: 'building', tasks: [{ title: 'Book call', description: '', steps: [] }] }, CANVAS_OUTLINE.modules[1]],
    }
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ ...SESSION, lastEventId: 44, resumable: true }))
    sessionStorage.setItem(CANVAS_KEY, JSON.stringify({ canvas: partial, phase: 'building', version: 3 }))
    const server = installFakeServer({
      // Resumed: no snapshot, only the log after id 44.
      '/watch': () =>
        sseResponse(
          frames([ev.runStarted()], 44) +
            frames(toolCall('b2', 'add_task_step', { module_index: 0, task_index: 0, step: { title: 'Pick date' } }), 45) +
            frames([ev.custom('portal.done', { phase: 'building', version: 4 }), ev.runFinished()], 48),
        ),
    })
    const b = make()
    await b.init()
    expect(server.callsTo('/watch')[0].body.last_event_id).toBe(44)
    expect(store.canvas.modules[0].tasks).toEqual([{ title: 'Book call', description: '', steps: [{ title: 'Pick date', description: '' }] }])
    expect(store.resumeId).toBe(49)
  })

  it('reload in the middle of a chat turn asks for a fresh snapshot (the saved canvas may be behind)', async () => {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ ...SESSION, lastEventId: 44, resumable: false }))
    sessionStorage.setItem(CANVAS_KEY, JSON.stringify({ canvas: CANVAS_OUTLINE, phase: 'outline', version: 5 }))
    const server = installFakeServer({
      '/watch': () => sseResponse(frames([ev.runStarted(), ev.snapshot({ phase: 'refinement', canvas: builtCanvas(), version: 3 }), ev.runFinished()], 60)),
    })
    const b = make()
    await b.init()
    expect(server.callsTo('/watch')[0].body.last_event_id).toBeUndefined()
    expect(server.callsTo('/watch')[0].headers['Last-Event-ID']).toBeUndefined()
    // The runtime's snapshot wins even though its version is lower than the saved one.
    expect(store.canvas).toEqual(builtCanvas())
  })

  it('reload catch-up applies replayed tool calls only once even if the snapshot comes first', async () => {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ ...SESSION, lastEventId: 10 }))
    const withTask = {
      ...CANVAS_OUTLINE,
      modules: [{ ...CANVAS_OUTLINE.modules[0], status: 'building', tasks: [{ title: 'Book call', description: '', steps: [] }] }, CANVAS_OUTLINE.modules[1]],
    }
    installFakeServer({
      '/watch': () =>
        sseResponse(
          // snapshot (id 15) already holds the task added at id 12-14; the replay of 12-14 must not double it
          frames([ev.runStarted()], 11) +
            frames([ev.snapshot({ phase: 'building', canvas: withTask, version: 3 })], 15) +
            frames(toolCall('b1', 'add_tasks', { module_index: 0, tasks: [{ title: 'Book call' }] }), 12) +
            frames(toolCall('b2', 'add_tasks', { module_index: 1, tasks: [{ title: 'Request ID' }] }), 16) +
            frames([ev.custom('portal.done', { phase: 'refinement', version: 5 }), ev.runFinished()], 19),
        ),
    })
    const b = make()
    await b.init()
    expect(store.canvas.modules[0].tasks.map((t) => t.title)).toEqual(['Book call'])
    expect(store.canvas.modules[1].tasks.map((t) => t.title)).toEqual(['Request ID'])
  })

  it('a dropped watch reconnects by itself with the last id it saw', async () => {
    let n = 0
    const server = installFakeServer({
      '/watch': () => {
        n += 1
        if (n === 1) return sseResponse(frames([ev.runStarted(), ev.snapshot({ phase: 'building', canvas: CANVAS_OUTLINE, version: 2 })], 5))
        return sseResponse(watchEvents(40))
      },
    })
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ ...SESSION, lastEventId: 4 }))
    const b = make()
    await b.init()
    await vi.waitFor(() => expect(server.callsTo('/watch')).toHaveLength(2))
    expect(server.callsTo('/watch')[1].body.last_event_id).toBe(6)
    await vi.waitFor(() => expect(store.phase).toBe('refinement'))
    expect(store.messages.some((m) => m.role === 'error')).toBe(false)
  })

  it('save: sends the canvas with an idempotency key, goes to the edit page; a retry reuses the key', async () => {
    let n = 0
    const server = installFakeServer({
      'POST /api/agent/copilot/session': sessionRoute(),
      'POST /agent/save-playbook': () =>
        n++ === 0
          ? jsonResponse(503, { error: { code: 'RUNTIME_UNAVAILABLE', message: 'db down' } })
          : jsonResponse(200, { playbook_id: 'aB3x', playbook_id_decoded: 12 }),
    })
    const b = make()
    await b.init()
    store.applyToolCall('set_playbook_outline', OUTLINE)
    await b.save()
    expect(store.save.status).toBe('error')
    expect(store.save.error.title).toBe('The assistant could not be reached')
    expect(navigate).not.toHaveBeenCalled()
    await b.save()
    const [first, second] = server.callsTo('/agent/save-playbook')
    expect(first.body.idempotency_key).toBeTruthy()
    expect(second.body.idempotency_key).toBe(first.body.idempotency_key)
    expect(second.body.session_id).toBe(SESSION.session_id)
    expect(second.body.playbook.title).toBe('Client onboarding')
    expect(second.body.playbook.modules).toHaveLength(2)
    expect(navigate).toHaveBeenCalledWith('/playbooks/aB3x')
    expect(store.unsaved).toBe(false)
  })

  it('save is refused while building or empty', async () => {
    const server = installFakeServer({ 'POST /api/agent/copilot/session': sessionRoute() })
    const b = make()
    await b.init()
    expect(await b.save()).toBeNull()
    store.applyToolCall('set_playbook_outline', OUTLINE)
    store.applyToolCall('build_modules', {})
    expect(await b.save()).toBeNull()
    expect(server.callsTo('/agent/save-playbook')).toHaveLength(0)
  })

  it('new playbook asks first when there is unsaved work, then resets the session', async () => {
    let sessions = 0
    const server = installFakeServer({
      'POST /api/agent/copilot/session': () => jsonResponse(200, { ...SESSION, token: `tok-${++sessions}` }),
      '/reset': () => sseResponse(frames([ev.runStarted(), ev.runFinished()])),
    })
    const b = make()
    await b.init()
    store.applyToolCall('set_playbook_outline', OUTLINE)
    expect(b.requestNewPlaybook()).toBe(false)
    expect(b.confirmingReset.value).toBe(true)
    await b.newPlaybook()
    expect(b.confirmingReset.value).toBe(false)
    expect(server.callsTo('/reset')[0].body).toEqual({ token: 'tok-1', session_id: SESSION.session_id })
    expect(store.hasCanvas).toBe(false)
    expect(b.session.token).toBe('tok-2')
    // Nothing unsaved: no question asked.
    expect(b.requestNewPlaybook()).toBe(true)
  })

  it('an interrupt shows an approval; answering it resumes with the decision and streams the rest', async () => {
    const expires = new Date(Date.now() + 60_000).toISOString()
    const server = installFakeServer({
      'POST /api/agent/copilot/session': sessionRoute(),
      'POST /api/agent/run': () =>
        sseResponse(
          frames([
            ev.runStarted(),
            ev.runFinished({ type: 'interrupt', interrupts: [{ id: 'int-1', reason: 'build_many_modules', message: 'Build 12 modules?', metadata: { expires_at: expires } }] }),
          ]),
        ),
      '/resume_interrupt': () => sseResponse(buildTurn(3)),
      '/watch': () => sseResponse(watchEvents(40)),
    })
    const b = make()
    await b.init()
    store.applyToolCall('set_playbook_outline', OUTLINE)
    await b.send('Build all')
    expect(store.interrupts[0]).toMatchObject({ id: 'int-1', state: 'pending', expiresAt: expires, message: 'Build 12 modules?' })
    await b.decide('int-1', 'add_context', 'Only the first two')
    expect(server.callsTo('/resume_interrupt')[0].body).toEqual({
      token: SESSION.token,
      session_id: SESSION.session_id,
      interrupt_id: 'int-1',
      decision: 'add_context',
      context: 'Only the first two',
    })
    expect(store.interrupts[0].state).toBe('answered')
    await vi.waitFor(() => expect(store.phase).toBe('refinement'))
  })

  it('an expired approval is not sent, and a server INTERRUPT_EXPIRED marks it expired', async () => {
    let t = Date.now()
    installFakeServer({
      'POST /api/agent/copilot/session': sessionRoute(),
      '/resume_interrupt': () => jsonResponse(409, { error: { code: 'INTERRUPT_EXPIRED', message: 'expired' } }),
    })
    const b = make({ now: () => t })
    await b.init()
    store.addInterrupts([
      { id: 'a', reason: 'r', expiresAt: new Date(t + 1000).toISOString() },
      { id: 'b', reason: 'r', expiresAt: new Date(t + 100000).toISOString() },
    ])
    t += 2000
    b.expireInterrupts()
    expect(store.interrupts[0].state).toBe('expired')
    await b.decide('a', 'approve')
    await b.decide('b', 'approve')
    expect(store.interrupts[1].state).toBe('expired')
  })
})
