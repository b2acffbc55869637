import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { actionRequest, createSession, getCsrfToken, nav, post, resetCsrfCache, runRequest, savePlaybook } from './agent.js'
import { jsonResponse } from '../test/sse.js'

const session = { session_id: 'abc-0123456789-0123456789-0123456789', token: 't', agent_url: '/api/agent' }

describe('api/agent', () => {
  beforeEach(() => {
    resetCsrfCache()
    document.head.innerHTML = ''
    vi.spyOn(nav, 'assign').mockImplementation(() => {})
  })
  afterEach(() => vi.unstubAllGlobals())

  it('takes the CSRF token from the meta tag when the page has one', async () => {
    document.head.innerHTML = '<meta name="csrf-token" content="from-meta">'
    const fetch = vi.fn()
    vi.stubGlobal('fetch', fetch)
    expect(await getCsrfToken()).toBe('from-meta')
    expect(fetch).not.toHaveBeenCalled()
  })

  it('falls back to GET /api/csrf', async () => {
    const fetch = vi.fn(async () => jsonResponse(200, { csrf_token: 'from-api' }))
    vi.stubGlobal('fetch', fetch)
    expect(await getCsrfToken()).toBe('from-api')
    expect(fetch).toHaveBeenCalledWith('/api/csrf', expect.objectContaining({ credentials: 'same-origin' }))
  })

  it('retries once with a fresh token after a CSRF rejection', async () => {
    let tokens = 0
    const seen = []
    vi.stubGlobal('fetch', vi.fn(async (url, init) => {
      if (url === '/api/csrf') return jsonResponse(200, { csrf_token: `t${++tokens}` })
      seen.push(init.headers['X-CSRFToken'])
      return seen.length === 1
        ? jsonResponse(400, { error: { code: 'CSRF_FAILED', message: 'The CSRF token is missing.' } })
        : jsonResponse(200, { ok: true })
    }))
    const res = await post('/x', {})
    expect(res.ok).toBe(true)
    expect(seen).toEqual(['t1', 't2'])
  })

  it('createSession posts to the copilot session endpoint', async () => {
    const fetch = vi.fn(async (url) => (url === '/api/csrf' ? jsonResponse(200, { csrf_token: 'c' }) : jsonResponse(200, session)))
    vi.stubGlobal('fetch', fetch)
    expect(await createSession()).toEqual(session)
    expect(fetch.mock.calls[1][0]).toBe('/api/agent/copilot/session')
    expect(fetch.mock.calls[1][1].method).toBe('POST')
  })

  it('a 401 sends the person to the login page', async () => {
    vi.stubGlobal('fetch', vi.fn(async (url) => (url === '/api/csrf' ? jsonResponse(200, { csrf_token: 'c' }) : jsonResponse(401, { error: { code: 'UNAUTHENTICATED', message: 'no' } }))))
    await expect(savePlaybook({}, 'k')).rejects.toMatchObject({ status: 401 })
    expect(nav.assign).toHaveBeenCalledWith('/login?next=/builder')
  })

  it('builds run and action requests', () => {
    expect(runRequest(session, 'hi', { phase: 'empty' })).toEqual({
      url: '/api/agent/run',
      body: { session_id: session.session_id, token: 't', action: 'chat', prompt: 'hi', ui_context: { phase: 'empty' } },
    })
    expect(actionRequest(session, 'watch', { last_event_id: 12 })).toEqual({
      url: `/api/agent/run/${session.session_id}/watch`,
      body: { token: 't', session_id: session.session_id, last_event_id: 12 },
      headers: { 'Last-Event-ID': '12' },
    })
    expect(actionRequest(session, 'watch', { last_event_id: null }).headers).toEqual({})
    expect(actionRequest(session, 'resume_interrupt', { interrupt_id: 'i', decision: 'approve', context: undefined }).body).toEqual({
      token: 't',
      session_id: session.session_id,
      interrupt_id: 'i',
      decision: 'approve',
    })
  })
})
