// Direct edits, undo and redo from the page's side: what is sent (action, base_version, ops) and what
// the page does with the answer — adopt the snapshot, say what happened, refuse while building.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useBuilder } from '../useBuilder.js'
import { usePlaybookBuilderStore } from '../../stores/playbookBuilder.js'
import { nav, resetCsrfCache } from '../../api/agent.js'
import { ev, frames } from '../../test/sse.js'
import { installFakeServer, jsonResponse, SESSION, sessionRoute, sseResponse } from '../../test/fakeServer.js'
import { cleanTitle, inTextField } from './useCanvasEdits.js'

const mod = (title, tasks = []) => ({ title, description: '', status: 'pending', reason: null, tasks })
const canvasOf = (...titles) => ({ title: 'Onboarding', description: '', modules: titles.map((t) => mod(t)) })
const snap = (canvas, version, history = { can_undo: true, can_redo: false }) =>
  ev.snapshot({ phase: 'outline', canvas, version, history })

function answer(canvas, version, history) {
  return sseResponse(frames([ev.runStarted(), snap(canvas, version, history), ev.runFinished({ type: 'success' })], 50))
}

function refusal(canvas, version, code, message = 'no') {
  return sseResponse(
    frames([ev.runStarted(), snap(canvas, version), { type: 'RUN_ERROR', code, message }], 60),
  )
}

describe('useCanvasEdits', () => {
  let store
  beforeEach(() => {
    setActivePinia(createPinia())
    store = usePlaybookBuilderStore()
    resetCsrfCache()
    sessionStorage.clear()
    vi.spyOn(nav, 'assign').mockImplementation(() => {})
  })
  afterEach(() => vi.unstubAllGlobals())

  async function ready(routes) {
    const server = installFakeServer({ 'POST /api/agent/copilot/session': sessionRoute(), ...routes })
    const builder = useBuilder({ store, navigate: vi.fn(), sleep: () => Promise.resolve() })
    await builder.init()
    store.applySnapshot({ phase: 'outline', canvas: canvasOf('Kickoff', 'Documents'), version: 4, history: { can_undo: true, can_redo: false } })
    return { server, edits: builder.edits }
  }

  it('a rename sends one edit on the current version and adopts the new canvas', async () => {
    const { server, edits } = await ready({ '/edit': () => answer(canvasOf('Welcome call', 'Documents'), 5) })
    expect(edits.canUndo.value).toBe(true)
    expect(edits.canRedo.value).toBe(false)
    expect(await edits.renameModule(0, '  Welcome   call ')).toBe(true)
    const [call] = server.callsTo('/edit')
    expect(call.url).toBe(`/api/agent/run/${SESSION.session_id}/edit`)
    expect(call.body).toEqual({
      token: SESSION.token,
      session_id: SESSION.session_id,
      base_version: 4,
      ops: [{ tool: 'update_module', args: { module_index: 0, title: 'Welcome call' } }],
    })
    expect(store.canvas.modules[0].title).toBe('Welcome call')
    expect(store.version).toBe(5)
    expect(edits.notice.value).toEqual({ kind: 'ok', text: 'Renamed module 1.' })
    // nothing to send for an unchanged or empty title
    expect(await edits.renameModule(0, 'Welcome call')).toBe(false)
    expect(await edits.renameModule(0, '   ')).toBe(false)
    expect(server.callsTo('/edit')).toHaveLength(1)
  })

  it('a stale version: the page adopts the current canvas and says so', async () => {
    const current = canvasOf('Changed elsewhere', 'Documents')
    const { edits } = await ready({ '/edit': () => refusal(current, 9, 'VERSION_CONFLICT') })
    expect(await edits.moveModule(1, 0)).toBe(false)
    expect(store.canvas.modules.map((m) => m.title)).toEqual(['Changed elsewhere', 'Documents'])
    expect(store.version).toBe(9)
    expect(edits.notice.value.kind).toBe('error')
    expect(edits.notice.value.text).toMatch(/changed meanwhile.*current version/)
  })

  it('undo and redo follow the history flags and say what happened', async () => {
    const { server, edits } = await ready({
      '/undo': () => answer(canvasOf('Kickoff'), 5, { can_undo: false, can_redo: true }),
      '/redo': () => refusal(canvasOf('Kickoff'), 5, 'NOTHING_TO_REDO'),
    })
    await edits.undo()
    expect(server.callsTo('/undo')[0].body).toEqual({ token: SESSION.token, session_id: SESSION.session_id })
    expect(store.canvas.modules).toHaveLength(1)
    expect([edits.canUndo.value, edits.canRedo.value]).toEqual([false, true])
    expect(edits.notice.value.text).toBe('Undone.')
    await edits.redo()
    expect(edits.notice.value.text).toBe('There is nothing to redo.')
  })

  it('nothing is sent while a build runs or the assistant works; the page says why', async () => {
    const { server, edits } = await ready({})
    store.phase = 'building'
    expect(edits.canEdit.value).toBe(false)
    expect(await edits.undo()).toBe(false)
    expect(edits.notice.value.text).toMatch(/Wait for the build to finish/)
    store.phase = 'outline'
    store.chatRunning = true
    expect(edits.canUndo.value).toBe(false)
    expect(await edits.addTask(0, 'Call')).toBe(false)
    expect(server.callsTo('/undo').concat(server.callsTo('/edit'))).toEqual([])
  })

  it('a delete asks first; the web app busy answer (409) becomes a clear message', async () => {
    const { server, edits } = await ready({
      '/edit': () => jsonResponse(409, { error: { code: 'SESSION_BUSY', message: 'a turn is already running' } }),
    })
    edits.deleteModule(1)
    expect(edits.confirming.value.title).toBe('Delete module 2?')
    expect(server.callsTo('/edit')).toHaveLength(0)
    await edits.answer(false)
    expect(server.callsTo('/edit')).toHaveLength(0)
    edits.deleteTask(0, 0) // no such task: nothing to ask
    expect(edits.confirming.value).toBe(null)
    edits.deleteModule(1)
    await edits.answer(true)
    expect(server.callsTo('/edit')[0].body.ops).toEqual([{ tool: 'remove_module', args: { module_index: 1 } }])
    expect(edits.notice.value.text).toBe('The assistant is working. Try again when it has finished.')
    expect(store.canvas.modules).toHaveLength(2)
  })

  it('tasks: add, rename and delete name the module and task by zero-based index', async () => {
    const withTask = canvasOf('Kickoff', 'Documents')
    withTask.modules[1].tasks.push({ title: 'Request ID', description: '', steps: [] })
    const { server, edits } = await ready({ '/edit': () => answer(withTask, 5) })
    store.applySnapshot({ phase: 'outline', canvas: withTask, version: 4 }, { force: true })
    await edits.addTask(1, 'Send welcome pack')
    await edits.renameTask(1, 0, 'Request photo ID')
    edits.deleteTask(1, 0)
    await edits.answer(true)
    expect(server.callsTo('/edit').map((c) => c.body.ops[0])).toEqual([
      { tool: 'add_tasks', args: { module_index: 1, tasks: [{ title: 'Send welcome pack' }] } },
      { tool: 'update_task', args: { module_index: 1, task_index: 0, title: 'Request photo ID' } },
      { tool: 'remove_task', args: { module_index: 1, task_index: 0 } },
    ])
  })
})

describe('helpers', () => {
  it('cleanTitle trims, collapses spaces and caps the length', () => {
    expect(cleanTitle('  a   b ')).toBe('a b')
    expect(cleanTitle('x'.repeat(300))).toHaveLength(200)
  })

  it('inTextField: text inputs, text areas and editable content keep their own undo', () => {
    const input = document.createElement('input')
    const checkbox = document.createElement('input')
    checkbox.type = 'checkbox'
    const area = document.createElement('textarea')
    const button = document.createElement('button')
    expect([input, area].map(inTextField)).toEqual([true, true])
    expect([checkbox, button, null].map(inTextField)).toEqual([false, false, false])
  })
})
