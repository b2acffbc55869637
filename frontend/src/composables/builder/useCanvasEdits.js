// Direct edits, undo and redo on the canvas (issue 11): each is one out-of-band action
// (POST /api/agent/run/<sid>/edit|undo|redo) whose stream carries the canvas as a STATE_SNAPSHOT —
// the new one, or on a refusal the current one, which the page adopts either way. An edit names the
// canvas version it was made on (`base_version`); a stale one is refused (VERSION_CONFLICT) and the
// page says so. Nothing is changed locally before the runtime answers: the snapshot is the truth.

import { computed, ref } from 'vue'
import { ErrorCode, Limits, ToolName } from '../../generated/contract.js'
import { explainError } from '../../lib/errors.js'
import { liveCheck } from './context.js'

const REFUSALS = {
  [ErrorCode.VERSION_CONFLICT]:
    'The canvas had changed meanwhile, so that edit was not made. It now shows the current version — try again.',
  [ErrorCode.BUILD_IN_PROGRESS]: 'Modules are being built. Edits, undo and redo wait until the build finishes (or stop it).',
  [ErrorCode.NOTHING_TO_UNDO]: 'There is nothing to undo.',
  [ErrorCode.NOTHING_TO_REDO]: 'There is nothing to redo.',
  [ErrorCode.SESSION_BUSY]: 'The assistant is working. Try again when it has finished.',
}

const TEXT_INPUTS = new Set(['text', 'search', 'email', 'url', 'tel', 'password', 'number'])

/** Whether a keystroke's target is a text field (which has its own undo), not the canvas. */
export function inTextField(target) {
  if (!target || target.nodeType !== 1) return false
  if (target.isContentEditable) return true
  const tag = target.tagName
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true
  return tag === 'INPUT' && TEXT_INPUTS.has((target.getAttribute('type') || 'text').toLowerCase())
}

/** A title as the contract takes it: trimmed, at most MAX_TITLE_CHARS; '' when there is none. */
export function cleanTitle(value) {
  return String(value ?? '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, Limits.MAX_TITLE_CHARS)
}

/**
 * @param {import('./context.js').BuilderContext} ctx
 * @param {{persist: () => void}} reload
 */
export function useCanvasEdits(ctx, reload) {
  const { api, sse, store } = ctx
  /** The action in flight ('edit' | 'undo' | 'redo'), or null. */
  const pending = ref(null)
  /** What the last action said: {kind: 'ok'|'error', text, code?}. */
  const notice = ref(null)
  /** A destructive edit waiting for the person's confirmation: {title, message, confirmLabel, run}. */
  const confirming = ref(null)

  /**
   * Why the canvas cannot be changed by hand right now ('' when it can). A change in flight does not
   * disable the controls (that would drop the keyboard focus); `send` waits for it instead.
   */
  const blockedReason = computed(() => {
    if (!store.hasCanvas && !store.history.can_undo && !store.history.can_redo) return 'Nothing on the canvas yet'
    if (store.isBuilding) return 'Wait for the build to finish (or stop it)'
    if (store.chatRunning || store.resuming || store.stopping) return 'Wait for the assistant to finish'
    if (store.pendingInterrupts.length) return 'Answer the approval request first'
    if (!ctx.session) return 'Not connected yet'
    return ''
  })
  const canEdit = computed(() => blockedReason.value === '' && store.hasCanvas)
  const canUndo = computed(() => blockedReason.value === '' && store.history.can_undo)
  const canRedo = computed(() => blockedReason.value === '' && store.history.can_redo)

  /**
   * Sends one action and adopts the canvas its stream carries.
   *
   * @param {'edit'|'undo'|'redo'} action
   * @param {object} extra  `{base_version, ops}` for an edit.
   * @param {string} done  What to announce when it worked.
   * @returns {Promise<boolean>} Whether the change was made.
   */
  async function send(action, extra, done) {
    if (pending.value || !ctx.session) return false
    if (blockedReason.value) {
      notice.value = { kind: 'error', text: `${blockedReason.value}.` }
      return false
    }
    pending.value = action
    notice.value = null
    const live = liveCheck(ctx)
    let refusal = null
    const handle = sse.startRun({
      ...api.actionRequest(ctx.session, action, extra),
      callbacks: {
        onEvent: (_event, eventId) => live() && store.noteEventId(eventId),
        onState: (snapshot, meta) => {
          if (!live()) return
          store.applySnapshot(snapshot, { ...meta, force: true })
          if (meta.eventId != null && (store.resumeId == null || meta.eventId > store.resumeId)) {
            store.resumeId = meta.eventId
          }
        },
        onError: (err) => {
          refusal = err
        },
      },
    })
    const result = await handle.done
    pending.value = null // also after a reset meanwhile: the next session starts with nothing in flight
    if (!live()) return false
    reload.persist()
    if (result.outcome === 'success') {
      if (!store.hasCanvas) store.suggestions = [] // the assistant's chips were for a canvas that is gone
      notice.value = { kind: 'ok', text: done }
      return true
    }
    const err = refusal ?? result.error
    const code = err?.code ?? null
    const text =
      REFUSALS[code] ??
      (code === ErrorCode.INVALID_PAYLOAD ? `That change could not be made: ${err.message}` : explainError(err).message)
    notice.value = { kind: 'error', text, code }
    return false
  }

  function edit(ops, done) {
    return send('edit', { base_version: store.version ?? 0, ops }, done)
  }

  const undo = () => send('undo', {}, 'Undone.')
  const redo = () => send('redo', {}, 'Redone.')

  function renameModule(index, title) {
    const clean = cleanTitle(title)
    if (!clean || clean === store.canvas.modules[index]?.title) return Promise.resolve(false)
    return edit([{ tool: ToolName.UPDATE_MODULE, args: { module_index: index, title: clean } }], `Renamed module ${index + 1}.`)
  }

  function moveModule(from, to) {
    const count = store.canvas.modules.length
    if (from === to || to < 0 || to >= count) return Promise.resolve(false)
    return edit(
      [{ tool: ToolName.MOVE_MODULE, args: { from_index: from, to_index: to } }],
      `Moved module ${from + 1} to position ${to + 1}.`,
    )
  }

  function renameTask(moduleIndex, taskIndex, title) {
    const clean = cleanTitle(title)
    if (!clean || clean === store.canvas.modules[moduleIndex]?.tasks[taskIndex]?.title) return Promise.resolve(false)
    return edit(
      [{ tool: ToolName.UPDATE_TASK, args: { module_index: moduleIndex, task_index: taskIndex, title: clean } }],
      `Renamed task ${taskIndex + 1} of module ${moduleIndex + 1}.`,
    )
  }

  function addTask(moduleIndex, title) {
    const clean = cleanTitle(title)
    if (!clean) return Promise.resolve(false)
    return edit(
      [{ tool: ToolName.ADD_TASKS, args: { module_index: moduleIndex, tasks: [{ title: clean }] } }],
      `Added a task to module ${moduleIndex + 1}.`,
    )
  }

  /** Asks first, then removes the module (with its tasks). */
  function deleteModule(index) {
    const mod = store.canvas.modules[index]
    if (!mod) return
    const tasks = mod.tasks.length
    confirming.value = {
      title: `Delete module ${index + 1}?`,
      message: `“${mod.title}”${tasks ? ` and its ${tasks} ${tasks === 1 ? 'task' : 'tasks'}` : ''} will be removed. You can undo this.`,
      confirmLabel: 'Delete module',
      run: () => edit([{ tool: ToolName.REMOVE_MODULE, args: { module_index: index } }], `Deleted module ${index + 1}.`),
    }
  }

  /** Asks first, then removes the task (with its steps). */
  function deleteTask(moduleIndex, taskIndex) {
    const task = store.canvas.modules[moduleIndex]?.tasks[taskIndex]
    if (!task) return
    confirming.value = {
      title: `Delete task ${taskIndex + 1} of module ${moduleIndex + 1}?`,
      message: `“${task.title}”${task.steps.length ? ' and its steps' : ''} will be removed. You can undo this.`,
      confirmLabel: 'Delete task',
      run: () =>
        edit(
          [{ tool: ToolName.REMOVE_TASK, args: { module_index: moduleIndex, task_index: taskIndex } }],
          `Deleted task ${taskIndex + 1} of module ${moduleIndex + 1}.`,
        ),
    }
  }

  /** The confirmation's answer. */
  function answer(confirmed) {
    const run = confirming.value?.run
    confirming.value = null
    return confirmed && run ? run() : Promise.resolve(false)
  }

  return {
    pending,
    notice,
    confirming,
    blockedReason,
    canEdit,
    canUndo,
    canRedo,
    undo,
    redo,
    edit,
    renameModule,
    moveModule,
    renameTask,
    addTask,
    deleteModule,
    deleteTask,
    answer,
  }
}
