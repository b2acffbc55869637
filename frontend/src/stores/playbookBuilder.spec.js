import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { normalizeCanvas, usePlaybookBuilderStore } from './playbookBuilder.js'
import { TOOL_NAMES } from '../generated/contract.js'

const OUTLINE = {
  title: 'Client onboarding',
  description: 'From signed contract to a happy client',
  modules: [
    { title: 'Kickoff', description: 'Meet the team' },
    { title: 'Documents' },
    { title: '30-day review' },
  ],
}

function outlined() {
  const s = usePlaybookBuilderStore()
  s.applyToolCall('set_playbook_outline', OUTLINE, { toolCallId: 'o' })
  return s
}

const titles = (s) => s.canvas.modules.map((m) => m.title)

describe('playbookBuilder store: applyToolCall', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    vi.spyOn(console, 'warn').mockImplementation(() => {})
  })

  it('has a handler for every tool the contract names (generated from contract.py)', () => {
    const s = usePlaybookBuilderStore()
    expect(TOOL_NAMES.length).toBeGreaterThan(0)
    for (const tool of TOOL_NAMES) s.applyToolCall(tool, {})
    expect(console.warn).not.toHaveBeenCalled()
    s.applyToolCall('no_such_tool', {})
    expect(console.warn).toHaveBeenCalledWith('[playbookBuilder] unknown tool no_such_tool')
  })

  it('set_playbook_outline replaces the canvas; modules start pending with no tasks', () => {
    const s = outlined()
    expect(s.canvas).toEqual({
      title: 'Client onboarding',
      description: 'From signed contract to a happy client',
      modules: [
        { title: 'Kickoff', description: 'Meet the team', status: 'pending', reason: null, tasks: [] },
        { title: 'Documents', description: '', status: 'pending', reason: null, tasks: [] },
        { title: '30-day review', description: '', status: 'pending', reason: null, tasks: [] },
      ],
    })
    expect(s.phase).toBe('outline')
    expect(s.hasCanvas).toBe(true)
    s.applyToolCall('set_playbook_outline', { title: 'Other', modules: [{ title: 'Only' }] })
    expect(titles(s)).toEqual(['Only'])
  })

  it('update_playbook changes the title and/or description', () => {
    const s = outlined()
    expect(s.applyToolCall('update_playbook', { title: 'New title' })).toBe(true)
    expect(s.canvas.title).toBe('New title')
    expect(s.canvas.description).toBe('From signed contract to a happy client')
    s.applyToolCall('update_playbook', { description: 'Shorter' })
    expect(s.canvas.description).toBe('Shorter')
    expect(s.applyToolCall('update_playbook', {})).toBe(false)
  })

  it('add_module inserts at a zero-based position, or at the end', () => {
    const s = outlined()
    s.applyToolCall('add_module', { title: 'Welcome email', position: 0 })
    s.applyToolCall('add_module', { title: 'Wrap-up' })
    s.applyToolCall('add_module', { title: 'Middle', position: 2 })
    expect(titles(s)).toEqual(['Welcome email', 'Kickoff', 'Middle', 'Documents', '30-day review', 'Wrap-up'])
    expect(s.canvas.modules[0].status).toBe('pending')
  })

  it('update_module renames / re-describes by zero-based index; out of range is ignored', () => {
    const s = outlined()
    s.applyToolCall('update_module', { module_index: 1, title: 'Document collection', description: 'IDs, contracts' })
    expect(s.canvas.modules[1]).toMatchObject({ title: 'Document collection', description: 'IDs, contracts' })
    expect(s.applyToolCall('update_module', { module_index: 9, title: 'x' })).toBe(false)
  })

  it('remove_module removes by index', () => {
    const s = outlined()
    s.applyToolCall('remove_module', { module_index: 0 })
    expect(titles(s)).toEqual(['Documents', '30-day review'])
    expect(s.applyToolCall('remove_module', { module_index: 5 })).toBe(false)
  })

  it('move_module moves from one index to another', () => {
    const s = outlined()
    s.applyToolCall('move_module', { from_index: 2, to_index: 0 })
    expect(titles(s)).toEqual(['30-day review', 'Kickoff', 'Documents'])
    s.applyToolCall('move_module', { from_index: 0, to_index: 2 })
    expect(titles(s)).toEqual(['Kickoff', 'Documents', '30-day review'])
  })

  it('build_modules enters the building phase and queues the modules (all unbuilt by default)', () => {
    const s = outlined()
    s.canvas.modules[0].status = 'built'
    s.applyToolCall('build_modules', {})
    expect(s.phase).toBe('building')
    expect(s.isBuilding).toBe(true)
    expect(s.progress).toEqual({ built: 0, failed: 0, total: 2 })
    s.applyToolCall('build_modules', { module_indices: [0, 2, 2, 7] })
    expect(s.canvas.modules.map((m) => m.status)).toEqual(['pending', 'pending', 'pending'])
    expect(s.progress.total).toBe(2)
  })

  it('add_tasks appends tasks (with steps) to a module and marks it building', () => {
    const s = outlined()
    s.applyToolCall('add_tasks', {
      module_index: 1,
      tasks: [
        { title: 'Request ID', steps: [{ title: 'Send the form' }] },
        { title: 'Collect contract', description: 'Signed PDF' },
      ],
    })
    expect(s.canvas.modules[1].tasks).toEqual([
      { title: 'Request ID', description: '', steps: [{ title: 'Send the form', description: '' }] },
      { title: 'Collect contract', description: 'Signed PDF', steps: [] },
    ])
    expect(s.canvas.modules[1].status).toBe('building')
    expect(s.taskCount).toBe(2)
    expect(s.stepCount).toBe(1)
  })

  it('add_task_step appends one step to a task', () => {
    const s = outlined()
    s.applyToolCall('add_tasks', { module_index: 0, tasks: [{ title: 'Book the call' }] })
    s.applyToolCall('add_task_step', { module_index: 0, task_index: 0, step: { title: 'Pick a date', description: 'Within 5 days' } })
    s.applyToolCall('add_task_step', { module_index: 0, task_index: 0, step: { title: 'Send invite' } })
    expect(s.canvas.modules[0].tasks[0].steps.map((x) => x.title)).toEqual(['Pick a date', 'Send invite'])
  })

  it('suggest_replies sets the chips (at most four)', () => {
    const s = outlined()
    s.applyToolCall('suggest_replies', { replies: ['Build it', 'Add a module', 'Rename', 'More', 'Too many'] })
    expect(s.suggestions).toEqual(['Build it', 'Add a module', 'Rename', 'More'])
    s.addUserMessage('Build it')
    expect(s.suggestions).toEqual([])
  })

  it('ignores an unknown tool and bad arguments without throwing', () => {
    const s = outlined()
    expect(s.applyToolCall('delete_everything', {})).toBe(false)
    expect(s.applyToolCall('add_tasks', { module_index: -1, tasks: [] })).toBe(false)
    expect(s.applyToolCall('add_task_step', { module_index: 'x' })).toBe(false)
    expect(s.applyToolCall('set_playbook_outline', null)).toBe(false)
    expect(titles(s)).toEqual(['Kickoff', 'Documents', '30-day review'])
  })

  it('applies a tool call id once (duplicate protection)', () => {
    const s = outlined()
    const args = { module_index: 0, tasks: [{ title: 'Book the call' }] }
    expect(s.applyToolCall('add_tasks', args, { toolCallId: 'tc-7' })).toBe(true)
    expect(s.applyToolCall('add_tasks', args, { toolCallId: 'tc-7' })).toBe(false)
    expect(s.canvas.modules[0].tasks).toHaveLength(1)
  })

  it('holds a step that arrives before its task and applies it when the task comes (out of order)', () => {
    const s = outlined()
    s.applyToolCall('add_task_step', { module_index: 2, task_index: 0, step: { title: 'Early step' } }, { toolCallId: 'b' })
    expect(s.canvas.modules[2].tasks).toEqual([])
    s.applyToolCall('add_tasks', { module_index: 2, tasks: [{ title: 'Review call' }] }, { toolCallId: 'a' })
    expect(s.canvas.modules[2].tasks[0].steps.map((x) => x.title)).toEqual(['Early step'])
  })

  it('counts a revision for each canvas change (suggestions are not a change)', () => {
    const s = outlined()
    const r = s.revision
    s.applyToolCall('suggest_replies', { replies: ['ok'] })
    expect(s.revision).toBe(r)
    s.applyToolCall('update_playbook', { title: 'x' })
    expect(s.revision).toBe(r + 1)
  })
})

describe('playbookBuilder store: applySnapshot', () => {
  beforeEach(() => setActivePinia(createPinia()))

  const snap = (version, canvas, phase = 'outline') => ({ phase, version, canvas })

  it('takes the snapshot whole: the snapshot wins over local state', () => {
    const s = outlined()
    s.applyToolCall('add_module', { title: 'Local only' })
    const res = s.applySnapshot(snap(3, OUTLINE))
    expect(res).toEqual({ applied: true, differed: true })
    expect(titles(s)).toEqual(['Kickoff', 'Documents', '30-day review'])
    expect(s.version).toBe(3)
    expect(s.lastReconcile).toMatchObject({ version: 3, differed: true })
  })

  it('notes when the snapshot matches (no gap) and leaves the revision alone', () => {
    const s = outlined()
    const r = s.revision
    expect(s.applySnapshot(snap(1, normalizeCanvas(OUTLINE)))).toEqual({ applied: true, differed: false })
    expect(s.revision).toBe(r)
  })

  it('ignores a snapshot older than the one already applied (out of order)', () => {
    const s = outlined()
    s.applySnapshot(snap(5, { title: 'v5', modules: [{ title: 'A' }] }))
    expect(s.applySnapshot(snap(4, { title: 'v4', modules: [] }))).toEqual({ applied: false, stale: true })
    expect(s.canvas.title).toBe('v5')
  })

  it('repairs a gap: a newer version that differs replaces the canvas and phase', () => {
    const s = outlined()
    s.applySnapshot(snap(2, OUTLINE))
    const later = {
      ...OUTLINE,
      modules: OUTLINE.modules.map((m, i) => ({ ...m, status: i === 0 ? 'built' : 'building', tasks: i === 0 ? [{ title: 'T' }] : [] })),
    }
    const res = s.applySnapshot(snap(9, later, 'building'))
    expect(res.differed).toBe(true)
    expect(s.phase).toBe('building')
    expect(s.canvas.modules[0]).toMatchObject({ status: 'built', tasks: [{ title: 'T', description: '', steps: [] }] })
  })

  it('ignores tool calls sequenced before the snapshot (a watch replaying from before it), not those after', () => {
    const s = usePlaybookBuilderStore()
    s.applySnapshot(snap(4, { title: 'P', modules: [{ title: 'A', tasks: [{ title: 'T1' }] }] }, 'building'), { eventId: 50 })
    expect(s.applyToolCall('add_tasks', { module_index: 0, tasks: [{ title: 'T1' }] }, { toolCallId: 'x1', eventId: 48 })).toBe(false)
    expect(s.applyToolCall('add_tasks', { module_index: 0, tasks: [{ title: 'T2' }] }, { toolCallId: 'x2', eventId: 51 })).toBe(true)
    expect(s.canvas.modules[0].tasks.map((t) => t.title)).toEqual(['T1', 'T2'])
  })

  it('orders snapshots by id when both have one: a lower version with a higher id is newer (issue 9 item 4)', () => {
    // The page saw version 12 (id 900), which the runtime never stored: it died before its write.
    // The restarted runtime carries on from the stored version 10 with higher ids; its turn adds
    // module 3 and says so, and the page must show it.
    const s = usePlaybookBuilderStore()
    s.applySnapshot(snap(12, { title: 'P', modules: [{ title: 'A' }, { title: 'B' }] }), { eventId: 900 })
    const after = { title: 'P', modules: [{ title: 'A' }, { title: 'B' }, { title: 'Customer Notification' }] }
    expect(s.applySnapshot(snap(11, after), { eventId: 1_764_600_000_000_001 })).toEqual({ applied: true, differed: true })
    expect(s.canvas.modules.map((m) => m.title)).toEqual(['A', 'B', 'Customer Notification'])
    expect(s.version).toBe(11) // an edit's base version is the runtime's again
    // still ignored: an older snapshot (lower id) arriving late, whatever its version
    expect(s.applySnapshot(snap(13, { title: 'old', modules: [] }), { eventId: 901 })).toEqual({ applied: false, stale: true })
    expect(s.canvas.title).toBe('P')
  })

  it('applies a turn whose ids are above the last snapshot after a restart, tool calls and snapshot alike', () => {
    const s = usePlaybookBuilderStore()
    s.applySnapshot(snap(7, { title: 'P', modules: [{ title: 'A' }] }), { eventId: 400 })
    const next = 1_764_600_000_000_000
    expect(s.applyToolCall('add_module', { title: 'Customer Notification' }, { toolCallId: 't1', eventId: next + 3 })).toBe(true)
    const res = s.applySnapshot(snap(8, { title: 'P', modules: [{ title: 'A' }, { title: 'Customer Notification' }] }), { eventId: next + 40 })
    expect(res).toEqual({ applied: true, differed: false })
    expect(s.canvas.modules).toHaveLength(2)
  })

  it('a turn cut by a restart, then retried: the page ends with exactly what the runtime stored', () => {
    const s = usePlaybookBuilderStore()
    const seven = Array.from({ length: 7 }, (_, i) => ({ title: `M${i + 1}` }))
    s.applySnapshot(snap(20, { title: 'P', modules: seven }), { eventId: 300 })
    // the cut turn: its add_module reached the page, then the runtime died before storing it
    s.applyToolCall('add_module', { title: 'Customer Notification' }, { toolCallId: 'cut', eventId: 305 })
    expect(s.canvas.modules).toHaveLength(8)
    // "Try again" on the restarted runtime: stored version 20, ids from the clock
    const next = 1_764_600_000_000_000
    s.applyToolCall('add_module', { title: 'Customer Notification' }, { toolCallId: 'retry', eventId: next + 4 })
    const stored = { title: 'P', modules: [...seven, { title: 'Customer Notification' }] }
    expect(s.applySnapshot(snap(21, stored), { eventId: next + 30 }).applied).toBe(true)
    expect(s.canvas.modules.map((m) => m.title)).toEqual([...seven.map((m) => m.title), 'Customer Notification'])
  })

  it('a forced snapshot (a watch opening) wins even over a higher version', () => {
    const s = usePlaybookBuilderStore()
    s.applySnapshot(snap(9, { title: 'restored', modules: [{ title: 'A' }] }))
    expect(s.applySnapshot(snap(0, { title: '', modules: [] }, 'empty')).stale).toBe(true)
    expect(s.applySnapshot(snap(0, { title: '', modules: [] }, 'empty'), { force: true }).applied).toBe(true)
    expect(s.hasCanvas).toBe(false)
    expect(s.version).toBe(0)
  })

  it('restores a saved canvas and exports what a reload needs', () => {
    const s = outlined()
    s.save.savedRevision = s.revision
    const state = JSON.parse(JSON.stringify(s.canvasState()))
    setActivePinia(createPinia())
    const t = usePlaybookBuilderStore()
    t.restore(state)
    expect(t.canvas).toEqual(s.canvas)
    expect(t.phase).toBe('outline')
    expect(t.unsaved).toBe(false)
  })

  it('normalizes whatever arrives into the PlaybookSpec shape', () => {
    const s = usePlaybookBuilderStore()
    s.applySnapshot({ phase: 'refinement', version: 1, canvas: { title: 'X', modules: [{ title: 'M', status: 'weird', tasks: [{ title: 'T', steps: [{ title: 'S' }] }] }] } })
    expect(s.canvas.modules[0]).toEqual({
      title: 'M',
      description: '',
      status: 'pending',
      reason: null,
      tasks: [{ title: 'T', description: '', steps: [{ title: 'S', description: '' }] }],
    })
    expect(s.phase).toBe('refinement')
  })
})

describe('playbookBuilder store: build status, progress, save', () => {
  beforeEach(() => setActivePinia(createPinia()))

  it('tracks module status from module.status and subagent events', () => {
    const s = outlined()
    s.applyToolCall('build_modules', {})
    s.applySubagent('started', { subagentRunId: 'a', metadata: { module_index: 0 } })
    expect(s.canvas.modules[0].status).toBe('building')
    s.applySubagent('finished', { subagentRunId: 'a' }) // index remembered from SUBAGENT_STARTED
    expect(s.canvas.modules[0].status).toBe('built')
    s.applySubagent('error', { subagentRunId: 'b', message: 'Model failed', metadata: { module_index: 1 } })
    expect(s.canvas.modules[1]).toMatchObject({ status: 'failed', reason: 'Model failed' })
    s.setModuleStatus(2, 'built')
    expect(s.buildProgress).toEqual({ built: 0, failed: 0, total: 3 })
    s.setProgress({ built: 2, failed: 1, total: 3 })
    expect(s.buildProgress).toEqual({ built: 2, failed: 1, total: 3 })
  })

  it('derives progress from module statuses when the server has sent none', () => {
    const s = outlined()
    s.setModuleStatus(0, 'built')
    s.setModuleStatus(1, 'failed', 'nope')
    expect(s.buildProgress).toEqual({ built: 1, failed: 1, total: 3 })
  })

  it('allows saving only with a canvas, not while building', () => {
    const s = usePlaybookBuilderStore()
    expect(s.canSave).toBe(false)
    s.applyToolCall('set_playbook_outline', OUTLINE)
    expect(s.canSave).toBe(true)
    s.applyToolCall('build_modules', {})
    expect(s.canSave).toBe(false)
  })

  it('keeps one idempotency key per canvas revision', () => {
    const s = outlined()
    const k1 = s.idempotencyKey()
    expect(s.idempotencyKey()).toBe(k1)
    s.applyToolCall('update_playbook', { title: 'changed' })
    const k2 = s.idempotencyKey()
    expect(k2).not.toBe(k1)
    expect(s.idempotencyKey()).toBe(k2)
  })

  it('exports the canvas as a PlaybookSpec for saving', () => {
    const s = outlined()
    s.applyToolCall('update_playbook', { title: '  ' })
    s.applyToolCall('add_tasks', { module_index: 0, tasks: [{ title: 'T', steps: [{ title: 'S' }] }] })
    s.setModuleStatus(1, 'failed', 'boom')
    const spec = s.playbookForSave()
    expect(spec.title).toBe('Untitled playbook')
    expect(spec.modules[0]).toEqual({
      title: 'Kickoff',
      description: 'Meet the team',
      status: 'building',
      tasks: [{ title: 'T', description: '', steps: [{ title: 'S', description: '' }] }],
    })
    expect(spec.modules[1]).toMatchObject({ status: 'failed', reason: 'boom' })
  })

  it('unsaved is true until the current revision is saved', () => {
    const s = outlined()
    expect(s.unsaved).toBe(true)
    s.save.savedRevision = s.revision
    expect(s.unsaved).toBe(false)
    s.applyToolCall('add_module', { title: 'x' })
    expect(s.unsaved).toBe(true)
  })

  it('streams assistant text into one message per message id', () => {
    const s = usePlaybookBuilderStore()
    s.startAssistantMessage('m1')
    s.appendAssistantText('m1', 'Hel')
    s.appendAssistantText('m1', 'lo')
    s.endAssistantMessage('m1')
    s.appendAssistantText(undefined, 'Second')
    expect(s.messages.map((m) => [m.role, m.text, m.streaming])).toEqual([
      ['assistant', 'Hello', false],
      ['assistant', 'Second', true],
    ])
  })

  it('adds interrupts once each', () => {
    const s = usePlaybookBuilderStore()
    s.addInterrupts([{ id: 'i1', reason: 'r', expiresAt: null }])
    s.addInterrupts([{ id: 'i1', reason: 'r' }])
    expect(s.interrupts).toHaveLength(1)
    expect(s.pendingInterrupts).toHaveLength(1)
    // It takes its place in the conversation once.
    expect(s.messages.filter((m) => m.role === 'approval')).toEqual([{ id: 'approval-i1', role: 'approval', interruptId: 'i1', text: '' }])
  })

  it('resetAll empties everything', () => {
    const s = outlined()
    s.addUserMessage('hi')
    s.resetAll()
    expect(s.hasCanvas).toBe(false)
    expect(s.messages).toEqual([])
    expect(s.phase).toBe('empty')
    // Tool call ids seen before the reset may be reused by a new session.
    expect(s.applyToolCall('set_playbook_outline', OUTLINE, { toolCallId: 'o' })).toBe(true)
  })
})
