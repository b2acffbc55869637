// The agent session this page talks through, and how problems are shown: in the conversation (a
// message with a way forward) or, for the session itself, in the page's banner.

import { isTokenError } from '../../api/agent.js'
import { explainError } from '../../lib/errors.js'

/**
 * @param {import('./context.js').BuilderContext} ctx
 * @param {{persist: () => void}} reload
 */
export function useSession(ctx, reload) {
  const { api, store, saved } = ctx
  let minting = null // the session request in flight: every caller waits for the same one

  /**
   * The page's session, minted once. The page asks for one on load while the person may already be
   * sending their first message: both must get the same session, or the second message goes to one
   * that never saw the first (and its outline is lost).
   */
  async function ensureSession() {
    if (ctx.session) return ctx.session
    if (!minting) {
      minting = api
        .createSession()
        .then((created) => {
          // A session chosen meanwhile (a draft reopened) stays; the minted one is not used.
          if (!ctx.session) {
            ctx.session = created
            reload.persist()
          }
          return ctx.session
        })
        .finally(() => {
          minting = null
        })
    }
    return minting
  }

  async function replaceSession() {
    ctx.session = null
    saved.clearSaved()
    try {
      await ensureSession()
    } catch (err) {
      showBanner(err, { type: 'session' })
    }
  }

  function showBanner(err, retry) {
    store.banner = { ...explainError(err), code: err?.code ?? null, status: err?.status ?? null, retry }
  }

  function showError(err, retry) {
    const explained = explainError(err)
    if (explained.action === 'login') return // already on the way to the login page
    const msg = store.addError(err)
    Object.assign(msg, {
      title: explained.title,
      text: explained.message,
      action: explained.action,
      retry,
      code: err?.code ?? null,
    })
    if (explained.action === 'new' && isTokenError(err)) {
      // The token is stale; a fresh session lets the next message go through.
      void replaceSession()
    }
  }

  /** Makes sure there is a session; a failure goes to the banner (with a retry). */
  async function openSession() {
    try {
      await ensureSession()
    } catch (err) {
      showBanner(err, { type: 'session' })
    }
  }

  return { ensureSession, openSession, showBanner, showError }
}
