import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { createTestingPinia } from '@pinia/testing'
import SelectionChip from './SelectionChip.vue'
import CanvasPane from '../CanvasPane.vue'
import { useCanvasFocusStore } from '../../stores/canvasFocus.js'

const mod = (title, tasks = []) => ({ title, description: '', status: 'built', reason: null, tasks })
const task = (title) => ({ title, description: '', steps: [] })
const CANVAS = {
  title: 'Client onboarding',
  description: '',
  modules: [mod('Welcome'), mod('Documents'), mod('Kickoff', [task('Book the call'), task('Run the call')])],
}

let mounted = []
afterEach(() => {
  for (const w of mounted) w.unmount()
  mounted = []
})

function mountBoth() {
  const pinia = createTestingPinia({ createSpy: vi.fn, stubActions: false, initialState: { playbookBuilder: { phase: 'refinement', canvas: CANVAS } } })
  const canvas = mount(CanvasPane, { global: { plugins: [pinia] }, attachTo: document.body })
  const chip = mount(SelectionChip, { global: { plugins: [pinia] }, attachTo: document.body })
  mounted.push(canvas, chip)
  return { canvas, chip, focus: useCanvasFocusStore() }
}

describe('SelectionChip with the canvas', () => {
  it('shows nothing until a module is selected, then "Editing: Module 3 — Kickoff"', async () => {
    const { canvas, chip, focus } = mountBoth()
    expect(chip.find('[data-testid="selection-chip"]').exists()).toBe(false)
    const toggle = canvas.get('[data-testid="module-2"] [data-testid="select-module"]')
    expect(toggle.attributes('aria-pressed')).toBe('false')
    expect(toggle.attributes('aria-label')).toBe('Select module 3: Kickoff')
    await toggle.trigger('click')
    expect(focus.selection).toEqual({ module_index: 2, task_index: null })
    expect(chip.get('[data-testid="selection-chip"]').text()).toBe('Editing: Module 3 — Kickoff')
    expect(toggle.attributes('aria-pressed')).toBe('true')
    expect(canvas.get('[data-testid="module-2"]').classes()).toContain('is-selected')
  })

  it('selects a task by its number, or by a click anywhere on it, and a second click clears', async () => {
    const { canvas, chip, focus } = mountBoth()
    const tasks = canvas.get('[data-testid="module-2"]').findAll('[data-testid="task"]')
    await tasks[1].trigger('click')
    expect(focus.selection).toEqual({ module_index: 2, task_index: 1 })
    expect(chip.text()).toBe('Editing: Task 2 of Module 3 — Run the call')
    expect(tasks[1].get('[data-testid="select-task"]').attributes('aria-pressed')).toBe('true')
    await tasks[1].get('[data-testid="select-task"]').trigger('click')
    expect(focus.selection).toBeNull()
    await canvas.get('[data-testid="module-1"]').trigger('click')
    expect(chip.text()).toBe('Editing: Module 2 — Documents')
  })

  it('clears with × and with Escape, but not with an Escape meant for a dialog', async () => {
    const { canvas, chip, focus } = mountBoth()
    await canvas.get('[data-testid="module-0"] [data-testid="select-module"]').trigger('click')
    await chip.get('[data-testid="selection-clear"]').trigger('click')
    expect(focus.selection).toBeNull()

    focus.select({ module_index: 0 })
    const dialog = document.createElement('div')
    dialog.setAttribute('role', 'dialog')
    document.body.appendChild(dialog)
    dialog.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }))
    expect(focus.selection).not.toBeNull()
    dialog.remove()
    const field = document.createElement('input')
    document.body.appendChild(field)
    field.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }))
    expect(focus.selection).not.toBeNull() // a field's own Escape (cancel a rename) is left alone
    field.remove()
    const composer = document.createElement('textarea')
    composer.id = 'composer-input'
    document.body.appendChild(composer)
    composer.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }))
    expect(focus.selection).toBeNull()
    composer.remove()
    focus.select({ module_index: 0 })
    document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }))
    expect(focus.selection).toBeNull()
    await chip.vm.$nextTick()
    expect(chip.find('[data-testid="selection-chip"]').exists()).toBe(false)
  })

  it('shows no chip for a selection the canvas no longer has', async () => {
    const { chip, focus } = mountBoth()
    focus.select({ module_index: 7 })
    await chip.vm.$nextTick()
    expect(chip.find('[data-testid="selection-chip"]').exists()).toBe(false)
  })

  it('marks what changed, for the highlight', async () => {
    const { canvas, focus } = mountBoth()
    focus.highlight([2], [[2, 1]])
    await canvas.vm.$nextTick()
    expect(canvas.get('[data-testid="module-2"]').attributes('data-changed')).toBe('true')
    expect(canvas.get('[data-testid="module-2"]').findAll('[data-testid="task"]').map((t) => t.classes().includes('is-changed'))).toEqual([false, true])
    expect(canvas.get('[data-testid="module-0"]').attributes('data-changed')).toBeUndefined()
  })
})
