// The canvas document: a PlaybookSpec, its phase and versions, changed by the tools on the wire
// (DESIGN §7, contract.TOOL_ARGS — zero-based indices) and reconciled with the runtime's
// STATE_SNAPSHOT (the snapshot wins). One part of the playbookBuilder store.

import { computed, ref } from 'vue'
import { Limits, MODULE_STATUSES, ModuleStatus, Phase, PHASES, ToolName } from '../../generated/contract.js'

// Calls the agents make to the playbook library (MCP): streamed like any tool call, nothing to apply.
export const LIBRARY_TOOLS = Object.freeze(['search_playbooks', 'get_playbook', 'list_policies', 'get_policy'])
// The assistant's undo/redo: the canvas they restore arrives as the STATE_SNAPSHOT right after them.
export const HISTORY_TOOLS = Object.freeze([ToolName.UNDO_LAST_CHANGE, ToolName.REDO_LAST_CHANGE])
const NO_HISTORY = Object.freeze({ can_undo: false, can_redo: false })

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
    status: MODULE_STATUSES.includes(mod?.status) ? mod.status : ModuleStatus.PENDING,
    reason: mod?.reason ?? null,
    tasks: Array.isArray(mod?.tasks) ? mod.tasks.map(normTask) : [],
  }
}

/** A canvas from anywhere (the wire, a reload) in the exact shape the store keeps. */
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

/**
 * The canvas part of the store.
 *
 * @param {{suggestions: import('vue').Ref<string[]>}} conversation  `suggest_replies` lands there.
 */
export function useCanvasDocument(conversation) {
  const canvas = ref(emptyCanvas())
  const phase = ref(Phase.EMPTY)
  /** The runtime's canvas version from the last snapshot applied (null before any). */
  const version = ref(null)
  /** A local change counter: bumps on every change to the canvas, whatever its source. */
  const revision = ref(0)
  const progress = ref(null) // {built, failed, total} from build.progress
  /** Whether the runtime can undo / redo (the last snapshot's `history`). */
  const history = ref(NO_HISTORY)
  const lastReconcile = ref(null) // {version, differed, eventId}

  // Duplicate / out-of-order protection. Not reactive: bookkeeping only.
  let appliedToolCalls = new Set()
  let snapshotEventId = null
  let pendingSteps = [] // add_task_step that arrived before its task
  const subagentModules = new Map() // subagentRunId → module_index

  const modules = computed(() => canvas.value.modules)
  const hasCanvas = computed(() => canvas.value.modules.length > 0)
  const isBuilding = computed(() => phase.value === Phase.BUILDING)
  const taskCount = computed(() => canvas.value.modules.reduce((n, m) => n + m.tasks.length, 0))
  const stepCount = computed(() =>
    canvas.value.modules.reduce((n, m) => n + m.tasks.reduce((k, t) => k + t.steps.length, 0), 0),
  )
  const buildProgress = computed(() => {
    const mods = canvas.value.modules
    const derived = {
      built: mods.filter((m) => m.status === ModuleStatus.BUILT || m.status === ModuleStatus.BUILT_WITH_WARNINGS).length,
      failed: mods.filter((m) => m.status === ModuleStatus.FAILED).length,
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
      if (task && task.steps.length < Limits.MAX_STEPS_PER_TASK) task.steps.push(normStep(item.step))
      else still.push(item)
    }
    pendingSteps = still
  }

  const handlers = {
    [ToolName.SET_PLAYBOOK_OUTLINE](args) {
      if (!Array.isArray(args.modules)) return false
      canvas.value = {
        title: str(args.title),
        description: str(args.description),
        modules: args.modules
          .slice(0, Limits.MAX_MODULES)
          .map((m) => normModule({ title: m.title, description: m.description })),
      }
      if ([Phase.EMPTY, Phase.REFINEMENT, Phase.OUTLINE].includes(phase.value)) phase.value = Phase.OUTLINE
      progress.value = null
      pendingSteps = []
      return true
    },
    [ToolName.UPDATE_PLAYBOOK](args) {
      if (args.title == null && args.description == null) return false
      if (args.title != null) canvas.value.title = str(args.title)
      if (args.description != null) canvas.value.description = str(args.description)
      return true
    },
    [ToolName.ADD_MODULE](args) {
      const mods = canvas.value.modules
      if (mods.length >= Limits.MAX_MODULES || !args.title) return false
      const at = isIndex(args.position) ? Math.min(args.position, mods.length) : mods.length
      mods.splice(at, 0, normModule({ title: args.title, description: args.description }))
      if (phase.value === Phase.EMPTY) phase.value = Phase.OUTLINE
      return true
    },
    [ToolName.UPDATE_MODULE](args) {
      const mod = moduleAt(args.module_index)
      if (!mod) return false
      if (args.title != null) mod.title = str(args.title)
      if (args.description != null) mod.description = str(args.description)
      return true
    },
    [ToolName.REMOVE_MODULE](args) {
      if (!moduleAt(args.module_index)) return false
      canvas.value.modules.splice(args.module_index, 1)
      return true
    },
    [ToolName.MOVE_MODULE](args) {
      const mods = canvas.value.modules
      if (!moduleAt(args.from_index) || !isIndex(args.to_index)) return false
      const to = Math.min(args.to_index, mods.length - 1)
      const [mod] = mods.splice(args.from_index, 1)
      mods.splice(to, 0, mod)
      return true
    },
    [ToolName.BUILD_MODULES](args) {
      const mods = canvas.value.modules
      if (mods.length === 0) return false
      const targets = Array.isArray(args.module_indices)
        ? [...new Set(args.module_indices)].filter((i) => moduleAt(i))
        : mods.map((m, i) => (m.status === ModuleStatus.BUILT ? -1 : i)).filter((i) => i >= 0)
      for (const i of targets) {
        mods[i].status = ModuleStatus.PENDING
        mods[i].reason = null
      }
      phase.value = Phase.BUILDING
      progress.value = { built: 0, failed: 0, total: targets.length }
      return true
    },
    [ToolName.ADD_TASKS](args) {
      const mod = moduleAt(args.module_index)
      if (!mod || !Array.isArray(args.tasks)) return false
      const room = Limits.MAX_TASKS_PER_MODULE - mod.tasks.length
      if (room <= 0) return false
      mod.tasks.push(...args.tasks.slice(0, room).map(normTask))
      if (mod.status === ModuleStatus.PENDING) mod.status = ModuleStatus.BUILDING
      flushPendingSteps()
      return true
    },
    [ToolName.ADD_TASK_STEP](args) {
      const mod = moduleAt(args.module_index)
      if (!mod || !isIndex(args.task_index) || !args.step) return false
      const task = mod.tasks[args.task_index]
      if (!task) {
        // Arrived before its task (out of order): hold it until add_tasks brings the task.
        pendingSteps.push({ module_index: args.module_index, task_index: args.task_index, step: args.step })
        return false
      }
      if (task.steps.length >= Limits.MAX_STEPS_PER_TASK) return false
      task.steps.push(normStep(args.step))
      if (mod.status === ModuleStatus.PENDING) mod.status = ModuleStatus.BUILDING
      return true
    },
    [ToolName.SET_MODULE_TASKS](args) {
      // A builder's self-check repair: the module's whole corrected task list.
      const mod = moduleAt(args.module_index)
      if (!mod || !Array.isArray(args.tasks)) return false
      mod.tasks = args.tasks.slice(0, Limits.MAX_TASKS_PER_MODULE).map(normTask)
      pendingSteps = pendingSteps.filter((p) => p.module_index !== args.module_index)
      return true
    },
    [ToolName.UPDATE_TASK](args) {
      const task = moduleAt(args.module_index)?.tasks[args.task_index]
      if (!task || (args.title == null && args.description == null)) return false
      if (args.title != null) task.title = str(args.title)
      if (args.description != null) task.description = str(args.description)
      return true
    },
    [ToolName.REMOVE_TASK](args) {
      const mod = moduleAt(args.module_index)
      if (!mod || !isIndex(args.task_index) || !mod.tasks[args.task_index]) return false
      mod.tasks.splice(args.task_index, 1)
      return true
    },
    [ToolName.SUGGEST_REPLIES](args) {
      if (!Array.isArray(args.replies)) return false
      conversation.suggestions.value = args.replies
        .filter((r) => typeof r === 'string' && r.trim())
        .slice(0, Limits.MAX_SUGGESTED_REPLIES)
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
      if (LIBRARY_TOOLS.includes(tool) || HISTORY_TOOLS.includes(tool)) return false // nothing to apply here
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
    if (ok && tool !== ToolName.SUGGEST_REPLIES) changed()
    return ok
  }

  /**
   * Reconciles with a STATE_SNAPSHOT `{phase, canvas, version}`: the snapshot wins. An older one
   * than the one already applied is ignored; a newer one that differs from the local canvas means
   * something was missed (a gap) and is repaired by taking the snapshot whole.
   *
   * "Older" is by SSE id when both have one (one per-session sequence across streams and runtime
   * restarts), else by version. Versions do not order snapshots across a restart: a version this
   * page saw may never have been stored (the runtime died before its write), so the restarted
   * runtime's next versions can be lower while its ids are higher (issue 9 item 4).
   *
   * @returns {{applied: boolean, stale?: boolean, differed?: boolean}}
   */
  function applySnapshot(snapshot, meta = {}) {
    if (!snapshot || typeof snapshot !== 'object') return { applied: false }
    const v = Number.isFinite(snapshot.version) ? snapshot.version : null
    // `force`: the current truth (a watch's opening snapshot), whatever was shown before.
    if (!meta.force) {
      const byId = meta.eventId != null && snapshotEventId != null
      if (byId && meta.eventId < snapshotEventId) return { applied: false, stale: true }
      if (!byId && v != null && version.value != null && v < version.value) return { applied: false, stale: true }
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
      if (phase.value !== snapshot.phase && snapshot.phase !== Phase.BUILDING) progress.value = null
      phase.value = snapshot.phase
    }
    if (v != null) version.value = v
    if (snapshot.history && typeof snapshot.history === 'object') {
      history.value = { can_undo: snapshot.history.can_undo === true, can_redo: snapshot.history.can_redo === true }
    }
    if (meta.eventId != null) snapshotEventId = Math.max(snapshotEventId ?? meta.eventId, meta.eventId)
    pendingSteps = []
    lastReconcile.value = { version: v, differed, eventId: meta.eventId ?? null, forced: Boolean(meta.force) }
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
    // failed: why; built_with_warnings: the self-check's findings; built: what the self-check repaired.
    mod.reason = status === ModuleStatus.PENDING || status === ModuleStatus.BUILDING ? null : reason ?? null
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
    if (kind === 'started') return setModuleStatus(idx, ModuleStatus.BUILDING)
    if (kind === 'finished') {
      if (event.outcome?.type === 'suspended') return false
      // module.status follows with the final status and its reason: never downgrade to plain built.
      const now = moduleAt(idx)?.status
      if (now === ModuleStatus.FAILED || now === ModuleStatus.BUILT_WITH_WARNINGS) return false
      return setModuleStatus(idx, ModuleStatus.BUILT, moduleAt(idx)?.reason)
    }
    if (kind === 'error') {
      return setModuleStatus(idx, ModuleStatus.FAILED, event.message || 'The module could not be built.')
    }
    return false
  }

  /** Puts back a canvas saved before a reload (the runtime's watch then brings it up to date). */
  function restoreCanvas(saved) {
    canvas.value = normalizeCanvas(saved.canvas)
    if (PHASES.includes(saved.phase)) phase.value = saved.phase
    version.value = Number.isFinite(saved.version) ? saved.version : null
    progress.value = saved.progress ?? null
    const h = saved.history
    history.value = h && typeof h === 'object' ? { can_undo: h.can_undo === true, can_redo: h.can_redo === true } : NO_HISTORY
  }

  /** Back to an empty canvas. */
  function resetCanvas() {
    canvas.value = emptyCanvas()
    phase.value = Phase.EMPTY
    version.value = null
    revision.value = 0
    progress.value = null
    history.value = NO_HISTORY
    lastReconcile.value = null
    appliedToolCalls = new Set()
    snapshotEventId = null
    pendingSteps = []
  }

  return {
    state: { canvas, phase, version, revision, progress, lastReconcile, history },
    getters: { modules, hasCanvas, isBuilding, taskCount, stepCount, buildProgress },
    actions: { applyToolCall, applySnapshot, setProgress, setModuleStatus, applySubagent },
    restoreCanvas,
    resetCanvas,
  }
}
