import { describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { createTestingPinia } from '@pinia/testing'
import CanvasPane from './CanvasPane.vue'
import { usePlaybookBuilderStore } from '../stores/playbookBuilder.js'

const mod = (title, status = 'pending', tasks = []) => ({ title, description: '', status, reason: null, tasks })

function mountCanvas(state = {}) {
  const wrapper = mount(CanvasPane, {
    global: { plugins: [createTestingPinia({ createSpy: vi.fn, stubActions: false, initialState: { playbookBuilder: state } })] },
  })
  return { wrapper, store: usePlaybookBuilderStore() }
}

describe('CanvasPane', () => {
  it('has a helpful empty state with example requests', async () => {
    const { wrapper } = mountCanvas()
    expect(wrapper.text()).toContain('Your playbook will appear here')
    const examples = wrapper.get('[role="group"][aria-label="Example requests"]').findAll('button')
    expect(examples.length).toBeGreaterThan(1)
    await examples[0].trigger('click')
    expect(wrapper.emitted('example')[0][0]).toMatch(/Onboard new clients/)
  })

  it('shows the title, description, modules with status badges, and counts', () => {
    const { wrapper } = mountCanvas({
      phase: 'outline',
      canvas: { title: 'Client onboarding', description: 'Start to finish', modules: [mod('Kickoff'), mod('Documents')] },
    })
    expect(wrapper.get('[data-testid="playbook-title"]').text()).toBe('Client onboarding')
    expect(wrapper.text()).toContain('Start to finish')
    expect(wrapper.get('[data-testid="phase"]').text()).toBe('Outline')
    const cards = wrapper.findAll('[data-testid^="module-"]')
    expect(cards).toHaveLength(2)
    expect(cards[0].text()).toContain('Kickoff')
    expect(cards[0].get('.badge').text()).toBe('Pending')
    expect(wrapper.text()).toContain('2 modules')
    expect(wrapper.find('[data-testid="build-progress"]').exists()).toBe(false)
  })

  it('shows build progress "N of M modules built" with a progress bar', () => {
    const { wrapper } = mountCanvas({
      phase: 'building',
      progress: { built: 4, failed: 0, total: 9 },
      canvas: { title: 'P', description: '', modules: Array.from({ length: 9 }, (_, i) => mod(`M${i}`, i < 4 ? 'built' : 'building')) },
    })
    const progress = wrapper.get('[data-testid="build-progress"]')
    expect(progress.text()).toContain('4 of 9 modules built')
    const bar = progress.get('[role="progressbar"]')
    expect(bar.attributes('aria-valuenow')).toBe('4')
    expect(bar.attributes('aria-valuemax')).toBe('9')
    expect(bar.get('.seg-built').attributes('style')).toContain('width: 44%')
    expect(wrapper.get('[data-testid="phase"]').text()).toBe('Building')
  })

  it('updates live as tasks and steps arrive', async () => {
    const { wrapper, store } = mountCanvas()
    store.applyToolCall('set_playbook_outline', { title: 'P', modules: [{ title: 'Kickoff' }] })
    await wrapper.vm.$nextTick()
    expect(wrapper.findAll('[data-testid="task"]')).toHaveLength(0)
    store.applyToolCall('add_tasks', { module_index: 0, tasks: [{ title: 'Book the call' }] })
    store.applyToolCall('add_task_step', { module_index: 0, task_index: 0, step: { title: 'Pick a date' } })
    await wrapper.vm.$nextTick()
    expect(wrapper.get('[data-testid="task"]').text()).toContain('Book the call')
    expect(wrapper.get('[data-testid="step"]').text()).toContain('Pick a date')
    expect(wrapper.get('[data-testid="module-0"]').get('.badge').text()).toBe('Building')
  })

  it('shows a stopped build as stopped, not failed', () => {
    const stopped = { ...mod('B', 'failed'), reason: 'stopped before it finished', tasks: [{ title: 'T', description: '', steps: [] }] }
    const { wrapper } = mountCanvas({ phase: 'refinement', canvas: { title: 'P', description: '', modules: [mod('A', 'built'), stopped] } })
    expect(wrapper.get('[data-testid="build-progress"]').text()).toContain('1 of 2 modules built · 1 stopped')
    const card = wrapper.get('[data-testid="module-1"]')
    expect(card.get('.badge').text()).toBe('Stopped')
    const notes = card.findAll('[role="note"]')
    expect(notes.map((n) => n.text())).toEqual([expect.stringContaining('Stopped before it finished')])
    expect(card.text()).not.toContain('stopped before it finished') // the raw reason is not shown as a failure
  })

  it('says how many failed', () => {
    const { wrapper } = mountCanvas({
      phase: 'refinement',
      canvas: { title: 'P', description: '', modules: [mod('A', 'built'), { ...mod('B', 'failed'), reason: 'The model gave up.' }] },
    })
    expect(wrapper.get('[data-testid="build-progress"]').text()).toContain('1 of 2 modules built · 1 failed')
    expect(wrapper.get('[data-testid="module-1"]').text()).toContain('The model gave up.')
  })
})
