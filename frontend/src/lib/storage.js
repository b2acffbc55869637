// What survives a reload (sessionStorage: this tab only, gone when the tab closes).
//
// Everything is kept per signed-in user: the builder page carries an opaque storage key for the
// user (and their current login) in <meta name="pb-storage-key">, and every entry is stored under
// it. Entries of anyone else — another person who used this tab, or this person before they
// signed out — are removed before anything is read, so one user's session token, conversation
// and canvas never reach the next. Sign-out removes every entry (and the server's answer to it
// carries Clear-Site-Data as well).

export const PREFIX = 'playbookBuilder.'
export const SESSION_KEY = 'playbookBuilder.session' // {session_id, token, agent_url, lastEventId, resumable, user}
export const TRANSCRIPT_KEY = 'playbookBuilder.transcript' // {messages, suggestions, interrupts}
export const CANVAS_KEY = 'playbookBuilder.canvas' // {canvas, phase, version, progress, history, savedRevision}
export const USER_META = 'pb-storage-key'

function store() {
  try {
    return window.sessionStorage
  } catch {
    return null
  }
}

/** The signed-in user's storage key from the page ('' when the page has none, e.g. in unit tests). */
export function userKey() {
  try {
    return document.querySelector(`meta[name="${USER_META}"]`)?.getAttribute('content') || ''
  } catch {
    return ''
  }
}

function keyFor(base) {
  const user = userKey()
  return user ? `${base}.${user}` : base
}

function builderKeys() {
  const s = store()
  if (!s) return []
  const keys = []
  for (let i = 0; i < s.length; i += 1) {
    const k = s.key(i)
    if (k && k.startsWith(PREFIX)) keys.push(k)
  }
  return keys
}

/** Removes every entry that is not the signed-in user's (another user's, or from before a sign-out). */
export function discardOtherUsers() {
  const user = userKey()
  if (!user) return
  try {
    for (const k of builderKeys()) {
      if (!k.endsWith(`.${user}`)) store()?.removeItem(k)
    }
  } catch {
    /* nothing to discard */
  }
}

function read(key) {
  try {
    discardOtherUsers()
    const raw = store()?.getItem(keyFor(key))
    return raw ? JSON.parse(raw) : null
  } catch {
    return null
  }
}

function write(key, value) {
  try {
    store()?.setItem(keyFor(key), JSON.stringify(value))
  } catch {
    /* storage full or disabled: the page still works, it just cannot re-attach after a reload */
  }
}

export function loadSession() {
  const s = read(SESSION_KEY)
  if (!s?.session_id || !s?.token) return null
  const user = userKey()
  if (user && s.user !== user) {
    // Not this user's token: forget it and everything stored with it.
    clearSaved()
    return null
  }
  return s
}

export function saveSession(session) {
  const user = userKey()
  write(SESSION_KEY, user ? { ...session, user } : session)
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

/** Forgets everything the builder kept in this tab, for every user (new playbook, sign-out). */
export function clearSaved() {
  try {
    for (const k of builderKeys()) store()?.removeItem(k)
  } catch {
    /* nothing to clear */
  }
}
