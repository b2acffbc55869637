import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ModuleCard from './ModuleCard.vue'

const module = {
  title: 'Kickoff',
  description: 'Meet the client',
  status: 'built',
  reason: null,
  tasks: [
    { title: 'Book the call', description: '', steps: [{ title: 'Pick a date', description: 'within 5 days' }, { title: 'Send invite', description: '' }] },
    { title: 'Prepare agenda', description: 'Goals and owners', steps: [] },
  ],
}

describe('ModuleCard', () => {
  it('shows the module, its tasks and steps, and a summary', () => {
    const w = mount(ModuleCard, { props: { module, index: 0 } })
    expect(w.get('h3').text()).toContain('Kickoff')
    expect(w.get('.badge').text()).toBe('Built')
    expect(w.findAll('[data-testid="task"]')).toHaveLength(2)
    expect(w.findAll('[data-testid="step"]').map((s) => s.text())).toEqual(['Pick a date — within 5 days', 'Send invite'])
    expect(w.text()).toContain('2 tasks · 2 steps')
  })

  it('collapses and expands with an accessible toggle', async () => {
    const w = mount(ModuleCard, { props: { module, index: 2 } })
    const toggle = w.get('button[aria-controls="module-body-2"]')
    expect(toggle.attributes('aria-expanded')).toBe('true')
    expect(toggle.attributes('aria-controls')).toBe('module-body-2')
    await toggle.trigger('click')
    expect(toggle.attributes('aria-expanded')).toBe('false')
    expect(w.get('#module-body-2').attributes('style')).toContain('display: none')
  })

  it('shows a skeleton while building with no tasks, and the reason when failed', () => {
    const building = mount(ModuleCard, { props: { module: { ...module, status: 'building', tasks: [] }, index: 0 } })
    expect(building.find('.skeleton').exists()).toBe(true)
    const failed = mount(ModuleCard, { props: { module: { ...module, status: 'failed', reason: 'Timed out', tasks: [] }, index: 0 } })
    expect(failed.get('[role="note"]').text()).toContain('Timed out')
    expect(failed.get('.badge').text()).toBe('Failed')
  })

  it('shows a module built with self-check warnings as such, with the findings', () => {
    const reason = 'Self-check warnings: the module has 1 task(s); it needs at least 2'
    const w = mount(ModuleCard, { props: { module: { ...module, status: 'built_with_warnings', reason }, index: 0 } })
    expect(w.get('.badge').text()).toBe('Built · warnings')
    expect(w.get('[data-testid="module-warnings"]').text()).toContain('it needs at least 2')
    expect(w.classes()).toContain('is-built_with_warnings')
    expect(w.findAll('[data-testid="task"]')).toHaveLength(2)
  })

  it('notes what the self-check repaired on a built module', () => {
    const reason = 'Self-check repaired 1 finding(s) in 1 round: task 2 duplicates the title of task 1'
    const w = mount(ModuleCard, { props: { module: { ...module, reason }, index: 0 } })
    expect(w.get('.badge').text()).toBe('Built')
    expect(w.get('[data-testid="module-repaired"]').text()).toBe(reason)
    expect(w.find('[data-testid="module-warnings"]').exists()).toBe(false)
  })
})

describe('ModuleCard selection', () => {
  it('selects with its number (a toggle button) or a click on the card, never from its own controls', async () => {
    const w = mount(ModuleCard, { props: { module, index: 2, selected: true } })
    const toggle = w.get('[data-testid="select-module"]')
    expect(toggle.element.tagName).toBe('BUTTON')
    expect(toggle.attributes('aria-pressed')).toBe('true')
    expect(toggle.attributes('aria-label')).toBe('Select module 3: Kickoff')
    await toggle.trigger('click')
    await w.get('.module-desc').trigger('click')
    await w.get('button[aria-controls="module-body-2"]').trigger('click') // collapse: not a selection
    await w.findAll('[data-testid="task"]')[1].get('.task-desc').trigger('click')
    await w.findAll('[data-testid="select-task"]')[0].trigger('click')
    expect(w.emitted('select')).toEqual([[null], [null], [1], [0]])
  })

  it('shows which task is selected and what just changed', () => {
    const w = mount(ModuleCard, { props: { module, index: 0, selectedTask: 1, changed: true, changedTasks: [0] } })
    const tasks = w.findAll('[data-testid="task"]')
    expect(tasks.map((t) => t.get('[data-testid="select-task"]').attributes('aria-pressed'))).toEqual(['false', 'true'])
    expect(tasks[1].get('[data-testid="select-task"]').attributes('aria-label')).toBe('Select task 2 of module 1: Prepare agenda')
    expect(tasks[0].classes()).toContain('is-changed')
    expect(w.get('li.module').attributes('data-changed')).toBe('true')
    expect(tasks[0].get('.task-title').text()).toBe('Book the call') // the number is drawn by CSS
  })
})
