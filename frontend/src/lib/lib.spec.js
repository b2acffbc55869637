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

describe('playbookStatus', () => {
  const m = (status, tasks = 0, reason = null) => ({
    status,
    reason,
    tasks: Array.from({ length: tasks }, (_, i) => ({ title: `t${i}`, steps: [] })),
  })

  it('says "Ready for review" only when every module is built', async () => {
    const { playbookStatus } = await import('./status.js')
    expect(playbookStatus('refinement', [m('built', 2), m('built', 1)])).toMatchObject({ label: 'Ready for review', tone: 'ok' })
    expect(playbookStatus('empty', [])).toMatchObject({ label: 'New' })
    expect(playbookStatus('outline', [m('pending'), m('pending')])).toMatchObject({ label: 'Outline' })
    expect(playbookStatus('building', [m('building', 1), m('pending')])).toMatchObject({ label: 'Building' })
    expect(playbookStatus('outline', [m('pending')], { awaitingApproval: true })).toMatchObject({
      label: 'Waiting for your approval',
    })
  })

  it('a stopped build is never ready: the phase says refinement, the modules say otherwise', async () => {
    const { playbookStatus } = await import('./status.js')
    // What the page holds after Stop: one built, one cut short with tasks, one never started.
    const stopped = playbookStatus('refinement', [m('built', 2), m('pending', 1), m('pending')])
    expect(stopped).toMatchObject({ key: 'stopped', label: 'Stopped · partly built', tone: 'warn' })
    expect(playbookStatus('refinement', [m('built', 1), m('failed', 0, 'Build stopped')])).toMatchObject({ key: 'stopped' })
  })

  it('names failures and partial builds', async () => {
    const { playbookStatus } = await import('./status.js')
    expect(playbookStatus('refinement', [m('built', 1), m('failed', 0, 'model error')])).toMatchObject({
      label: 'Partly built · 1 failed',
      tone: 'error',
    })
    expect(playbookStatus('refinement', [m('failed', 0, 'model error')])).toMatchObject({ label: 'Build failed' })
    expect(playbookStatus('outline', [m('built', 1), m('pending')])).toMatchObject({ label: 'Partly built · 1 of 2' })
    // A status this page does not know is not counted as built.
    expect(playbookStatus('refinement', [m('built', 1), m('queued')])).not.toMatchObject({ key: 'ready' })
    expect(playbookStatus('refinement', [m('built', 1), m('built_with_warnings', 1)])).toMatchObject({ key: 'ready' })
  })
})

describe('assistantStatus', () => {
  it('is never a green "Ready" when offline or when the assistant cannot be reached', async () => {
    const { assistantStatus } = await import('./status.js')
    expect(assistantStatus({ online: true })).toEqual({ tone: 'ready', text: 'Ready' })
    expect(assistantStatus({ online: false, running: true })).toMatchObject({ tone: 'offline', text: 'Offline' })
    expect(assistantStatus({ lastError: { code: 'NETWORK', kind: 'network' } })).toMatchObject({
      tone: 'down',
      text: "Can't reach the assistant",
    })
    expect(assistantStatus({ lastError: { code: 'RUNTIME_UNAVAILABLE', status: 503 } })).toMatchObject({
      tone: 'down',
      text: 'Assistant unreachable',
    })
    expect(assistantStatus({ lastError: { code: 'RUNTIME_RESTARTING', status: 503 } })).toMatchObject({
      text: 'Assistant restarting',
    })
    expect(assistantStatus({ lastError: { code: 'UPSTREAM_FAILED', status: 502 } })).toMatchObject({ tone: 'down' })
    expect(assistantStatus({ lastError: { code: 'SESSION_BUSY', status: 409 } })).toMatchObject({ tone: 'ready' })
    expect(assistantStatus({ building: true, progress: { built: 2, total: 5 } })).toMatchObject({ text: 'Building · 2 of 5' })
    expect(assistantStatus({ stopping: true, running: true })).toMatchObject({ text: 'Stopping…' })
  })
})

describe('byteLength', () => {
  it('counts what is sent (UTF-8 bytes)', async () => {
    const { byteLength, MAX_PROMPT_BYTES } = await import('./limits.js')
    expect(byteLength('abc')).toBe(3)
    expect(byteLength('é')).toBe(2)
    expect(MAX_PROMPT_BYTES).toBe(32768)
  })
})
