import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useBuilder } from '../useBuilder.js'
import { useChangeHighlights, HIGHLIGHT_MS } from './useChangeHighlights.js'
import { usePlaybookBuilderStore } from '../../stores/playbookBuilder.js'
import { useCanvasFocusStore } from '../../stores/canvasFocus.js'
import { nav, resetCsrfCache } from '../../api/agent.js'
import { ev, frames, toolCall } from '../../test/sse.js'
import { installFakeServer, sessionRoute, sseResponse } from '../../test/fakeServer.js'

const mod = (title, description = `About ${title}.`) => ({ title, description, status: 'pending', reason: null, tasks: [] })
const OUTLINE = { title: 'Client onboarding', description: '', modules: [mod('Welcome'), mod('Kickoff'), mod('Documents'), mod('Review')] }
const DETAILED = structuredClone(OUTLINE)
DETAILED.modules[2].description = 'About Documents. It covers: send the checklist; review what arrives.'

function outlineTurn() {
  const args = { title: OUTLINE.title, modules: OUTLINE.modules.map(({ title, description }) => ({ title, description })) }
  return frames([
    ev.runStarted(),
    ...toolCall('t1', 'set_playbook_outline', args),
    ev.textStart('m1'),
    ev.text('m1', "Here's an outline."),
    ev.textEnd('m1'),
    ev.snapshot({ phase: 'outline', canvas: OUTLINE, version: 1 }),
    ev.runFinished({ type: 'success' }),
  ])
}

function detailTurn() {
  return frames(
    [
      ev.runStarted(),
      ...toolCall('t2', 'update_module', { module_index: 2, description: DETAILED.modules[2].description }),
      ev.textStart('m2'),
      ev.text('m2', 'Made **Documents** more detailed.'),
      ev.textEnd('m2'),
      ev.snapshot({ phase: 'outline', canvas: DETAILED, version: 2 }),
      ev.runFinished({ type: 'success' }),
    ],
    20,
  )
}

describe('useChangeHighlights', () => {
  let store
  let focus
  let timers
  beforeEach(() => {
    setActivePinia(createPinia())
    store = usePlaybookBuilderStore()
    focus = useCanvasFocusStore()
    resetCsrfCache()
    sessionStorage.clear()
    vi.spyOn(nav, 'assign').mockImplementation(() => {})
    timers = []
  })
  afterEach(() => vi.unstubAllGlobals())

  function install() {
    return useChangeHighlights({
      store,
      focus,
      setTimer: (fn, ms) => timers.push({ fn, ms }),
      clearTimer: () => {},
    })
  }

  it('sends the selection, highlights only what the turn changed, and lists it under the reply', async () => {
    let turn = 0
    const server = installFakeServer({
      'POST /api/agent/copilot/session': sessionRoute(),
      'POST /api/agent/run': () => sseResponse(turn++ === 0 ? outlineTurn() : detailTurn()),
    })
    install()
    const b = useBuilder({ store, focus, sleep: () => Promise.resolve() })
    await b.init()
    await b.send('Onboard new clients')
    await vi.waitFor(() => expect(store.busy).toBe(false))
    expect(server.callsTo('/api/agent/run')[0].body.ui_context.selected).toBeUndefined()
    expect(focus.changedModules).toEqual([]) // a first outline: everything is new, nothing is pointed at

    focus.toggle(2)
    await b.send('make this more detailed')
    await vi.waitFor(() => expect(store.busy).toBe(false))
    expect(server.callsTo('/api/agent/run')[1].body.ui_context).toMatchObject({ selected: { module_index: 2 } })
    expect(server.callsTo('/api/agent/run')[1].body.ui_context.selected).toEqual({ module_index: 2 })

    expect(focus.changedModules).toEqual([2])
    expect(focus.changedTasks).toEqual([])
    const reply = store.messages.find((m) => m.id === 'm2')
    expect(reply.changes).toEqual([{ kind: 'changed', label: 'Updated module 3 — Documents: new description' }])
    expect(store.messages.find((m) => m.id === 'm1').changes).toBeUndefined() // a first outline: its reply lists it
    expect(focus.selection).toEqual({ module_index: 2, task_index: null }) // still there: nothing moved

    const last = timers.at(-1)
    expect(last.ms).toBe(HIGHLIGHT_MS)
    last.fn()
    expect(focus.changedModules).toEqual([])
  })

  it('the selection follows a move, clears when its module goes, and a forced snapshot highlights nothing', () => {
    install()
    store.applySnapshot({ phase: 'outline', canvas: OUTLINE, version: 1 }, { eventId: 1 })
    focus.toggle(1) // Kickoff
    store.applyToolCall('move_module', { from_index: 3, to_index: 0 })
    expect(focus.selection).toEqual({ module_index: 2, task_index: null })
    store.applyToolCall('update_module', { module_index: 2, title: 'Kickoff call' })
    expect(focus.selection).toEqual({ module_index: 2, task_index: null })
    store.applyToolCall('remove_module', { module_index: 2 })
    expect(focus.selection).toBeNull()

    focus.clearHighlights()
    const before = focus.flashes
    store.applySnapshot({ phase: 'outline', canvas: DETAILED, version: 9 }, { eventId: 9, force: true })
    expect(focus.flashes).toBe(before)
    expect(focus.changedModules).toEqual([])
  })

  it('a reset clears the selection', () => {
    install()
    store.applySnapshot({ phase: 'outline', canvas: OUTLINE, version: 1 }, { eventId: 1 })
    focus.toggle(0)
    store.resetAll()
    expect(focus.selection).toBeNull()
  })

  it('after a reload put the canvas back, a selection follows and the first turn is highlighted', async () => {
    install() // as the page does: in setup, before init() puts the saved canvas back
    store.restore({ canvas: OUTLINE, phase: 'outline', version: 1 })
    const server = installFakeServer({
      'POST /api/agent/copilot/session': sessionRoute(),
      'POST /api/agent/run': () => sseResponse(detailTurn()),
    })
    const b = useBuilder({ store, focus, sleep: () => Promise.resolve() })
    await b.init()
    focus.toggle(2)
    await b.send('make this more detailed')
    await vi.waitFor(() => expect(store.busy).toBe(false))
    expect(server.callsTo('/api/agent/run')[0].body.ui_context.selected).toEqual({ module_index: 2 })
    expect(focus.selection).toEqual({ module_index: 2, task_index: null })
    expect(focus.changedModules).toEqual([2])
    expect(store.messages.find((m) => m.id === 'm2').changes).toHaveLength(1)
  })
})
