// The one module that knows the web app's HTTP surface (DESIGN §4). Everything is same-origin and
// authenticated by the Flask session cookie; every POST carries the CSRF token.

import { ErrorCode } from '../generated/contract.js'
import { ClientErrorCode, TOKEN_ERROR_CODES } from '../lib/errors.js'

const env = import.meta.env ?? {}
export const AGENT_TYPE = env.VITE_AGENT_TYPE || 'copilot'
export const LOGIN_URL = env.VITE_LOGIN_URL || '/login?next=/builder'
const SESSION_URL = `/api/agent/${AGENT_TYPE}/session`
const CSRF_URL = '/api/csrf'
const SAVE_URL = '/agent/save-playbook'

/** An HTTP error before any stream started, or a `RUN_ERROR` inside one. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number|null, code?: string|null, kind?: string, cause?: unknown}} [info]
   */
  constructor(message, { status = null, code = null, kind = 'http', cause } = {}) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.kind = kind
    if (cause) this.cause = cause
  }
}

/** Navigation, replaceable in tests. */
export const nav = {
  assign(url) {
    window.location.assign(url)
  },
}

/** Send the person to the login page (and back to the builder afterwards). */
export function redirectToLogin() {
  nav.assign(LOGIN_URL)
}

/** True when a 401 means "your agent token is stale", not "you are logged out". */
export function isTokenError(err) {
  return TOKEN_ERROR_CODES.has(err?.code)
}

let csrfToken = null

function metaCsrf() {
  const meta = typeof document !== 'undefined' ? document.querySelector('meta[name="csrf-token"]') : null
  const value = meta?.getAttribute('content')?.trim()
  // An unrendered template placeholder is not a token.
  return value && !value.includes('{{') ? value : null
}

/**
 * The CSRF token: from `<meta name="csrf-token">` when the served page has one, otherwise from
 * `GET /api/csrf`. Cached; `refresh` forces a new look-up.
 */
export async function getCsrfToken({ refresh = false } = {}) {
  if (csrfToken && !refresh) return csrfToken
  const fromMeta = metaCsrf()
  if (fromMeta && !refresh) {
    csrfToken = fromMeta
    return csrfToken
  }
  const res = await fetch(CSRF_URL, {
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
  })
  if (res.status === 401) {
    redirectToLogin()
    throw new ApiError('You are signed out.', { status: 401, code: ErrorCode.UNAUTHENTICATED })
  }
  if (!res.ok) {
    csrfToken = fromMeta
    if (csrfToken) return csrfToken
    throw await errorFromResponse(res)
  }
  const data = await res.json()
  csrfToken = data.csrf_token || data.csrfToken || fromMeta
  return csrfToken
}

/** Forget the cached CSRF token (tests, and after a CSRF rejection). */
export function resetCsrfCache() {
  csrfToken = null
}

/**
 * Reads a non-OK response once and turns its JSON envelope `{error: {code, message}}` into an ApiError.
 *
 * @param {Response} res
 * @returns {Promise<ApiError>}
 */
export async function errorFromResponse(res) {
  let code = null
  let message = ''
  let text = ''
  try {
    text = await res.text()
  } catch {
    /* body unreadable */
  }
  if (text) {
    try {
      const data = JSON.parse(text)
      const err = data?.error ?? data
      if (typeof err === 'object' && err) {
        code = err.code ?? null
        message = err.message ?? ''
      } else if (typeof err === 'string') {
        message = err
      }
    } catch {
      message = ''
    }
  }
  return new ApiError(message || res.statusText || `Request failed (${res.status})`, {
    status: res.status,
    code,
  })
}

/** The web app refused the CSRF token (403 CSRF_FAILED; a 400 from older Flask-WTF setups). */
export function isCsrfRejection(err) {
  return (err?.status === 400 || err?.status === 403) && /csrf/i.test(`${err.code ?? ''} ${err.message ?? ''}`)
}

/**
 * POST with the CSRF header: the one way the builder writes to the web app (JSON calls and the
 * agent's event streams alike). A CSRF rejection is retried once with a fresh token (the server
 * did nothing with the rejected request, so this cannot duplicate anything).
 *
 * @param {string} url
 * @param {object} body
 * @param {{headers?: Record<string,string>, signal?: AbortSignal, accept?: string,
 *   fetch?: typeof fetch, csrfOptional?: boolean}} [options]  `csrfOptional`: send without a token
 *   when none can be had (the server's refusal then says why); `fetch`: another fetch (tests).
 * @returns {Promise<Response>} An OK response; otherwise throws ApiError (or the AbortError).
 */
export async function post(
  url,
  body,
  { headers = {}, signal, accept = 'application/json', fetch: fetchImpl, csrfOptional = false } = {},
) {
  const send = fetchImpl ?? ((...args) => globalThis.fetch(...args))
  for (let attempt = 0; ; attempt++) {
    const csrf = getCsrfToken({ refresh: attempt > 0 })
    const token = csrfOptional ? await csrf.catch(() => null) : await csrf
    let res
    try {
      res = await send(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: {
          'Content-Type': 'application/json',
          Accept: accept,
          ...(token ? { 'X-CSRFToken': token } : {}),
          ...headers,
        },
        body: JSON.stringify(body),
        signal,
      })
    } catch (cause) {
      if (cause?.name === 'AbortError') throw cause
      throw new ApiError('The network request failed.', { code: ClientErrorCode.NETWORK, kind: 'network', cause })
    }
    if (res.ok) return res
    const err = await errorFromResponse(res)
    if (attempt === 0 && isCsrfRejection(err)) continue
    if (err.status === 401 && !isTokenError(err)) redirectToLogin()
    throw err
  }
}

/** `POST /api/agent/<type>/session` → `{session_id, agent_url, token}`. */
export async function createSession() {
  const res = await post(SESSION_URL, {})
  const data = await res.json()
  if (!data?.session_id || !data?.token) {
    throw new ApiError('The server did not return a session.', { status: res.status, code: ClientErrorCode.BAD_RESPONSE })
  }
  return { session_id: data.session_id, token: data.token, agent_url: data.agent_url || '/api/agent' }
}

/** URL and body of a chat turn. */
export function runRequest(session, prompt, uiContext, files = []) {
  const body = { session_id: session.session_id, token: session.token, action: 'chat', prompt }
  if (uiContext) body.ui_context = uiContext
  if (files?.length) body.files = files.map((f) => ({ file_id: f.file_id }))
  return { url: `${session.agent_url}/run`, body }
}

/**
 * URL, body and headers of an out-of-band action: stop, reset, watch, resume_interrupt, edit, undo, redo.
 *
 * @param {{session_id: string, token: string, agent_url: string}} session
 * @param {'stop'|'reset'|'watch'|'resume_interrupt'|'edit'|'undo'|'redo'} name
 * @param {object} [extra]  e.g. `{last_event_id}` for watch, `{interrupt_id, decision, context}` for resume.
 */
export function actionRequest(session, name, extra = {}) {
  const body = { token: session.token, session_id: session.session_id }
  const headers = {}
  for (const [key, value] of Object.entries(extra)) {
    if (value !== undefined && value !== null && value !== '') body[key] = value
  }
  if (name === 'watch' && body.last_event_id != null) {
    body.last_event_id = Number(body.last_event_id)
    headers['Last-Event-ID'] = String(body.last_event_id)
  }
  return {
    url: `${session.agent_url}/run/${encodeURIComponent(session.session_id)}/${name}`,
    body,
    headers,
  }
}

/**
 * Save the canvas as a playbook. The same idempotency key always returns the first result.
 *
 * @returns {Promise<{playbook_id: string, playbook_id_decoded: number}>}
 */
export async function savePlaybook(playbook, idempotencyKey, sessionId = null) {
  const body = { playbook, idempotency_key: idempotencyKey }
  if (sessionId) body.session_id = sessionId // the audit trail and the playbook record where it came from
  const res = await post(SAVE_URL, body)
  const data = await res.json()
  if (!data?.playbook_id) {
    throw new ApiError('The server did not confirm the save.', { status: res.status, code: ClientErrorCode.BAD_RESPONSE })
  }
  return data
}

/**
 * An approval request as the web app recorded it (desk, status, who may decide), or null when the
 * pause was not recorded as a request (then the person chatting decides, as before).
 */
export async function getApproval(requestId) {
  const res = await fetch(`/api/approvals/${encodeURIComponent(requestId)}`, {
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
  })
  if (res.status === 404) return null
  if (!res.ok) throw await errorFromResponse(res)
  return res.json()
}

/** Decide (or, with `{decision: 'reroute', desk}`, transfer) an approval request through the queue API. */
export async function decideApproval(requestId, body) {
  const res = await post(`/api/approvals/${encodeURIComponent(requestId)}/decision`, body)
  return res.json()
}

/** Where a saved playbook is edited (server-rendered). */
export function playbookUrl(playbookId) {
  return `/playbooks/${encodeURIComponent(playbookId)}`
}

/** Sign out (POST /logout with the CSRF token), then show the login page. */
export async function logout() {
  try {
    await post('/logout', {}, { accept: 'text/html' })
  } finally {
    nav.assign('/login')
  }
}
