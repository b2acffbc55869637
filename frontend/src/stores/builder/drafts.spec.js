import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { lastChange, phaseLabel, useDraftsStore } from './drafts.js'

const NOW = Date.parse('2026-12-01T18:00:00Z')
const DRAFTS = [
  { session_id: 'a', title: 'Older', phase: 'outline', version: 2, updated_at: '2026-12-01T10:00:00Z', playbook_id: null },
  { session_id: 'b', title: 'Newest', phase: 'building', version: 9, updated_at: '2026-12-01T17:55:00Z', playbook_id: 'Xy3k' },
]

describe('drafts store', () => {
  beforeEach(() => setActivePinia(createPinia()))

  it('lists the drafts newest first and removes one only when the server agreed', async () => {
    const api = { listDrafts: vi.fn(async () => DRAFTS), deleteDraft: vi.fn(async () => ({ deleted: 'b' })) }
    const drafts = useDraftsStore()
    drafts.useApi(api)
    await drafts.load()
    expect(drafts.sorted.map((d) => d.session_id)).toEqual(['b', 'a'])
    expect(await drafts.remove('b')).toBe(true)
    expect(api.deleteDraft).toHaveBeenCalledWith('b')
    expect(drafts.sorted.map((d) => d.session_id)).toEqual(['a'])

    api.deleteDraft.mockRejectedValueOnce(Object.assign(new Error('no such draft'), { status: 404, code: 'NOT_FOUND' }))
    expect(await drafts.remove('a')).toBe(false)
    expect(drafts.sorted.map((d) => d.session_id)).toEqual(['a'])
    expect(drafts.error).toBeTruthy()
    expect(drafts.deleting).toBe(null)
  })

  it('says why the list could not be loaded', async () => {
    const drafts = useDraftsStore()
    drafts.useApi({ listDrafts: vi.fn(async () => Promise.reject(Object.assign(new Error('down'), { status: 503, code: 'DATABASE_UNAVAILABLE' }))) })
    await drafts.load()
    expect(drafts.loaded).toBe(false)
    expect(drafts.error.title).toBeTruthy()
  })

  it('words a phase and a last change', () => {
    expect(phaseLabel('refinement')).toBe('Built')
    expect(phaseLabel(null)).toBe('New')
    expect(phaseLabel('some_new_phase')).toBe('some new phase')
    expect(lastChange('2026-12-01T17:59:30Z', NOW)).toBe('just now')
    expect(lastChange('2026-12-01T17:55:00Z', NOW)).toBe('5 min ago')
    expect(lastChange('2026-12-01T15:00:00Z', NOW)).toBe('3 h ago')
    expect(lastChange('2026-11-30T12:00:00Z', NOW)).toBe('yesterday')
    expect(lastChange('2026-11-01T12:00:00Z', NOW)).toMatch(/2026/)
    expect(lastChange(null, NOW)).toBe('')
  })
})
