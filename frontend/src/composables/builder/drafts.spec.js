import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useBuilder } from '../useBuilder.js'
import { usePlaybookBuilderStore } from '../../stores/playbookBuilder.js'
import { nav, resetCsrfCache } from '../../api/agent.js'
import { SESSION_KEY, TRANSCRIPT_KEY } from '../../lib/storage.js'
import { ev, frames, toolCall } from '../../test/sse.js'
import { installFakeServer, jsonResponse, openStream, SESSION, sessionRoute, sseResponse } from '../../test/fakeServer.js'

const OTHER = { session_id: '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', token: 'other.token', agent_url: '/api/agent' }
const BUILDING = {
  title: 'Vendor onboarding',
  description: '',
  modules: [
    { title: 'Kickoff', description: '', status: 'built', reason: null, tasks: [{ title: 'Book call', description: '', steps: [] }] },
    { title: 'Contracts', description: '', status: 'building', reason: null, tasks: [] },
  ],
}
const TRANSCRIPT = [
  { id: 'msg-0', role: 'user', content: 'Onboard vendors' },
  { id: 'msg-1', role: 'assistant', content: "Here's an outline." },
  { id: 'msg-3', role: 'user', content: 'build it' },
]

/** A joining watch of a session whose build still runs: transcript, canvas, the running builder, then its work. */
function joiningWatch() {
  return frames([
    ev.runStarted(),
    { type: 'MESSAGES_SNAPSHOT', messages: TRANSCRIPT },
    ev.snapshot({ phase: 'building', canvas: BUILDING, version: 5 }),
    ev.subStarted('s1', 1),
    { ...toolCall('b1', 'add_tasks', { module_index: 1, tasks: [{ title: 'Collect the NDA' }] })[0], subagentRunId: 's1' },
    ev.toolArgs('b1', JSON.stringify({ module_index: 1, tasks: [{ title: 'Collect the NDA' }] })),
    ev.toolEnd('b1'),
    ev.subFinished('s1'),
    ev.snapshot({
      phase: 'refinement',
      canvas: { ...BUILDING, modules: [BUILDING.modules[0], { ...BUILDING.modules[1], status: 'built', tasks: [{ title: 'Collect the NDA', description: '', steps: [] }] }] },
      version: 7,
    }),
    ev.custom('portal.done', { phase: 'refinement', version: 7 }),
    ev.runFinished({ type: 'success' }),
  ], 40)
}

describe('opening a draft or a saved playbook in this tab', () => {
  let store
  beforeEach(() => {
    setActivePinia(createPinia())
    store = usePlaybookBuilderStore()
    resetCsrfCache()
    sessionStorage.clear()
    vi.spyOn(nav, 'assign').mockImplementation(() => {})
  })
  afterEach(() => vi.unstubAllGlobals())

  const make = () => useBuilder({ store, navigate: vi.fn(), sleep: () => Promise.resolve() })

  it('re-mints the draft, forgets this tab’s session and joins: transcript, canvas, phase and the running build', async () => {
    const server = installFakeServer({
      'POST /api/agent/copilot/session': (_init, body) => jsonResponse(body?.session_id ? 200 : 201, body?.session_id ? OTHER : SESSION),
      [`POST /api/agent/run/${OTHER.session_id}/watch`]: () => sseResponse(joiningWatch()),
    })
    const b = make()
    await b.init()
    store.addUserMessage('something else entirely')
    expect(await b.openDraft(OTHER.session_id)).toBe(true)

    const mint = server.callsTo('/session').at(-1)
    expect(mint.body).toEqual({ session_id: OTHER.session_id })
    const watch = server.callsTo('/watch')[0]
    expect(watch.body).toEqual({ token: OTHER.token, session_id: OTHER.session_id }) // joining: no last_event_id
    expect(watch.headers['Last-Event-ID']).toBeUndefined()
    expect(store.messages.map((m) => [m.id, m.role, m.text])).toEqual(TRANSCRIPT.map((m) => [m.id, m.role, m.content]))
    expect(store.phase).toBe('refinement')
    expect(store.canvas.modules[1].tasks.map((t) => t.title)).toEqual(['Collect the NDA'])
    expect(b.session.session_id).toBe(OTHER.session_id)
    expect(JSON.parse(sessionStorage.getItem(SESSION_KEY))).toMatchObject(OTHER)
    expect(JSON.parse(sessionStorage.getItem(TRANSCRIPT_KEY)).messages[0].text).toBe('Onboard vendors')
  })

  it('keeps the page as it was and says why when the draft cannot be opened', async () => {
    installFakeServer({
      'POST /api/agent/copilot/session': (_init, body) =>
        body?.session_id
          ? jsonResponse(403, { error: { code: 'SESSION_MISMATCH', message: 'this draft is not yours' } })
          : jsonResponse(201, SESSION),
    })
    const b = make()
    await b.init()
    store.addUserMessage('keep me')
    expect(await b.openDraft(OTHER.session_id)).toBe(false)
    expect(b.session.session_id).toBe(SESSION.session_id)
    expect(store.messages.map((m) => m.text)).toEqual(['keep me'])
    expect(store.banner).toMatchObject({ code: 'SESSION_MISMATCH', status: 403 })
  })

  it('opens /builder?playbook=<id> on that playbook and takes the id off the address', async () => {
    window.history.replaceState(null, '', '/builder?playbook=Xy3k')
    const watch = openStream()
    const server = installFakeServer({
      'POST /api/agent/copilot/session': () => jsonResponse(201, { ...OTHER, playbook_id: 'Xy3k', version: 2 }),
      '/watch': (init) => {
        watch.bindAbort(init.signal)
        return watch.response
      },
    })
    const b = make()
    const started = b.init()
    await vi.waitFor(() => expect(server.callsTo('/watch')).toHaveLength(1))
    expect(server.callsTo('/session')[0].body).toEqual({ playbook_id: 'Xy3k' })
    expect(window.location.search).toBe('')
    watch.send(
      frames([
        ev.runStarted(),
        { type: 'MESSAGES_SNAPSHOT', messages: [] },
        ev.snapshot({ phase: 'refinement', canvas: { ...BUILDING, modules: [BUILDING.modules[0]] }, version: 1 }),
        ev.custom('portal.done', { phase: 'refinement', version: 1 }),
        ev.runFinished({ type: 'success' }),
      ]),
    )
    watch.close()
    await started
    expect(store.canvas.modules.map((m) => m.title)).toEqual(['Kickoff'])
    expect(store.save.playbookId).toBe('Xy3k')
    expect(store.unsaved).toBe(false) // the canvas is the saved playbook as it is
    // Nothing was said in the new session yet: the chat says what was opened.
    expect(store.messages.map((m) => [m.role, m.text])).toEqual([
      ['notice', 'Opened “Vendor onboarding” (version 2). Tell me what to change; saving adds a new version.'],
    ])
  })

  it('an empty transcript leaves the conversation; a non-empty one replaces it but keeps approval cards', () => {
    store.addUserMessage('local')
    store.replaceTranscript([])
    expect(store.messages.map((m) => m.text)).toEqual(['local'])
    store.messages.push({ id: 'approval-1', role: 'approval', interruptId: 'int_1' })
    store.replaceTranscript([...TRANSCRIPT, { id: 'x', role: 'tool', content: 'no' }, { id: 'y', role: 'assistant' }])
    expect(store.messages.map((m) => m.id)).toEqual(['msg-0', 'msg-1', 'msg-3', 'approval-1'])
  })
})
