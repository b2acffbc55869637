// The canvas's edit controls: buttons follow the history flags; Ctrl/Cmd+Z and Ctrl/Cmd+Shift+Z undo
// and redo outside text fields only; an in-place rename saves on Enter and cancels on Escape.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { computed, ref } from 'vue'
import CanvasEditControls from './CanvasEditControls.vue'
import ModuleCard from '../ModuleCard.vue'

function fakeEdits({ canUndo = true, canRedo = false, blocked = '' } = {}) {
  return {
    pending: ref(null),
    notice: ref(null),
    confirming: ref(null),
    blockedReason: computed(() => blocked),
    canEdit: computed(() => !blocked),
    canUndo: computed(() => canUndo && !blocked),
    canRedo: computed(() => canRedo && !blocked),
    undo: vi.fn(async () => true),
    redo: vi.fn(async () => true),
    renameModule: vi.fn(async () => true),
    moveModule: vi.fn(async () => true),
    deleteModule: vi.fn(),
    renameTask: vi.fn(async () => true),
    deleteTask: vi.fn(),
    addTask: vi.fn(async () => true),
    answer: vi.fn(),
  }
}

const press = (target, init) => target.dispatchEvent(new KeyboardEvent('keydown', { bubbles: true, cancelable: true, ...init }))

describe('CanvasEditControls', () => {
  let wrapper
  afterEach(() => wrapper?.unmount())

  it('buttons follow the flags; the shortcuts work outside text fields only', async () => {
    const edits = fakeEdits()
    wrapper = mount(CanvasEditControls, { global: { provide: { canvasEdits: edits } }, attachTo: document.body })
    expect(wrapper.get('[data-testid="undo"]').attributes('disabled')).toBeUndefined()
    expect(wrapper.get('[data-testid="redo"]').attributes('disabled')).toBeDefined()

    press(document.body, { key: 'z', ctrlKey: true })
    press(document.body, { key: 'Z', metaKey: true, shiftKey: true })
    press(document.body, { key: 'y', ctrlKey: true })
    expect(edits.undo).toHaveBeenCalledTimes(1)
    expect(edits.redo).toHaveBeenCalledTimes(2)

    const area = document.createElement('textarea')
    document.body.appendChild(area)
    press(area, { key: 'z', ctrlKey: true })
    press(document.body, { key: 'z' }) // no modifier
    press(document.body, { key: 'z', ctrlKey: true, altKey: true })
    area.remove()
    expect(edits.undo).toHaveBeenCalledTimes(1)
  })

  it('says why the controls wait', () => {
    wrapper = mount(CanvasEditControls, {
      global: { provide: { canvasEdits: fakeEdits({ blocked: 'Wait for the build to finish (or stop it)' }) } },
    })
    const undo = wrapper.get('[data-testid="undo"]')
    expect(undo.attributes('disabled')).toBeDefined()
    expect(undo.attributes('title')).toContain('Wait for the build to finish')
  })

  it('renders nothing without direct edits (other pages, older tests)', () => {
    wrapper = mount(CanvasEditControls)
    expect(wrapper.find('[data-testid="canvas-edit-controls"]').exists()).toBe(false)
  })
})

describe('ModuleCard with direct edits', () => {
  const module = { title: 'Kickoff', description: '', status: 'built', reason: null, tasks: [{ title: 'Book', description: '', steps: [] }] }

  it('renames in place: Enter saves, Escape cancels; move and delete name the module', async () => {
    const edits = fakeEdits()
    const w = mount(ModuleCard, { props: { module, index: 1, count: 3 }, global: { provide: { canvasEdits: edits } } })
    await w.get('[data-testid="rename-module"]').trigger('click')
    const input = w.get('[data-testid="rename-module-input"]')
    await input.setValue('Kickoff call')
    await input.trigger('keydown', { key: 'Enter' })
    expect(edits.renameModule).toHaveBeenCalledWith(1, 'Kickoff call')
    await w.get('[data-testid="rename-module"]').trigger('click')
    await w.get('[data-testid="rename-module-input"]').setValue('Nope')
    await w.get('[data-testid="rename-module-input"]').trigger('keydown', { key: 'Escape' })
    expect(edits.renameModule).toHaveBeenCalledTimes(1)
    await w.get('[data-testid="move-up"]').trigger('click')
    expect(edits.moveModule).toHaveBeenCalledWith(1, 0)
    await w.get('[data-testid="delete-module"]').trigger('click')
    expect(edits.deleteModule).toHaveBeenCalledWith(1)
    await w.get('[data-testid="delete-task"]').trigger('click')
    expect(edits.deleteTask).toHaveBeenCalledWith(1, 0)
    expect(w.get('[data-testid="delete-module"]').attributes('aria-label')).toBe('Delete module 2: Kickoff')
  })

  it('has no edit controls where the page offers no direct edits', () => {
    const w = mount(ModuleCard, { props: { module, index: 0 } })
    expect(w.find('[data-testid="rename-module"]').exists()).toBe(false)
    expect(w.find('[data-testid="move-up"]').exists()).toBe(false)
    expect(w.find('[data-testid="add-task"]').exists()).toBe(false)
  })
})
