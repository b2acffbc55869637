// The builder's state: the canvas (a PlaybookSpec), the conversation, and what is running.
// `applyToolCall` applies every tool on the wire (DESIGN §7, contract.TOOL_ARGS — zero-based
// indices); `applySnapshot` reconciles with the runtime's STATE_SNAPSHOT (the snapshot wins).

import { computed, ref } from 'vue'
import { defineStore } from 'pinia'

export const TOOLS = Object.freeze([
  'set_playbook_outline',
  'update_playbook',
  'add_module',
  'update_module',
  'remove_module',
  'move_module',
  'build_modules',
  'add_tasks',
  'add_task_step',
  'suggest_replies',
])

export const MODULE_STATUSES = Object.freeze(['pending', 'building', 'built', 'failed'])
export const PHASES = Object.freeze(['empty', 'outline', 'building', 'refinement'])

const LIMITS = Object.freeze({ modules: 20, tasks: 30, steps: 20, replies: 4 })

let seq = 0
function localId(prefix) {
  seq += 1
  return `${prefix}-${Date.now().toString(36)}-${seq}`
}

export function newIdempotencyKey() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID()
  return `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}-${Math.random().toString(16).slice(2)}`
}

const str = (v) => (typeof v === 'string' ? v : v == null ? '' : String(v))
const isIndex = (v) => Number.isInteger(v) && v >= 0

function normStep(step) {
  return { title: str(step?.title), description: str(step?.description) }
}

function normTask(task) {
  return {
    title: str(task?.title),
    description: str(task?.description),
    steps: Array.isArray(task?.steps) ? task.steps.map(normStep) : [],
  }
}

function normModule(mod) {
  return {
    title: str(mod?.title),
    description: str(mod?.description),
    status: MODULE_STATUSES.includes(mod?.status) ? mod.status : 'pending',
    reason: mod?.reason ?? null,
    tasks: Array.isArray(mod?.tasks) ? mod.tasks.map(normTask) : [],
  }
}

/** A canvas in the PlaybookSpec shape, whatever came in. */
export function normalizeCanvas(canvas) {
  return {
    title: str(canvas?.title),
    description: str(canvas?.description),
    modules: Array.isArray(canvas?.modules) ? canvas.modules.map(normModule) : [],
  }
}

export function emptyCanvas() {
  return { title: '', description: '', modules: [] }
}

export const usePlaybookBuilderStore = defineStore('playbookBuilder', () => {
  // ---- canvas -------------------------------------------------------------------------------
  const canvas = ref(emptyCanvas())
  const phase = ref('empty')
  /** The runtime's canvas version from the last snapshot applied (null before any). */
  const version = ref(null)
  /** A local change counter: bumps on every change to the canvas, whatever its source. */
  const revision = ref(0)
  const progress = ref(null) // {built, failed, total} from build.progress
  const lastReconcile = ref(null) // {version, differed, eventId}

  // Duplicate / out-of-order protection. Not reactive: bookkeeping only.
  let appliedToolCalls = new Set()
  let snapshotEventId = null
  let pendingSteps = [] // add_task_step that arrived before its task
  const subagentModules = new Map() // subagentRunId → module_index

  // ---- conversation -------------------------------------------------------------------------
  const messages = ref([]) // {id, role: user|assistant|notice|error, text, streaming?, error?, retry?}
  const suggestions = ref([])
  const interrupts = ref([]) // {id, reason, message, expiresAt, state: pending|sending|answered|expired, decision?}
  const activeAgent = ref(null)

  // ---- activity -----------------------------------------------------------------------------
  const chatRunning = ref(false)
  const watching = ref(false)
  const resuming = ref(false)
  const stopping = ref(false)
  const lastEventId = ref(null) // the highest SSE id seen on any stream
  /** Where a `watch` resumes: a build-log position up to which the canvas here is complete. */
  const resumeId = ref(null)
  const banner = ref(null) // a page-level problem: {title, message, action}

  // ---- save ---------------------------------------------------------------------------------
  const save = ref({ status: 'idle', error: null, key: null, keyRevision: null, savedRevision: null, playbookId: null })

  // ---- getters ------------------------------------------------------------------------------
  const modules = computed(() => canvas.value.modules)
  const hasCanvas = computed(() => canvas.value.modules.length > 0)
  const isBuilding = computed(() => phase.value === 'building')
  const busy = computed(() => chatRunning.value || watching.value || resuming.value)
  const canStop = computed(() => busy.value || isBuilding.value)
  const taskCount = computed(() => canvas.value.modules.reduce((n, m) => n + m.tasks.length, 0))
  const stepCount = computed(() =>
    canvas.value.modules.reduce((n, m) => n + m.tasks.reduce((k, t) => k + t.steps.length, 0), 0),
  )
  const buildProgress = computed(() => {
    const mods = canvas.value.modules
    const derived = {
      built: mods.filter((m) => m.status === 'built').length,
      failed: mods.filter((m) => m.status === 'failed').length,
      total: mods.length,
    }
    const p = progress.value
    if (!p || !p.total) return derived
    return {
      built: Math.max(p.built ?? 0, 0),
      failed: Math.max(p.failed ?? 0, 0),
      total: p.total,
    }
  })
  const unsaved = computed(() => hasCanvas.value && save.value.savedRevision !== revision.value)
  const canSave = computed(
    () => hasCanvas.value && !isBuilding.value && save.value.status !== 'saving' && !chatRunning.value,
  )
  const pendingInterrupts = computed(() => interrupts.value.filter((i) => i.state === 'pending' || i.state === 'sending'))

  function changed() {
    revision.value += 1
  }

  function moduleAt(index) {
    return isIndex(index) ? canvas.value.modules[index] : undefined
  }

  function flushPendingSteps() {
    if (pendingSteps.length === 0) return
    const still = []
    for (const item of pendingSteps) {
      const task = moduleAt(item.module_index)?.tasks[item.task_index]
      if (task && task.steps.length < LIMITS.steps) task.steps.push(normStep(item.step))
      else still.push(item)
    }
    pendingSteps = still
  }

  const handlers = {
    set_playbook_outline(args) {
      if (!Array.isArray(args.modules)) return false
      canvas.value = {
        title: str(args.title),
        description: str(args.description),
        modules: args.modules.slice(0, LIMITS.modules).map((m) => normModule({ title: m.title, description: m.description })),
      }
      if (phase.value === 'empty' || phase.value === 'refinement' || phase.value === 'outline') phase.value = 'outline'
      progress.value = null
      pendingSteps = []
      return true
    },
    update_playbook(args) {
      if (args.title == null && args.description == null) return false
      if (args.title != null) canvas.value.title = str(args.title)
      if (args.description != null) canvas.value.description = str(args.description)
      return true
    },
    add_module(args) {
      const mods = canvas.value.modules
      if (mods.length >= LIMITS.modules || !args.title) return false
      const at = isIndex(args.position) ? Math.min(args.position, mods.length) : mods.length
      mods.splice(at, 0, normModule({ title: args.title, description: args.description }))
      if (phase.value === 'empty') phase.value = 'outline'
      return true
    },
    update_module(args) {
      const mod = moduleAt(args.module_index)
      if (!mod) return false
      if (args.title != null) mod.title = str(args.title)
      if (args.description != null) mod.description = str(args.description)
      return true
    },
    remove_module(args) {
      if (!moduleAt(args.module_index)) return false
      canvas.value.modules.splice(args.module_index, 1)
      return true
    },
    move_module(args) {
      const mods = canvas.value.modules
      if (!moduleAt(args.from_index) || !isIndex(args.to_index)) return false
      const to = Math.min(args.to_index, mods.length - 1)
      const [mod] = mods.splice(args.from_index, 1)
      mods.splice(to, 0, mod)
      return true
    },
    build_modules(args) {
      const mods = canvas.value.modules
      if (mods.length === 0) return false
      const targets = Array.isArray(args.module_indices)
        ? [...new Set(args.module_indices)].filter((i) => moduleAt(i))
        : mods.map((m, i) => (m.status === 'built' ? -1 : i)).filter((i) => i >= 0)
      for (const i of targets) {
        mods[i].status = 'pending'
        mods[i].reason = null
      }
      phase.value = 'building'
      progress.value = { built: 0, failed: 0, total: targets.length }
      return true
    },
    add_tasks(args) {
      const mod = moduleAt(args.module_index)
      if (!mod || !Array.isArray(args.tasks)) return false
      const room = LIMITS.tasks - mod.tasks.length
      if (room <= 0) return false
      mod.tasks.push(...args.tasks.slice(0, room).map(normTask))
      if (mod.status === 'pending') mod.status = 'building'
      flushPendingSteps()
      return true
    },
    add_task_step(args) {
      const mod = moduleAt(args.module_index)
      if (!mod || !isIndex(args.task_index) || !args.step) return false
      const task = mod.tasks[args.task_index]
      if (!task) {
        // Arrived before its task (out of order): hold it until add_tasks brings the task.
        pendingSteps.push({ module_index: args.module_index, task_index: args.task_index, step: args.step })
        return false
      }
      if (task.steps.length >= LIMITS.steps) return false
      task.steps.push(normStep(args.step))
      if (mod.status === 'pending') mod.status = 'building'
      return true
    },
    suggest_replies(args) {
      if (!Array.isArray(args.replies)) return false
      suggestions.value = args.replies
        .filter((r) => typeof r === 'string' && r.trim())
        .slice(0, LIMITS.replies)
      return true
    },
  }

  /**
   * Applies one tool call to the canvas.
   *
   * @param {string} tool  A tool name on the wire.
   * @param {object} args  Its arguments (contract.TOOL_ARGS shapes).
   * @param {{toolCallId?: string, eventId?: number|null}} [meta]
   * @returns {boolean} Whether anything changed.
   */
  function applyToolCall(tool, args, meta = {}) {
    const handler = handlers[tool]
    if (!handler) {
      console.warn(`[playbookBuilder] unknown tool ${tool}`)
      return false
    }
    const { toolCallId, eventId } = meta
    if (toolCallId && appliedToolCalls.has(toolCallId)) return false
    // A snapshot already contains every change sequenced before it (ids are one per-session sequence
    // across all streams, so a watch that replays from before a chat turn's snapshot is caught here).
    if (eventId != null && snapshotEventId != null && eventId <= snapshotEventId) return false
    if (toolCallId) appliedToolCalls.add(toolCallId)
    const ok = handler(args && typeof args === 'object' ? args : {})
    if (ok && tool !== 'suggest_replies') changed()
    return ok
  }

  /**
   * Reconciles with a STATE_SNAPSHOT `{phase, canvas, version}`: the snapshot wins. An older
   * version than the one already applied is ignored; a newer one that differs from the local
   * canvas means something was missed (a gap) and is repaired by taking the snapshot whole.
   *
   * @returns {{applied: boolean, stale?: boolean, differed?: boolean}}
   */
  function applySnapshot(snapshot, meta = {}) {
    if (!snapshot || typeof snapshot !== 'object') return { applied: false }
    const v = Number.isFinite(snapshot.version) ? snapshot.version : null
    // `force`: the current truth (a watch's opening snapshot), whatever was shown before.
    if (!meta.force) {
      if (v != null && version.value != null && v < version.value) return { applied: false, stale: true }
      if (meta.eventId != null && snapshotEventId != null && meta.eventId < snapshotEventId) {
        return { applied: false, stale: true }
      }
    }
    let differed = false
    if (snapshot.canvas) {
      const next = normalizeCanvas(snapshot.canvas)
      differed = JSON.stringify(next) !== JSON.stringify(canvas.value)
      if (differed) {
        canvas.value = next
        changed()
      }
    }
    if (PHASES.includes(snapshot.phase)) {
      if (phase.value !== snapshot.phase && snapshot.phase !== 'building') progress.value = null
      phase.value = snapshot.phase
    }
    if (v != null) version.value = v
    if (meta.eventId != null) snapshotEventId = Math.max(snapshotEventId ?? meta.eventId, meta.eventId)
    pendingSteps = []
    lastReconcile.value = { version: v, differed, eventId: meta.eventId ?? null }
    return { applied: true, differed }
  }

  function setProgress(value) {
    if (!value || typeof value !== 'object') return
    const total = Number(value.total)
    if (!Number.isFinite(total)) return
    progress.value = { built: Number(value.built) || 0, failed: Number(value.failed) || 0, total }
  }

  function setModuleStatus(index, status, reason = null) {
    const mod = moduleAt(index)
    if (!mod || !MODULE_STATUSES.includes(status)) return false
    if (mod.status === status && (mod.reason ?? null) === (reason ?? null)) return false
    mod.status = status
    mod.reason = status === 'failed' ? reason ?? null : null
    changed()
    return true
  }

  function moduleIndexOf(event) {
    const idx = event?.metadata?.module_index ?? event?.module_index
    if (isIndex(idx)) return idx
    const known = subagentModules.get(event?.subagentRunId)
    return isIndex(known) ? known : null
  }

  /** SUBAGENT_STARTED / FINISHED / ERROR: a module builder's life (module from metadata.module_index). */
  function applySubagent(kind, event) {
    const idx = moduleIndexOf(event)
    if (idx == null) return false
    if (event?.subagentRunId) subagentModules.set(event.subagentRunId, idx)
    if (kind === 'started') return setModuleStatus(idx, 'building')
    if (kind === 'finished') {
      if (event.outcome?.type === 'suspended') return false
      return moduleAt(idx)?.status === 'failed' ? false : setModuleStatus(idx, 'built')
    }
    if (kind === 'error') return setModuleStatus(idx, 'failed', event.message || 'The module could not be built.')
    return false
  }

  // ---- conversation -------------------------------------------------------------------------

  function addUserMessage(text, files = []) {
    const msg = { id: localId('user'), role: 'user', text }
    if (files?.length) msg.files = files.map((f) => ({ name: f.name, size: f.size, media_type: f.media_type }))
    messages.value.push(msg)
    suggestions.value = []
    return msg
  }

  function startAssistantMessage(messageId) {
    const id = messageId || localId('assistant')
    let msg = messages.value.find((m) => m.id === id)
    if (!msg) {
      msg = { id, role: 'assistant', text: '', streaming: true }
      messages.value.push(msg)
    } else {
      msg.streaming = true
    }
    return msg
  }

  function appendAssistantText(messageId, delta) {
    const id = messageId || [...messages.value].reverse().find((m) => m.role === 'assistant' && m.streaming)?.id
    const msg = startAssistantMessage(id)
    msg.text += delta
  }

  function endAssistantMessage(messageId) {
    const msg = messageId
      ? messages.value.find((m) => m.id === messageId)
      : [...messages.value].reverse().find((m) => m.role === 'assistant' && m.streaming)
    if (msg) msg.streaming = false
  }

  function endAllStreaming() {
    for (const m of messages.value) if (m.streaming) m.streaming = false
  }

  function addNotice(text, tone = 'info') {
    const msg = { id: localId('notice'), role: 'notice', text, tone }
    messages.value.push(msg)
    return msg
  }

  function addError(error) {
    const msg = { id: localId('error'), role: 'error', text: error.message, error }
    messages.value.push(msg)
    return msg
  }

  function removeMessage(id) {
    messages.value = messages.value.filter((m) => m.id !== id)
  }

  // ---- interrupts ---------------------------------------------------------------------------

  /** Adds approval requests; each also takes its place in the conversation. */
  function addInterrupts(list) {
    for (const it of list ?? []) {
      if (!it?.id || interrupts.value.some((i) => i.id === it.id)) continue
      if (!messages.value.some((m) => m.role === 'approval' && m.interruptId === it.id)) {
        messages.value.push({ id: `approval-${it.id}`, role: 'approval', interruptId: it.id, text: '' })
      }
      interrupts.value.push({
        id: it.id,
        reason: it.reason ?? '',
        message: it.message ?? '',
        expiresAt: it.expiresAt ?? null,
        metadata: it.metadata ?? {},
        state: 'pending',
        decision: null,
        error: null,
      })
    }
  }

  function updateInterrupt(id, patch) {
    const it = interrupts.value.find((i) => i.id === id)
    if (it) Object.assign(it, patch)
    return it
  }

  // ---- save ---------------------------------------------------------------------------------

  /** The idempotency key for the canvas as it is now: one per revision, so a retry reuses it. */
  function idempotencyKey() {
    if (save.value.key && save.value.keyRevision === revision.value) return save.value.key
    save.value.key = newIdempotencyKey()
    save.value.keyRevision = revision.value
    return save.value.key
  }

  /** The canvas as a PlaybookSpec for `/agent/save-playbook`. */
  function playbookForSave() {
    const c = canvas.value
    return {
      title: c.title.trim() || 'Untitled playbook',
      description: c.description,
      modules: c.modules.map((m) => ({
        title: m.title,
        description: m.description,
        status: m.status,
        ...(m.reason ? { reason: m.reason } : {}),
        tasks: m.tasks.map((t) => ({
          title: t.title,
          description: t.description,
          steps: t.steps.map((s) => ({ title: s.title, description: s.description })),
        })),
      })),
    }
  }

  function noteEventId(id) {
    if (id == null) return
    if (lastEventId.value == null || id > lastEventId.value) lastEventId.value = id
  }

  /** Puts back a canvas saved before a reload (the runtime's watch then brings it up to date). */
  function restore(saved) {
    if (!saved?.canvas) return
    canvas.value = normalizeCanvas(saved.canvas)
    if (PHASES.includes(saved.phase)) phase.value = saved.phase
    version.value = Number.isFinite(saved.version) ? saved.version : null
    progress.value = saved.progress ?? null
    if (saved.savedRevision === 'current') save.value.savedRevision = revision.value
  }

  /** The canvas part that survives a reload. */
  function canvasState() {
    return {
      canvas: canvas.value,
      phase: phase.value,
      version: version.value,
      progress: progress.value,
      savedRevision: save.value.savedRevision === revision.value && hasCanvas.value ? 'current' : null,
    }
  }

  /** Back to an empty builder (a new playbook). */
  function resetAll() {
    canvas.value = emptyCanvas()
    phase.value = 'empty'
    version.value = null
    revision.value = 0
    progress.value = null
    lastReconcile.value = null
    appliedToolCalls = new Set()
    snapshotEventId = null
    pendingSteps = []
    messages.value = []
    suggestions.value = []
    interrupts.value = []
    activeAgent.value = null
    chatRunning.value = false
    watching.value = false
    resuming.value = false
    stopping.value = false
    lastEventId.value = null
    resumeId.value = null
    banner.value = null
    save.value = { status: 'idle', error: null, key: null, keyRevision: null, savedRevision: null, playbookId: null }
  }

  return {
    // state
    canvas,
    phase,
    version,
    revision,
    progress,
    lastReconcile,
    messages,
    suggestions,
    interrupts,
    activeAgent,
    chatRunning,
    watching,
    resuming,
    stopping,
    lastEventId,
    resumeId,
    banner,
    save,
    // getters
    modules,
    hasCanvas,
    isBuilding,
    busy,
    canStop,
    taskCount,
    stepCount,
    buildProgress,
    unsaved,
    canSave,
    pendingInterrupts,
    // actions
    applyToolCall,
    applySnapshot,
    setProgress,
    setModuleStatus,
    applySubagent,
    addUserMessage,
    startAssistantMessage,
    appendAssistantText,
    endAssistantMessage,
    endAllStreaming,
    addNotice,
    addError,
    removeMessage,
    addInterrupts,
    updateInterrupt,
    idempotencyKey,
    playbookForSave,
    noteEventId,
    restore,
    canvasState,
    resetAll,
  }
})
