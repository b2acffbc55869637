// How a module's build status is shown. The wire has five statuses (pending, building, built,
// built_with_warnings — built, but the self-check still found problems —, failed); a module whose
// builder was stopped by the person arrives as failed with a "stopped" reason, and is shown as
// stopped rather than as a failure.

const STOPPED = /\bstopp?ed\b|\bcancell?ed\b/i

/** True when a failed module failed only because the build was stopped. */
export function isStopped(module) {
  return module?.status === 'failed' && STOPPED.test(module?.reason ?? '')
}

/** True for a module that finished building (with or without self-check warnings). */
export function isBuilt(module) {
  return module?.status === 'built' || module?.status === 'built_with_warnings'
}

/** pending | building | built | built_with_warnings | failed | stopped | partial (pending with some tasks already). */
export function displayStatus(module) {
  if (isStopped(module)) return 'stopped'
  if (module?.status === 'pending' && module?.tasks?.length) return 'partial'
  return module?.status ?? 'pending'
}
