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
