// The signed-in user's drafts (issue 11): every builder session the web app keeps for them, newest
// first, as `GET /api/drafts` lists them. A store of its own (not part of playbookBuilder): the
// list is about every session, the builder store about the one on the page.

import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import * as draftsApi from '../../api/drafts.js'
import { explainError } from '../../lib/errors.js'

const PHASE_LABELS = { empty: 'New', outline: 'Outline', building: 'Building', refinement: 'Built' }

/** A draft's phase in words ("Outline", "Building", …); an unknown phase is shown as it is. */
export function phaseLabel(phase) {
  if (!phase) return 'New'
  return PHASE_LABELS[phase] ?? String(phase).replace(/_/g, ' ')
}

/**
 * "just now", "5 min ago", "3 h ago", "yesterday", or the date — from an ISO time.
 *
 * @param {string|null} iso
 * @param {number} [now]  epoch ms (tests)
 */
export function lastChange(iso, now = Date.now()) {
  const at = iso ? Date.parse(iso) : NaN
  if (!Number.isFinite(at)) return ''
  const seconds = Math.max(0, Math.round((now - at) / 1000))
  if (seconds < 60) return 'just now'
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`
  if (seconds < 2 * 86400) return 'yesterday'
  return new Date(at).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' })
}

export const useDraftsStore = defineStore('drafts', () => {
  const drafts = ref([])
  const loading = ref(false)
  const loaded = ref(false)
  const error = ref(null) // {title, message}
  const deleting = ref(null) // the session id being deleted
  /** The api module (tests inject a fake). */
  let api = draftsApi

  const sorted = computed(() =>
    [...drafts.value].sort((a, b) => (Date.parse(b.updated_at ?? '') || 0) - (Date.parse(a.updated_at ?? '') || 0)),
  )

  function useApi(replacement) {
    api = replacement
  }

  async function load() {
    loading.value = true
    error.value = null
    try {
      drafts.value = await api.listDrafts()
      loaded.value = true
    } catch (err) {
      error.value = explainError(err)
    } finally {
      loading.value = false
    }
  }

  /** Deletes a draft (after the person confirmed); it leaves the list once the server agreed. */
  async function remove(sessionId) {
    deleting.value = sessionId
    error.value = null
    try {
      await api.deleteDraft(sessionId)
      drafts.value = drafts.value.filter((d) => d.session_id !== sessionId)
      return true
    } catch (err) {
      error.value = explainError(err)
      return false
    } finally {
      deleting.value = null
    }
  }

  return { drafts, sorted, loading, loaded, error, deleting, useApi, load, remove }
})
