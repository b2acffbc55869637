import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import ApprovalCard from './ApprovalCard.vue'

const DECISIONS = ['Approve', 'Reject', 'Reroute', 'Add context']
/** The card's decision buttons, by their visible names. */
const decisionButtons = (w) => w.findAll('button').filter((b) => DECISIONS.includes(b.text()))
const button = (w, name) => decisionButtons(w).find((b) => b.text() === name)

const base = { id: 'int-1', reason: 'build_modules:count>8', message: 'Build all 12 modules now?', expiresAt: null, state: 'pending', decision: null, error: null }

describe('ApprovalCard', () => {
  afterEach(() => vi.useRealTimers())

  it('offers Approve, Reject, Reroute and Add context', async () => {
    const w = mount(ApprovalCard, { props: { interrupt: base } })
    expect(w.text()).toContain('Approval needed')
    expect(w.text()).toContain('Build all 12 modules now?')
    expect(w.text()).toContain('Asked because it means building many modules at once.')
    expect(decisionButtons(w).map((b) => b.text())).toEqual(DECISIONS)
    await button(w, 'Reject').trigger('click')
    await button(w, 'Reroute').trigger('click')
    expect(w.emitted('decide')).toEqual([[{ id: 'int-1', decision: 'reject' }], [{ id: 'int-1', decision: 'reroute' }]])
  })

  it('without a message, shows the runtime summary of the paused action (never the raw rule)', () => {
    const w = mount(ApprovalCard, { props: { interrupt: { ...base, message: '', metadata: { summary: 'Build 12 modules' } } } })
    expect(w.text()).toContain('Build 12 modules')
    expect(w.text()).not.toContain('count>8')
  })

  it('Add context opens a text box and sends its text', async () => {
    const w = mount(ApprovalCard, { props: { interrupt: base }, attachTo: document.body })
    await button(w, 'Add context').trigger('click')
    const box = w.get('textarea')
    expect(w.get(`label[for="${box.attributes('id')}"]`).text()).toContain('Extra instructions')
    await w.get('form').trigger('submit')
    expect(w.emitted('decide')).toBeUndefined() // empty text is not sent
    await box.setValue('Only the first three')
    await w.get('form').trigger('submit')
    expect(w.emitted('decide')).toEqual([[{ id: 'int-1', decision: 'add_context', context: 'Only the first three' }]])
    w.unmount()
  })

  it('counts down to the expiry and then shows it expired with no buttons', async () => {
    vi.useFakeTimers()
    const now = new Date('2030-01-01T10:00:00Z').getTime()
    vi.setSystemTime(now)
    const w = mount(ApprovalCard, { props: { interrupt: { ...base, expiresAt: new Date(now + 65_000).toISOString() }, now } })
    expect(w.text()).toContain('Expires in 1 min 05 s')
    vi.setSystemTime(now + 70_000)
    await vi.advanceTimersByTimeAsync(1000)
    expect(w.text()).toContain('Expired')
    expect(w.text()).toContain('expired before it was answered')
    expect(decisionButtons(w)).toHaveLength(0)
    expect(w.attributes('data-state')).toBe('expired')
  })

  it('shows the answer once answered', () => {
    const w = mount(ApprovalCard, { props: { interrupt: { ...base, state: 'answered', decision: 'approve' } } })
    expect(w.text()).toContain('Approved')
    expect(decisionButtons(w)).toHaveLength(0)
  })

  it('disables the buttons while sending', () => {
    const w = mount(ApprovalCard, { props: { interrupt: { ...base, state: 'sending', decision: 'approve' } } })
    expect(decisionButtons(w)).toHaveLength(4)
    expect(decisionButtons(w).every((b) => b.attributes('disabled') !== undefined)).toBe(true)
  })
})
