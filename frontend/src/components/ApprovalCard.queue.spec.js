import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'

const api = vi.hoisted(() => ({ getApproval: vi.fn(), decideApproval: vi.fn() }))
vi.mock('../api/agent.js', () => api)

import ApprovalCard from './ApprovalCard.vue'

const base = { id: 'int-1', reason: 'build_modules:count>8', message: 'Build all 12 modules now?', expiresAt: null, state: 'pending', decision: null, error: null }
const recorded = { request_id: 'int-1', desk: 'ops-leads', status: 'open', can_decide: false, escalated: false }

describe('ApprovalCard with the operator queue', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    api.getApproval.mockReset()
    api.decideApproval.mockReset()
  })
  afterEach(() => vi.useRealTimers())

  it('says which desk it waits for, hides the buttons, and resumes with the decision when one arrives', async () => {
    api.getApproval.mockResolvedValueOnce(recorded)
    const w = mount(ApprovalCard, { props: { interrupt: base } })
    await flushPromises()
    expect(w.get('[data-testid="approval-waiting"]').text()).toContain('Waiting for the ops-leads desk')
    expect(w.findAll('.actions button')).toHaveLength(0)
    expect(w.emitted('decide')).toBeUndefined()

    api.getApproval.mockResolvedValueOnce({ ...recorded, status: 'approved', decided_by: 'ann@example.com', decided_role: 'ops-leads' })
    await vi.advanceTimersByTimeAsync(2000)
    expect(w.emitted('decide')).toEqual([[{ id: 'int-1', decision: 'approve' }]])
    await vi.advanceTimersByTimeAsync(4000)
    expect(w.emitted('decide')).toHaveLength(1) // once
  })

  it('a desk member decides inline; Reroute transfers to another desk through the queue API', async () => {
    api.getApproval.mockResolvedValue({ ...recorded, can_decide: true })
    api.decideApproval.mockResolvedValue({ ...recorded, desk: 'security', can_decide: false })
    const w = mount(ApprovalCard, { props: { interrupt: base }, attachTo: document.body })
    await flushPromises()
    expect(w.findAll('.actions button').map((b) => b.text())).toEqual(['Approve', 'Reject', 'Reroute', 'Add context'])
    await w.findAll('.actions button')[2].trigger('click')
    expect(w.emitted('decide')).toBeUndefined()
    await w.get('[data-testid="approval-transfer"] input').setValue('security')
    await w.get('[data-testid="approval-transfer"]').trigger('submit')
    await flushPromises()
    expect(api.decideApproval).toHaveBeenCalledWith('int-1', { decision: 'reroute', desk: 'security' })
    expect(w.get('[data-testid="approval-waiting"]').text()).toContain('security')
    w.unmount()
  })

  it('a pause the queue did not record keeps the inline decision', async () => {
    api.getApproval.mockResolvedValue(null)
    const w = mount(ApprovalCard, { props: { interrupt: base } })
    await flushPromises()
    await w.findAll('.actions button')[0].trigger('click')
    expect(w.emitted('decide')).toEqual([[{ id: 'int-1', decision: 'approve' }]])
  })
})
