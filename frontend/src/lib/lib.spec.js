import { describe, expect, it } from 'vitest'
import { renderMarkdown } from './markdown.js'
import { explainError, runtimeDown } from './errors.js'

describe('renderMarkdown', () => {
  it('renders Markdown and strips anything dangerous', () => {
    const html = renderMarkdown('# Hi\n\n**b** [ok](https://example.com) [bad](javascript:alert(1)) <iframe src="x"></iframe><a href="#" onclick="x()">c</a>')
    expect(html).toContain('<strong>b</strong>')
    expect(html).toContain('href="https://example.com"')
    expect(html).toContain('rel="noopener noreferrer"')
    expect(html).not.toContain('javascript:')
    expect(html).not.toContain('<iframe')
    expect(html).not.toContain('onclick')
  })

  it('returns nothing for empty text', () => {
    expect(renderMarkdown('')).toBe('')
  })
})

describe('explainError', () => {
  it.each([
    [{ code: 'NETWORK', kind: 'network' }, "Can't reach Playbook Builder", 'retry'],
    [{ status: 409, code: 'SESSION_BUSY' }, 'Still working on your last request', 'retry'],
    [{ status: 401 }, 'You are signed out', 'login'],
    [{ status: 401, code: 'TOKEN_EXPIRED' }, 'This conversation has expired', 'new'],
    [{ status: 403 }, 'This conversation has expired', 'new'],
    [{ status: 413 }, 'That is too long', 'none'],
    [{ status: 429 }, 'Too many requests', 'retry'],
    [{ status: 409, code: 'NOTHING_TO_SAVE' }, 'Nothing to save yet', 'none'],
    [{ status: 503, code: 'DATABASE_UNAVAILABLE' }, 'Saving is unavailable right now', 'retry'],
    [{ status: 502 }, 'The assistant is unavailable', 'retry'],
    [{ code: 'MODEL_ERROR', kind: 'run', message: 'x' }, 'The assistant ran into a problem', 'retry'],
    [{ code: 'STREAM_INTERRUPTED', kind: 'network' }, 'The connection dropped', 'reconnect'],
    [{ code: 'MODEL_THROTTLED', kind: 'run', message: 'x' }, 'The model is busy right now', 'retry'],
    [{ code: 'MODEL_ACCESS_DENIED', kind: 'run', message: 'x' }, 'The model is not available here', 'none'],
    [{ code: 'CONTEXT_TOO_LONG', kind: 'run', message: 'x' }, 'That message is too long for the model', 'none'],
    [{ code: 'INTERRUPT_EXPIRED' }, 'This approval has expired', 'none'],
    [{ status: 503, code: 'RUNTIME_RESTARTING' }, 'The assistant is restarting', 'retry'],
    [{ status: 503, code: 'RUNTIME_UNAVAILABLE' }, 'The assistant could not be reached', 'retry'],
    [{ status: 503 }, 'The assistant could not be reached', 'retry'],
    [{ status: 504, code: 'RUNTIME_TIMEOUT' }, 'The assistant did not answer in time', 'retry'],
    [{ status: 503, code: 'DATABASE_UNAVAILABLE' }, 'Playbook Builder is busy', 'retry'],
    [{ code: 'UPSTREAM_FAILED', kind: 'run' }, 'The assistant was interrupted', 'retry'],
  ])('%o → %s', (err, title, action) => {
    expect(explainError(err)).toMatchObject({ title, action })
  })

  it('says a refused connection is a restart, never a network or timeout problem', () => {
    const { message } = explainError({ status: 503, code: 'RUNTIME_RESTARTING', message: 'refused' })
    expect(message).toContain('The assistant is restarting — try again in a moment')
    expect(message).not.toMatch(/internet|in time/i)
  })
})

describe('runtimeDown', () => {
  it.each([
    ['RUNTIME_RESTARTING', 'restarting'],
    ['RUNTIME_UNAVAILABLE', 'unreachable'],
    ['RUNTIME_TIMEOUT', null],
    [null, null],
  ])('%s → %s', (code, state) => {
    expect(runtimeDown(code)).toBe(state)
  })
})
