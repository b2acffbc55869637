import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import * as storage from './storage.js'

function signIn(key) {
  document.head.querySelector(`meta[name="${storage.USER_META}"]`)?.remove()
  if (!key) return
  const meta = document.createElement('meta')
  meta.setAttribute('name', storage.USER_META)
  meta.setAttribute('content', key)
  document.head.appendChild(meta)
}

const SESSION = { session_id: 's-1', token: 't-1', agent_url: '/api/agent', lastEventId: 3 }

describe('builder storage is per user', () => {
  beforeEach(() => sessionStorage.clear())
  afterEach(() => signIn(null))

  it("keeps a user's state under their key and gives it back", () => {
    signIn('alice-key')
    storage.saveSession(SESSION)
    storage.saveCanvas({ canvas: { title: 'Alice plan', modules: [] } })
    expect(sessionStorage.getItem(`${storage.SESSION_KEY}.alice-key`)).toContain('s-1')
    expect(storage.loadSession()).toMatchObject({ ...SESSION, user: 'alice-key' })
    expect(storage.loadCanvas().canvas.title).toBe('Alice plan')
  })

  it("never gives one user's token, transcript or canvas to the next user of the tab", () => {
    signIn('alice-key')
    storage.saveSession(SESSION)
    storage.saveTranscript({ messages: [{ id: 'u1', role: 'user', text: 'secret plan' }] })
    storage.saveCanvas({ canvas: { title: 'Alice plan', modules: [] } })

    signIn('bob-key')
    expect(storage.loadSession()).toBeNull()
    expect(storage.loadTranscript()).toBeNull()
    expect(storage.loadCanvas()).toBeNull()
    // Alice's entries are gone from the tab, not just hidden.
    expect(Object.keys(sessionStorage).filter((k) => k.includes('alice'))).toEqual([])
  })

  it('discards state written before per-user keys (or by a page without a key)', () => {
    sessionStorage.setItem(storage.SESSION_KEY, JSON.stringify(SESSION))
    sessionStorage.setItem(storage.CANVAS_KEY, JSON.stringify({ canvas: { title: 'old' } }))
    signIn('bob-key')
    expect(storage.loadSession()).toBeNull()
    expect(storage.loadCanvas()).toBeNull()
    expect(sessionStorage.length).toBe(0)
  })

  it("discards a session whose record names another user even under this user's key", () => {
    signIn('bob-key')
    sessionStorage.setItem(`${storage.SESSION_KEY}.bob-key`, JSON.stringify({ ...SESSION, user: 'alice-key' }))
    sessionStorage.setItem(`${storage.CANVAS_KEY}.bob-key`, JSON.stringify({ canvas: { title: 'planted' } }))
    expect(storage.loadSession()).toBeNull()
    expect(storage.loadCanvas()).toBeNull()
  })

  it('clearSaved forgets every user and leaves other sites of the app alone', () => {
    sessionStorage.setItem('somethingElse', 'kept')
    signIn('alice-key')
    storage.saveSession(SESSION)
    signIn('bob-key')
    storage.saveSession(SESSION)
    storage.clearSaved()
    expect(Object.keys(sessionStorage)).toEqual(['somethingElse'])
  })
})
