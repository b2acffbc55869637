// Saving the canvas as a playbook, then opening it in the editor. A retry of the same canvas
// reuses its idempotency key, so it never saves twice.

import { explainError } from '../../lib/errors.js'

/**
 * @param {import('./context.js').BuilderContext} ctx
 * @param {{persist: () => void}} reload
 */
export function useSaveAction(ctx, reload) {
  const { api, store, navigate } = ctx

  /** Saves the canvas; a retry of the same canvas reuses its idempotency key. */
  async function save() {
    if (!store.canSave) return null
    const revision = store.revision
    const key = store.idempotencyKey()
    store.save.status = 'saving'
    store.save.error = null
    try {
      const data = await api.savePlaybook(store.playbookForSave(), key, ctx.session?.session_id)
      store.save.status = 'saved'
      store.save.savedRevision = revision
      store.save.playbookId = data.playbook_id
      reload.persist()
      navigate(api.playbookUrl(data.playbook_id))
      return data
    } catch (err) {
      store.save.status = 'error'
      store.save.error = { ...explainError(err), code: err?.code ?? null }
      return null
    }
  }

  return { save }
}
