// Drafts that follow the user (issue 11): the signed-in user's builder sessions, kept by the web
// app, and the two ways to open one in this tab — a draft (a fresh token for the caller's own
// session) or a saved playbook ("Refine with the assistant": a new session whose canvas is it).

import { AGENT_TYPE, ApiError, errorFromResponse, getCsrfToken, isCsrfRejection, post, redirectToLogin } from './agent.js'
import { ClientErrorCode } from '../lib/errors.js'

const SESSION_URL = `/api/agent/${AGENT_TYPE}/session`
const DRAFTS_URL = '/api/drafts'

function session(data, status) {
  if (!data?.session_id || !data?.token) {
    throw new ApiError('The server did not return a session.', { status, code: ClientErrorCode.BAD_RESPONSE })
  }
  return {
    session_id: data.session_id,
    token: data.token,
    agent_url: data.agent_url || '/api/agent',
    ...(data.playbook_id ? { playbook_id: data.playbook_id } : {}),
    ...(Number.isFinite(data.version) ? { version: data.version } : {}),
  }
}

/**
 * `GET /api/drafts` → the caller's drafts, newest first.
 *
 * @returns {Promise<Array<{session_id: string, title: string, phase: string|null, version: number|null,
 *   updated_at: string|null, playbook_id: string|null}>>}
 */
export async function listDrafts({ fetch: fetchImpl } = {}) {
  const send = fetchImpl ?? ((...args) => globalThis.fetch(...args))
  let res
  try {
    res = await send(DRAFTS_URL, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
  } catch (cause) {
    throw new ApiError('The network request failed.', { code: ClientErrorCode.NETWORK, kind: 'network', cause })
  }
  if (res.status === 401) redirectToLogin()
  if (!res.ok) throw await errorFromResponse(res)
  const data = await res.json()
  return Array.isArray(data?.drafts) ? data.drafts : []
}

/** `DELETE /api/drafts/<sid>`: its stored state goes (the audit trail stays). */
export async function deleteDraft(sessionId, { fetch: fetchImpl } = {}) {
  const send = fetchImpl ?? ((...args) => globalThis.fetch(...args))
  for (let attempt = 0; ; attempt++) {
    const token = await getCsrfToken({ refresh: attempt > 0 })
    let res
    try {
      res = await send(`${DRAFTS_URL}/${encodeURIComponent(sessionId)}`, {
        method: 'DELETE',
        credentials: 'same-origin',
        headers: { Accept: 'application/json', ...(token ? { 'X-CSRFToken': token } : {}) },
      })
    } catch (cause) {
      throw new ApiError('The network request failed.', { code: ClientErrorCode.NETWORK, kind: 'network', cause })
    }
    if (res.ok) return res.json()
    const err = await errorFromResponse(res)
    if (attempt === 0 && isCsrfRejection(err)) continue
    if (err.status === 401) redirectToLogin()
    throw err
  }
}

/** A fresh token for one of the caller's drafts (403 for anyone else's). */
export async function reopenDraft(sessionId) {
  const res = await post(SESSION_URL, { session_id: sessionId })
  return session(await res.json(), res.status)
}

/** A new session whose canvas is the caller's saved playbook (404 for another vendor's). */
export async function openPlaybook(playbookId) {
  const res = await post(SESSION_URL, { playbook_id: playbookId })
  return session(await res.json(), res.status)
}
