// What survives a reload (sessionStorage: this tab only, gone when the tab closes).

export const SESSION_KEY = 'playbookBuilder.session' // {session_id, token, agent_url, lastEventId, resumable}
export const TRANSCRIPT_KEY = 'playbookBuilder.transcript' // {messages, suggestions, interrupts}
export const CANVAS_KEY = 'playbookBuilder.canvas' // {canvas, phase, version, progress, savedRevision}

function store() {
  try {
    return window.sessionStorage
  } catch {
    return null
  }
}

function read(key) {
  try {
    const raw = store()?.getItem(key)
    return raw ? JSON.parse(raw) : null
  } catch {
    return null
  }
}

function write(key, value) {
  try {
    store()?.setItem(key, JSON.stringify(value))
  } catch {
    /* storage full or disabled: the page still works, it just cannot re-attach after a reload */
  }
}

export function loadSession() {
  const s = read(SESSION_KEY)
  return s?.session_id && s?.token ? s : null
}

export function saveSession(session) {
  write(SESSION_KEY, session)
}

export function loadTranscript() {
  return read(TRANSCRIPT_KEY)
}

export function saveTranscript(transcript) {
  write(TRANSCRIPT_KEY, transcript)
}

export function loadCanvas() {
  return read(CANVAS_KEY)
}

export function saveCanvas(state) {
  write(CANVAS_KEY, state)
}

export function clearSaved() {
  try {
    store()?.removeItem(SESSION_KEY)
    store()?.removeItem(TRANSCRIPT_KEY)
    store()?.removeItem(CANVAS_KEY)
  } catch {
    /* nothing to clear */
  }
}
