// The composer's attachments: each file is checked (type by name, size, count, total) before it is
// uploaded, uploads at once with progress, and can be removed (an upload in flight is aborted).
// `take()` hands the ready files to a message and empties the tray; nothing is lost on a refusal.
import { computed, ref } from 'vue'
import { refusalFor, uploadFile } from '../api/files.js'

let counter = 0

export function useAttachments({ upload = uploadFile } = {}) {
  /** @type {import('vue').Ref<Array<{key: string, name: string, size: number, kind: string|null, status: 'uploading'|'ready'|'error', progress: number, fileId: string|null, mediaType: string|null, error: string|null, abort: AbortController|null}>>} */
  const items = ref([])
  /** Why the last file could not even be added (shown under the tray), or null. */
  const notice = ref(null)

  const uploading = computed(() => items.value.some((i) => i.status === 'uploading'))
  const failed = computed(() => items.value.some((i) => i.status === 'error'))
  const ready = computed(() => items.value.filter((i) => i.status === 'ready'))
  /** A message can be sent with the tray as it is (nothing uploading, nothing refused). */
  const sendable = computed(() => !uploading.value && !failed.value)

  function find(key) {
    return items.value.find((i) => i.key === key)
  }

  /** Adds files (from the picker, a drop or a paste). */
  function add(fileList) {
    notice.value = null
    for (const file of Array.from(fileList || [])) {
      const active = items.value.filter((i) => i.status !== 'error')
      const refusal = refusalFor(file, active)
      if (refusal) {
        notice.value = refusal
        continue
      }
      const key = `att-${++counter}`
      const abort = new AbortController()
      items.value.push({ key, name: file.name, size: file.size, kind: null, status: 'uploading', progress: 0, fileId: null, mediaType: null, error: null, abort })
      upload(file, {
        signal: abort.signal,
        onProgress: (fraction) => {
          const item = find(key)
          if (item) item.progress = fraction
        },
      }).then(
        (stored) => {
          const item = find(key)
          if (!item) return
          Object.assign(item, { status: 'ready', progress: 1, fileId: stored.file_id, mediaType: stored.media_type, abort: null })
        },
        (err) => {
          const item = find(key)
          if (!item || err?.name === 'AbortError') return
          Object.assign(item, { status: 'error', error: err?.message || `“${file.name}” could not be uploaded.`, abort: null })
        },
      )
    }
  }

  /** Removes a file (aborting its upload if it is still in flight). */
  function remove(key) {
    const item = find(key)
    item?.abort?.abort()
    items.value = items.value.filter((i) => i.key !== key)
    notice.value = null
  }

  /** The ready files for a message (`[{file_id}]`, plus what the transcript shows); empties the tray. */
  function take() {
    const files = ready.value.map((i) => ({ file_id: i.fileId, name: i.name, size: i.size, media_type: i.mediaType }))
    items.value = []
    notice.value = null
    return files
  }

  return { items, notice, uploading, failed, ready, sendable, add, remove, take }
}
