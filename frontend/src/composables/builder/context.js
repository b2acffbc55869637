// What the builder's features share: their collaborators and the page's run state. useBuilder
// makes one; each feature (chat, watch, stop and reset, approvals, save, reload) reads and
// updates it.

/**
 * @typedef {object} BuilderContext
 * @property {typeof import('../../api/agent.js')} api
 * @property {ReturnType<typeof import('../useAgentSse.js').useAgentSse>} sse
 * @property {ReturnType<typeof import('../../stores/playbookBuilder.js').usePlaybookBuilderStore>} store
 * @property {ReturnType<typeof import('../../stores/canvasFocus.js').useCanvasFocusStore>|null} focus  The canvas selection.
 * @property {typeof import('../../lib/storage.js')} saved  This tab's storage (what a reload needs).
 * @property {(url: string) => void} navigate
 * @property {(ms: number) => Promise<void>} sleep
 * @property {() => number} now
 * @property {{session_id: string, token: string, agent_url: string}|null} session
 * @property {{chat: object|null, watch: object|null, resume: object|null}} handles  Open runs.
 * @property {number} generation  Bumps on reset and sign-out, so late callbacks of an old session are ignored.
 * @property {boolean} stopNoticeShown
 * @property {number} watchRetries
 */

/** @returns {BuilderContext} */
export function createBuilderContext({ api, sse, store, focus = null, saved, navigate, sleep, now }) {
  return {
    api,
    sse,
    store,
    focus,
    saved,
    navigate,
    sleep,
    now,
    session: null,
    handles: { chat: null, watch: null, resume: null },
    generation: 0,
    stopNoticeShown: false,
    watchRetries: 0,
  }
}

/** A check that the context is still on the generation it was when called. */
export function liveCheck(ctx) {
  const gen = ctx.generation
  return () => gen === ctx.generation
}
