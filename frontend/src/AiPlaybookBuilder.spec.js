import { describe, expect, it, vi } from 'vitest'
import { ref } from 'vue'
import { mount } from '@vue/test-utils'
import { createTestingPinia } from '@pinia/testing'
import AiPlaybookBuilder from './AiPlaybookBuilder.vue'
import { usePlaybookBuilderStore } from './stores/playbookBuilder.js'

function fakeBuilder() {
  return {
    ready: ref(true),
    confirmingReset: ref(false),
    init: vi.fn(),
    send: vi.fn(),
    stop: vi.fn(),
    requestNewPlaybook: vi.fn(),
    newPlaybook: vi.fn(),
    cancelNewPlaybook: vi.fn(),
    decide: vi.fn(),
    expireInterrupts: vi.fn(),
    save: vi.fn(),
    retry: vi.fn(),
    retryBanner: vi.fn(),
    persist: vi.fn(),
    signOut: vi.fn(),
  }
}

const mod = (title, status = 'pending') => ({ title, description: '', status, reason: null, tasks: [] })

function mountPage(state = {}) {
  const builder = fakeBuilder()
  const wrapper = mount(AiPlaybookBuilder, {
    props: { builder },
    attachTo: document.body,
    global: { plugins: [createTestingPinia({ createSpy: vi.fn, stubActions: false, initialState: { playbookBuilder: state } })] },
  })
  return { wrapper, builder, store: usePlaybookBuilderStore() }
}

describe('AiPlaybookBuilder', () => {
  it('starts the builder on mount and shows both panes', () => {
    const { wrapper, builder } = mountPage()
    expect(builder.init).toHaveBeenCalledOnce()
    expect(wrapper.find('[data-testid="chat"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="canvas"]').exists()).toBe(true)
    wrapper.unmount()
  })

  it('Save is disabled when empty and while building, enabled otherwise', async () => {
    const { wrapper, store, builder } = mountPage()
    const save = () => wrapper.get('[data-testid="save"]')
    expect(save().attributes('disabled')).toBeDefined()
    store.canvas = { title: 'P', description: '', modules: [mod('A')] }
    store.phase = 'outline'
    await wrapper.vm.$nextTick()
    expect(save().attributes('disabled')).toBeUndefined()
    // An outline with no tasks yet: Save asks first ("Not yet" keeps it unsaved).
    await save().trigger('click')
    expect(builder.save).not.toHaveBeenCalled()
    let dialog = wrapper.get('[data-testid="confirm-dialog"]')
    expect(dialog.text()).toContain('Save the outline without tasks?')
    await dialog.findAll('button').find((b) => b.text() === 'Not yet').trigger('click')
    expect(wrapper.find('[data-testid="confirm-dialog"]').exists()).toBe(false)
    expect(builder.save).not.toHaveBeenCalled()
    await save().trigger('click')
    await wrapper.get('[data-testid="confirm"]').trigger('click')
    expect(builder.save).toHaveBeenCalledTimes(1)
    // With tasks, Save saves at once.
    store.canvas.modules[0].tasks.push({ title: 'T', description: '', steps: [] })
    await wrapper.vm.$nextTick()
    await save().trigger('click')
    expect(builder.save).toHaveBeenCalledTimes(2)
    dialog = wrapper.find('[data-testid="confirm-dialog"]')
    expect(dialog.exists()).toBe(false)
    store.phase = 'building'
    await wrapper.vm.$nextTick()
    expect(save().attributes('disabled')).toBeDefined()
    expect(save().attributes('title')).toMatch(/build to finish/)
    wrapper.unmount()
  })

  it('shows a save error with Retry', async () => {
    const { wrapper, builder } = mountPage({
      canvas: { title: 'P', description: '', modules: [mod('A')] },
      phase: 'outline',
      save: { status: 'error', error: { title: 'x', message: 'Try again in a moment.' }, key: 'k', keyRevision: 0, savedRevision: null },
    })
    const banner = wrapper.get('[data-testid="save-error"]')
    expect(banner.text()).toContain("Couldn't save the playbook.")
    await banner.get('[data-testid="save-retry"]').trigger('click')
    expect(builder.save).toHaveBeenCalled()
    wrapper.unmount()
  })

  it('New playbook asks the builder, and the confirmation dialog confirms or cancels', async () => {
    const { wrapper, builder } = mountPage({ canvas: { title: 'P', description: '', modules: [mod('A')] } })
    await wrapper.get('[data-testid="new-playbook"]').trigger('click')
    expect(builder.requestNewPlaybook).toHaveBeenCalled()
    builder.confirmingReset.value = true
    await wrapper.vm.$nextTick()
    const dialog = wrapper.get('[data-testid="confirm-dialog"]')
    expect(dialog.attributes('role')).toBe('alertdialog')
    expect(document.activeElement.textContent).toContain('Keep working')
    await dialog.trigger('keydown', { key: 'Escape' })
    expect(builder.cancelNewPlaybook).toHaveBeenCalled()
    await dialog.get('[data-testid="confirm"]').trigger('click')
    expect(builder.newPlaybook).toHaveBeenCalled()
    wrapper.unmount()
  })

  it('shows tabs on a narrow screen and switches panes', async () => {
    const mm = vi.spyOn(window, 'matchMedia').mockImplementation(() => ({
      matches: true,
      addEventListener: vi.fn(),
      removeEventListener: vi.fn(),
    }))
    const { wrapper } = mountPage({ canvas: { title: 'P', description: '', modules: [mod('A'), mod('B')] } })
    await wrapper.vm.$nextTick()
    const tabs = wrapper.findAll('[role="tab"]')
    expect(tabs.map((t) => t.text())).toEqual(['Chat', 'Canvas 2'])
    expect(wrapper.get('#pane-canvas').attributes('style')).toContain('display: none')
    await tabs[1].trigger('click')
    expect(wrapper.get('#pane-chat').attributes('style')).toContain('display: none')
    expect(tabs[1].attributes('aria-selected')).toBe('true')
    mm.mockRestore()
    wrapper.unmount()
  })

  it('on a phone, the status bar keeps the status and Stop in view on both tabs, and a menu has the way out', async () => {
    const mm = vi.spyOn(window, 'matchMedia').mockImplementation(() => ({
      matches: true,
      addEventListener: vi.fn(),
      removeEventListener: vi.fn(),
    }))
    const { wrapper, builder, store } = mountPage({
      canvas: { title: 'P', description: '', modules: [mod('A', 'built'), { ...mod('B'), tasks: [{ title: 't', description: '', steps: [] }] }] },
      phase: 'refinement',
    })
    await wrapper.vm.$nextTick()
    const bar = wrapper.get('[data-testid="status-bar"]')
    // After a stop the phase is "refinement", but the playbook is not ready: the bar says so.
    expect(bar.text()).toContain('Stopped · partly built')
    expect(bar.text()).not.toContain('Ready for review')
    expect(bar.find('[data-testid="stop"]').exists()).toBe(false)
    store.phase = 'building'
    await wrapper.vm.$nextTick()
    // One Stop only (the bar's), on either tab.
    expect(wrapper.findAll('[data-testid="stop"]')).toHaveLength(1)
    await wrapper.findAll('[role="tab"]')[1].trigger('click')
    await wrapper.get('[data-testid="status-bar"] [data-testid="stop"]').trigger('click')
    expect(builder.stop).toHaveBeenCalled()
    const menu = wrapper.get('[data-testid="menu"]')
    expect(menu.find('a[href="/playbooks"]').text()).toBe('My playbooks')
    await menu.get('[data-testid="menu-sign-out"]').trigger('click')
    expect(builder.signOut).toHaveBeenCalled()
    mm.mockRestore()
    wrapper.unmount()
  })
})
