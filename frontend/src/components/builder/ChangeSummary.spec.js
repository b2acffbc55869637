import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ChangeSummary from './ChangeSummary.vue'
import ChatMessage from '../ChatMessage.vue'

const CHANGES = [
  { kind: 'added', label: 'Added module 8 — Customer Notification' },
  { kind: 'renamed', label: 'Renamed module 2 — Kickoff → Kickoff Call' },
  { kind: 'removed', label: 'Removed module 5 — Training' },
]

describe('ChangeSummary', () => {
  it('says how many changes, folded, and lists them when opened', async () => {
    const w = mount(ChangeSummary, { props: { changes: CHANGES } })
    const details = w.get('details')
    expect(details.get('summary').text()).toBe('3 changes')
    expect(details.attributes('open')).toBeUndefined()
    expect(w.findAll('[data-testid="change-item"]').map((li) => li.text())).toEqual([
      'Added module 8 — Customer Notification',
      'Renamed module 2 — Kickoff → Kickoff Call',
      'Removed module 5 — Training',
    ])
    expect(mount(ChangeSummary, { props: { changes: CHANGES.slice(0, 1) } }).get('summary').text()).toBe('1 change')
  })

  it('sits under an assistant reply that changed the canvas, and only there', () => {
    const reply = mount(ChatMessage, { props: { message: { id: 'a', role: 'assistant', text: 'Done.', changes: CHANGES } } })
    expect(reply.get('[data-testid="change-summary"]').text()).toContain('3 changes')
    const plain = mount(ChatMessage, { props: { message: { id: 'b', role: 'assistant', text: 'Hi.' } } })
    expect(plain.find('[data-testid="change-summary"]').exists()).toBe(false)
  })
})
