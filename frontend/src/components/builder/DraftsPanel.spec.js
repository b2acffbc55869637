import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import DraftsPanel from './DraftsPanel.vue'
import { useDraftsStore } from '../../stores/builder/drafts.js'

const NOW = Date.parse('2026-12-01T18:00:00Z')
const DRAFTS = [
  { session_id: 'a', title: 'Older', phase: 'outline', version: 2, updated_at: '2026-12-01T10:00:00Z', playbook_id: null },
  { session_id: 'b', title: 'Newest', phase: 'building', version: 9, updated_at: '2026-12-01T17:55:00Z', playbook_id: 'Xy3k' },
  { session_id: 'c', title: 'Here', phase: 'refinement', version: 4, updated_at: '2026-12-01T17:00:00Z', playbook_id: null },
]

describe('DraftsPanel', () => {
  let api
  beforeEach(() => {
    setActivePinia(createPinia())
    api = { listDrafts: vi.fn(async () => DRAFTS), deleteDraft: vi.fn(async () => ({})) }
    useDraftsStore().useApi(api)
  })
  afterEach(() => document.body.replaceChildren())

  const mountPanel = async () => {
    const wrapper = mount(DraftsPanel, { props: { currentSessionId: 'c', now: NOW }, attachTo: document.body })
    await flushPromises()
    return wrapper
  }

  it('lists title, phase and last change, newest first, and marks the draft open here', async () => {
    const wrapper = await mountPanel()
    const rows = wrapper.findAll('[data-testid="draft"]')
    expect(rows.map((r) => r.find('.draft-title').text())).toEqual(['Newest', 'Here', 'Older'])
    expect(rows[0].find('.draft-phase').text()).toBe('Building')
    expect(rows[0].find('time').text()).toBe('5 min ago')
    expect(rows[0].text()).toContain('Saved playbook')
    expect(rows[1].text()).toContain('Open here')
    expect(rows[1].find('[data-testid="draft-open"]').exists()).toBe(false)
    expect(rows[1].find('[data-testid="draft-delete"]').exists()).toBe(false) // "New playbook" discards it
    expect(wrapper.find('[role="dialog"]').attributes('aria-labelledby')).toBe('drafts-title')
  })

  it('opens a draft', async () => {
    const wrapper = await mountPanel()
    await wrapper.findAll('[data-testid="draft-open"]')[0].trigger('click')
    expect(wrapper.emitted('open')[0][0].session_id).toBe('b')
  })

  it('deletes only after the person confirms', async () => {
    const wrapper = await mountPanel()
    await wrapper.findAll('[data-testid="draft-delete"]')[1].trigger('click')
    expect(wrapper.find('[data-testid="confirm-dialog"]').text()).toContain('“Older”')
    await wrapper.find('[data-testid="confirm-dialog"] .btn-secondary').trigger('click') // Keep it
    expect(api.deleteDraft).not.toHaveBeenCalled()
    await wrapper.findAll('[data-testid="draft-delete"]')[1].trigger('click')
    await wrapper.find('[data-testid="confirm"]').trigger('click')
    await flushPromises()
    expect(api.deleteDraft).toHaveBeenCalledWith('a')
    expect(wrapper.findAll('[data-testid="draft"]').map((r) => r.find('.draft-title').text())).toEqual(['Newest', 'Here'])
  })

  it('keeps the keyboard inside the panel', async () => {
    const wrapper = await mountPanel()
    const buttons = wrapper.findAll('button')
    const last = buttons.at(-1).element
    last.focus()
    await wrapper.find('[role="dialog"]').trigger('keydown', { key: 'Tab' })
    expect(document.activeElement).toBe(buttons[0].element) // wrapped to the close button
    await wrapper.find('[role="dialog"]').trigger('keydown', { key: 'Tab', shiftKey: true })
    expect(document.activeElement).toBe(last)
  })

  it('closes on Escape and says so when there are no drafts', async () => {
    api.listDrafts.mockResolvedValueOnce([])
    const wrapper = await mountPanel()
    expect(wrapper.find('[data-testid="drafts-empty"]').exists()).toBe(true)
    await wrapper.find('[role="dialog"]').trigger('keydown', { key: 'Escape' })
    expect(wrapper.emitted('close')).toHaveLength(1)
  })
})
