// A fake web app for tests: routes fetch calls, records them, and lets a test hold a stream open.
import { vi } from 'vitest'
import { jsonResponse, sseResponse } from './sse.js'

export function openStream() {
  const enc = new TextEncoder()
  let ctrl
  const body = new ReadableStream({
    start(c) {
      ctrl = c
    },
  })
  return {
    response: new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }),
    send: (text) => ctrl.enqueue(enc.encode(text)),
    close: () => ctrl.close(),
    fail: (err) => ctrl.error(err),
    bindAbort(signal) {
      signal?.addEventListener('abort', () => {
        try {
          ctrl.error(new DOMException('aborted', 'AbortError'))
        } catch {
          /* closed */
        }
      })
    },
  }
}

/**
 * @param {Record<string, (init: RequestInit, body: any, call: object) => Response|Promise<Response>>} routes
 *   keyed by "METHOD path" or a path suffix such as "/watch".
 */
export function installFakeServer(routes) {
  const calls = []
  const fn = vi.fn(async (url, init = {}) => {
    const method = init.method ?? 'GET'
    const body = init.body ? JSON.parse(init.body) : undefined
    const call = { url, method, body, headers: init.headers ?? {} }
    calls.push(call)
    if (url === '/api/csrf') return jsonResponse(200, { csrf_token: 'csrf-1' })
    const key = `${method} ${url}`
    const handler =
      routes[key] ?? Object.entries(routes).find(([k]) => !k.includes(' ') && url.endsWith(k))?.[1]
    if (!handler) return jsonResponse(404, { error: { code: 'NOT_FOUND', message: `no route ${key}` } })
    return handler(init, body, call)
  })
  vi.stubGlobal('fetch', fn)
  return { calls, fetch: fn, callsTo: (suffix) => calls.filter((c) => c.url.endsWith(suffix)) }
}

export const SESSION = {
  session_id: '0f8fad5b-d9cb-469f-a165-70867728950e',
  token: 'signed.token',
  agent_url: '/api/agent',
}

export function sessionRoute() {
  return () => jsonResponse(200, SESSION)
}

export { jsonResponse, sseResponse }
