// Attachments: `POST /api/files` (multipart, cookie + CSRF) with upload progress, and the limits the
// composer checks before anything is sent (the web app checks them again, by content).
import { ApiError, getCsrfToken, redirectToLogin } from './agent.js'

export const FILES_URL = '/api/files'

/** The composer's limits (the web app's defaults: ATTACH_MAX_FILES, ATTACH_MAX_FILE_BYTES, ATTACH_MAX_TURN_BYTES). */
export const ATTACH_LIMITS = Object.freeze({
  maxFiles: 5,
  maxFileBytes: 10 * 1024 * 1024,
  maxTurnBytes: 25 * 1024 * 1024,
})

/** What can be attached: extension → label. */
export const ACCEPTED = Object.freeze({
  '.pdf': 'PDF',
  '.docx': 'Word',
  '.xlsx': 'Excel',
  '.csv': 'CSV',
  '.md': 'Markdown',
  '.markdown': 'Markdown',
  '.txt': 'Text',
  '.text': 'Text',
  '.html': 'HTML',
  '.htm': 'HTML',
})

export const ACCEPT_ATTRIBUTE = Object.keys(ACCEPTED).join(',')

/** The label of a file's type by its name ("PDF", "Word", …), or null when it can't be attached. */
export function fileKind(name) {
  const match = /\.[^.]+$/.exec(String(name || '').toLowerCase())
  return (match && ACCEPTED[match[0]]) || null
}

/** "1.2 MB", "830 KB", "12 bytes". */
export function formatSize(bytes) {
  if (bytes >= 1024 * 1024) return `${Number((bytes / (1024 * 1024)).toFixed(1))} MB`
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`
  return `${bytes} bytes`
}

/**
 * Why a file can't be added to this message (checked before uploading), or null.
 *
 * @param {{name: string, size: number}} file
 * @param {Array<{size: number}>} already  The files already attached to this message.
 */
export function refusalFor(file, already = []) {
  const name = file?.name || 'the file'
  if (already.length >= ATTACH_LIMITS.maxFiles) return `Attach at most ${ATTACH_LIMITS.maxFiles} files to one message.`
  if (!fileKind(name)) return `“${name}” can't be attached: use a PDF, Word (.docx), Excel (.xlsx), CSV, Markdown, text or HTML file.`
  if (!file.size) return `“${name}” is empty.`
  if (file.size > ATTACH_LIMITS.maxFileBytes) return `“${name}” is ${formatSize(file.size)}; the limit is ${formatSize(ATTACH_LIMITS.maxFileBytes)} per file.`
  const total = already.reduce((sum, f) => sum + (f.size || 0), 0) + file.size
  if (total > ATTACH_LIMITS.maxTurnBytes) return `These files together are ${formatSize(total)}; the limit is ${formatSize(ATTACH_LIMITS.maxTurnBytes)} per message.`
  return null
}

/**
 * Upload one file. Resolves `{file_id, name, media_type, size}`; rejects with an ApiError whose
 * message names the file and says why (the server's message when it refused the file).
 *
 * @param {File} file
 * @param {{onProgress?: (fraction: number) => void, signal?: AbortSignal}} [options]
 */
export async function uploadFile(file, { onProgress, signal } = {}) {
  const token = await getCsrfToken()
  const form = new FormData()
  form.append('file', file, file.name)
  return new Promise((resolve, reject) => {
    // XMLHttpRequest: fetch() reports no upload progress.
    const xhr = new XMLHttpRequest()
    xhr.open('POST', FILES_URL)
    xhr.withCredentials = true
    xhr.setRequestHeader('X-CSRFToken', token)
    xhr.setRequestHeader('Accept', 'application/json')
    xhr.responseType = 'json'
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total)
    }
    xhr.onload = () => {
      const data = xhr.response
      if (xhr.status === 201 && data?.file_id) return resolve(data)
      if (xhr.status === 401) redirectToLogin()
      const message = data?.error?.message || `“${file.name}” could not be uploaded (HTTP ${xhr.status}).`
      reject(new ApiError(message, { status: xhr.status, code: data?.error?.code || 'UPLOAD_FAILED' }))
    }
    xhr.onerror = () => reject(new ApiError(`“${file.name}” could not be uploaded: the network request failed.`, { code: 'NETWORK', kind: 'network' }))
    xhr.onabort = () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))
    signal?.addEventListener('abort', () => xhr.abort(), { once: true })
    xhr.send(form)
  })
}
