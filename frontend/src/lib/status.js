// How a module's build status is shown. The wire has four statuses (pending, building, built,
// failed); a module whose builder was stopped by the person arrives as failed with a "stopped"
// reason, and is shown as stopped rather than as a failure.

const STOPPED = /\bstopp?ed\b|\bcancell?ed\b/i

/** True when a failed module failed only because the build was stopped. */
export function isStopped(module) {
  return module?.status === 'failed' && STOPPED.test(module?.reason ?? '')
}

/** pending | building | built | failed | stopped | partial (pending with some tasks already). */
export function displayStatus(module) {
  if (isStopped(module)) return 'stopped'
  if (module?.status === 'pending' && module?.tasks?.length) return 'partial'
  return module?.status ?? 'pending'
}

/** True for a module status that means its build finished (built, or a future "built_…" variant). */
export function isBuilt(status) {
  return typeof status === 'string' && status.startsWith('built')
}

/**
 * The playbook's overall status, in words that never overstate it: "Ready for review" only when
 * every module is built; a stopped or partly failed build says so.
 *
 * @param {string} phase  empty | outline | building | refinement
 * @param {Array<{status?: string, reason?: string|null, tasks?: unknown[]}>} modules
 * @param {{awaitingApproval?: boolean}} [options]  an approval request is open
 * @returns {{key: string, label: string, tone: 'neutral'|'info'|'busy'|'ok'|'warn'|'error'}}
 */
export function playbookStatus(phase, modules = [], { awaitingApproval = false } = {}) {
  if (phase === 'empty' && modules.length === 0) return { key: 'empty', label: 'New', tone: 'neutral' }
  if (phase === 'building') return { key: 'building', label: 'Building', tone: 'busy' }
  if (awaitingApproval) return { key: 'approval', label: 'Waiting for your approval', tone: 'warn' }
  const shown = modules.map(displayStatus)
  const total = shown.length
  const built = shown.filter(isBuilt).length
  const failed = shown.filter((s) => s === 'failed').length
  const stopped = shown.filter((s) => s === 'stopped' || s === 'partial').length
  if (total > 0 && built === total) return { key: 'ready', label: 'Ready for review', tone: 'ok' }
  if (failed > 0) {
    return built > 0
      ? { key: 'partial', label: `Partly built · ${failed} failed`, tone: 'error' }
      : { key: 'failed', label: 'Build failed', tone: 'error' }
  }
  if (stopped > 0) return { key: 'stopped', label: 'Stopped · partly built', tone: 'warn' }
  if (built > 0) return { key: 'partial', label: `Partly built · ${built} of ${total}`, tone: 'warn' }
  return { key: 'outline', label: 'Outline', tone: 'info' }
}

import { runtimeDown } from './errors.js'

// Error codes meaning the assistant cannot be reached at all (network, proxy, runtime down).
const UNREACHABLE = new Set(['NETWORK', 'RUNTIME_UNAVAILABLE', 'RUNTIME_UNREACHABLE', 'UPSTREAM_FAILED'])

/** True when an error says the assistant could not be reached (not a refusal of one request). */
export function isUnreachable(err) {
  if (!err) return false
  if (UNREACHABLE.has(err.code)) return true
  if (err.kind === 'network' && err.code !== 'STREAM_INTERRUPTED') return true
  return [502, 503, 504].includes(err.status)
}

/**
 * What the assistant is doing, for the status line next to its name (and the phone's status bar).
 *
 * @param {{online?: boolean, stopping?: boolean, running?: boolean, building?: boolean,
 *   progress?: {built: number, total: number}, lastError?: object|null}} state
 * @returns {{tone: 'ready'|'busy'|'build'|'offline'|'down', text: string}}
 */
export function assistantStatus(state) {
  if (state.online === false) return { tone: 'offline', text: 'Offline' }
  if (state.stopping) return { tone: 'busy', text: 'Stopping…' }
  if (state.running) return { tone: 'busy', text: 'Thinking…' }
  if (state.building) {
    const { built = 0, total = 0 } = state.progress ?? {}
    return { tone: 'build', text: total ? `Building · ${built} of ${total}` : 'Building…' }
  }
  // The status line agrees with the chat: after "the assistant is restarting", not a green Ready.
  const down = runtimeDown(state.lastError?.code)
  if (down === 'restarting') return { tone: 'down', text: 'Assistant restarting' }
  if (down === 'unreachable') return { tone: 'down', text: 'Assistant unreachable' }
  if (isUnreachable(state.lastError)) return { tone: 'down', text: "Can't reach the assistant" }
  return { tone: 'ready', text: 'Ready' }
}
