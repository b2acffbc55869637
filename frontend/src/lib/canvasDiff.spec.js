import { describe, expect, it } from 'vitest'
import { diffCanvas, followSelection } from './canvasDiff.js'

const step = (title) => ({ title, description: '' })
const task = (title, steps = []) => ({ title, description: '', steps: steps.map(step) })
const mod = (title, tasks = [], extra = {}) => ({ title, description: `About ${title}.`, status: 'pending', reason: null, tasks, ...extra })
const canvas = (modules, title = 'Client Onboarding') => ({ title, description: '', modules })

const BASE = canvas([mod('Welcome'), mod('Kickoff'), mod('Documents'), mod('Review')])
const labels = (d) => d.changes.map((c) => c.label)

describe('diffCanvas', () => {
  it('finds nothing between equal canvases, and ignores build statuses', () => {
    expect(diffCanvas(BASE, structuredClone(BASE)).changes).toEqual([])
    const building = structuredClone(BASE)
    building.modules[1].status = 'building'
    expect(diffCanvas(BASE, building)).toMatchObject({ changes: [], modules: [], tasks: [] })
  })

  it('names an added module at its new position, and highlights only it', () => {
    const after = canvas([...BASE.modules.slice(0, 2), mod('Security'), ...BASE.modules.slice(2)])
    const d = diffCanvas(BASE, after)
    expect(labels(d)).toEqual(['Added module 3 — Security'])
    expect(d.modules).toEqual([2])
    expect([...d.moduleMap]).toEqual([[0, 0], [1, 1], [2, 3], [3, 4]])
  })

  it('names a removed module by its old position', () => {
    const after = canvas([BASE.modules[0], BASE.modules[2], BASE.modules[3]])
    const d = diffCanvas(BASE, after)
    expect(labels(d)).toEqual(['Removed module 2 — Kickoff'])
    expect(d.modules).toEqual([])
    expect(d.moduleMap.has(1)).toBe(false)
  })

  it('tells a rename from a replacement (same description, or same place)', () => {
    const after = structuredClone(BASE)
    after.modules[1].title = 'Kickoff Call'
    const d = diffCanvas(BASE, after)
    expect(labels(d)).toEqual(['Renamed module 2 — Kickoff → Kickoff Call'])
    expect(d.modules).toEqual([1])
    expect(d.moduleMap.get(1)).toBe(1)
  })

  it('reports a description change as an update of that module only', () => {
    const after = structuredClone(BASE)
    after.modules[2].description += ' It covers: the checklist.'
    const d = diffCanvas(BASE, after)
    expect(labels(d)).toEqual(['Updated module 3 — Documents: new description'])
    expect(d.modules).toEqual([2])
  })

  it('finds the one module that moved, not every module it passed', () => {
    const after = canvas([BASE.modules[3], BASE.modules[0], BASE.modules[1], BASE.modules[2]])
    const d = diffCanvas(BASE, after)
    expect(labels(d)).toEqual(['Moved module — Review (now 1)'])
    expect(d.modules).toEqual([0])
  })

  it('lists task changes one by one, and highlights those tasks (not their whole module)', () => {
    const before = canvas([mod('Kickoff', [task('Schedule', ['Invite']), task('Run', ['Agenda']), task('Follow up')])])
    const after = canvas([mod('Kickoff', [task('Schedule', ['Invite', 'Book a room']), task('Follow up'), task('Record the call')])])
    const d = diffCanvas(before, after)
    expect(labels(d)).toEqual([
      'Updated task 1 of module 1 — Schedule (1 step added)',
      'Added task 3 of module 1 — Record the call',
      'Removed task 2 of module 1 — Run',
    ])
    expect(d.modules).toEqual([])
    expect(d.tasks).toEqual([[0, 0], [0, 2]])
    expect([...d.taskMaps.get(0)]).toEqual([[0, 0], [2, 1]])
  })

  it('tells a built module in one line, and many task changes in one line', () => {
    const built = canvas([mod('Kickoff', [task('A', ['1', '2']), task('B', ['3'])]), mod('Review')])
    const fromOutline = diffCanvas(canvas([mod('Kickoff'), mod('Review')]), built)
    expect(labels(fromOutline)).toEqual(['Built module 1 — Kickoff: 2 tasks, 3 steps'])
    expect(fromOutline).toMatchObject({ modules: [0], tasks: [] })

    const many = structuredClone(built)
    many.modules[0].tasks.push(task('C'), task('D'), task('E'), task('F'))
    expect(labels(diffCanvas(built, many))).toEqual(['Updated module 1 — Kickoff: 4 tasks added'])
  })

  it('names the playbook when it gets a title, and says when it is renamed', () => {
    expect(labels(diffCanvas(canvas([], ''), canvas([mod('Kickoff')])))).toEqual([
      'Named the playbook — Client Onboarding',
      'Added module 1 — Kickoff',
    ])
    expect(labels(diffCanvas(BASE, { ...BASE, title: 'Onboarding' }))).toEqual([
      'Renamed the playbook — Client Onboarding → Onboarding',
    ])
  })

  it('takes anything for a canvas (null, missing lists)', () => {
    expect(diffCanvas(null, undefined).changes).toEqual([])
    expect(labels(diffCanvas({}, { modules: [{ title: 'X' }] }))).toEqual(['Added module 1 — X'])
  })
})

describe('followSelection', () => {
  it('follows a module that moved or was renamed, and a task that moved', () => {
    const moved = canvas([BASE.modules[3], BASE.modules[0], BASE.modules[1], BASE.modules[2]])
    expect(followSelection({ module_index: 1, task_index: null }, diffCanvas(BASE, moved))).toEqual({ module_index: 2, task_index: null })

    const before = canvas([mod('Kickoff', [task('A'), task('B'), task('C')])])
    const after = canvas([mod('Kickoff call', [task('A'), task('C')])])
    expect(followSelection({ module_index: 0, task_index: 2 }, diffCanvas(before, after))).toEqual({ module_index: 0, task_index: 1 })
  })

  it('clears when the module or task it named is gone', () => {
    const without = canvas([BASE.modules[0], BASE.modules[2], BASE.modules[3]])
    expect(followSelection({ module_index: 1, task_index: null }, diffCanvas(BASE, without))).toBeNull()
    const before = canvas([mod('Kickoff', [task('A'), task('B')])])
    const after = canvas([mod('Kickoff', [task('A')])])
    expect(followSelection({ module_index: 0, task_index: 1 }, diffCanvas(before, after))).toBeNull()
    expect(followSelection(null, diffCanvas(before, after))).toBeNull()
  })
})
