// What changed between two canvases (PlaybookSpec shapes): which modules and tasks were added,
// removed, renamed, moved or changed, in words for the "N changes" summary, which ones to
// highlight, and where each old module and task is now (so a selection can follow it).
//
// Pure: no Vue, no store. Modules are matched old → new by title first, then (for the rest) by
// description, then by position; tasks the same way inside each matched module. A build's status
// changes alone are not changes.

/** Per module, past this many task changes they are told as one line. */
export const TASK_LINES_PER_MODULE = 3

const text = (v) => (typeof v === 'string' ? v.trim() : '')
const list = (v) => (Array.isArray(v) ? v : [])
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`

/**
 * Pairs old items with new ones.
 *
 * @param {Array<object>} before
 * @param {Array<object>} after
 * @returns {Map<number, number>} old index → new index
 */
function match(before, after) {
  const pairs = new Map()
  const taken = new Set()
  const pass = (same) => {
    for (let n = 0; n < after.length; n += 1) {
      if (taken.has(n)) continue
      for (let o = 0; o < before.length; o += 1) {
        if (pairs.has(o) || !same(before[o], after[n], o, n)) continue
        pairs.set(o, n)
        taken.add(n)
        break
      }
    }
  }
  pass((a, b) => text(a.title) !== '' && text(a.title) === text(b.title))
  pass((a, b) => text(a.description) !== '' && text(a.description) === text(b.description))
  pass((_a, _b, o, n) => o === n)
  return pairs
}

/** The old indices (of matched pairs) whose relative order changed: not on a longest increasing run. */
function movedOld(pairs) {
  const seq = [...pairs.entries()].sort((x, y) => x[0] - y[0]) // by old index
  const ends = [] // patience sorting over new indices, keeping predecessors
  const prev = new Array(seq.length).fill(-1)
  seq.forEach(([, n], i) => {
    let lo = 0
    let hi = ends.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (seq[ends[mid]][1] < n) lo = mid + 1
      else hi = mid
    }
    prev[i] = lo > 0 ? ends[lo - 1] : -1
    ends[lo] = i
  })
  const keep = new Set()
  for (let i = ends.length ? ends[ends.length - 1] : -1; i >= 0; i = prev[i]) keep.add(seq[i][0])
  return new Set(seq.map(([o]) => o).filter((o) => !keep.has(o)))
}

const stepsOf = (task) => list(task?.steps).map((s) => [text(s?.title), text(s?.description)])
const sameSteps = (a, b) => JSON.stringify(stepsOf(a)) === JSON.stringify(stepsOf(b))

function taskChanges(oldMod, newMod, m) {
  const before = list(oldMod.tasks)
  const after = list(newMod.tasks)
  const pairs = match(before, after)
  const lines = []
  const highlighted = []
  const moved = movedOld(pairs)
  const where = (t) => `task ${t + 1} of module ${m + 1}`
  for (const [o, n] of pairs) {
    const a = before[o]
    const b = after[n]
    const parts = []
    if (text(a.description) !== text(b.description)) parts.push('description')
    if (!sameSteps(a, b)) {
      const diff = list(b.steps).length - list(a.steps).length
      parts.push(diff > 0 ? `${plural(diff, 'step')} added` : diff < 0 ? `${plural(-diff, 'step')} removed` : 'steps changed')
    }
    if (text(a.title) !== text(b.title)) {
      lines.push({ kind: 'renamed', scope: 'task', module: m, task: n, title: text(b.title), from: text(a.title), label: `Renamed ${where(n)} — ${text(a.title)} → ${text(b.title)}` })
      highlighted.push(n)
    } else if (parts.length) {
      lines.push({ kind: 'changed', scope: 'task', module: m, task: n, title: text(b.title), detail: parts.join(', '), label: `Updated ${where(n)} — ${text(b.title)} (${parts.join(', ')})` })
      highlighted.push(n)
    } else if (moved.has(o)) {
      lines.push({ kind: 'moved', scope: 'task', module: m, task: n, title: text(b.title), label: `Moved ${where(n)} — ${text(b.title)}` })
      highlighted.push(n)
    }
  }
  after.forEach((b, n) => {
    if ([...pairs.values()].includes(n)) return
    lines.push({ kind: 'added', scope: 'task', module: m, task: n, title: text(b.title), label: `Added ${where(n)} — ${text(b.title)}` })
    highlighted.push(n)
  })
  before.forEach((a, o) => {
    if (pairs.has(o)) return
    lines.push({ kind: 'removed', scope: 'task', module: m, task: o, title: text(a.title), label: `Removed task ${o + 1} of module ${m + 1} — ${text(a.title)}` })
  })
  return { lines, highlighted, taskMap: pairs }
}

/** One line for many task changes in one module ("Built module 3 — X: 3 tasks, 9 steps"). */
function folded(lines, oldMod, newMod, m) {
  const title = text(newMod.title)
  if (list(oldMod.tasks).length === 0) {
    const steps = list(newMod.tasks).reduce((k, t) => k + list(t.steps).length, 0)
    const detail = `${plural(list(newMod.tasks).length, 'task')}${steps ? `, ${plural(steps, 'step')}` : ''}`
    return { kind: 'changed', scope: 'module', module: m, title, detail, label: `Built module ${m + 1} — ${title}: ${detail}` }
  }
  const counts = {}
  for (const line of lines) counts[line.kind] = (counts[line.kind] ?? 0) + 1
  const words = { added: 'added', removed: 'removed', renamed: 'renamed', changed: 'updated', moved: 'moved' }
  const detail = Object.entries(counts)
    .map(([kind, n]) => `${plural(n, 'task')} ${words[kind]}`)
    .join(', ')
  return { kind: 'changed', scope: 'module', module: m, title, detail, label: `Updated module ${m + 1} — ${title}: ${detail}` }
}

/**
 * The differences from `before` to `after`.
 *
 * @param {{title?: string, description?: string, modules?: Array<object>}|null} before
 * @param {{title?: string, description?: string, modules?: Array<object>}|null} after
 * @returns {{
 *   changes: Array<{kind: string, scope: string, module?: number, task?: number, title: string, from?: string, detail?: string, label: string}>,
 *   modules: number[], tasks: Array<[number, number]>,
 *   moduleMap: Map<number, number>, taskMaps: Map<number, Map<number, number>>,
 * }} `changes` in canvas order (indices: new positions; old ones for what was removed);
 *   `modules` / `tasks`: what to highlight (new positions; a module for a change of its own or a
 *   build, tasks for theirs); `moduleMap`: old module index → new;
 *   `taskMaps`: old module index → (old task index → new).
 */
export function diffCanvas(before, after) {
  const oldMods = list(before?.modules)
  const newMods = list(after?.modules)
  const changes = []
  const modules = new Set()
  const tasks = []
  const moduleMap = match(oldMods, newMods)
  const taskMaps = new Map()
  const moved = movedOld(moduleMap)

  if (text(before?.title) !== text(after?.title) && text(after?.title)) {
    changes.push({ kind: text(before?.title) ? 'renamed' : 'added', scope: 'playbook', title: text(after.title), from: text(before?.title), label: text(before?.title) ? `Renamed the playbook — ${text(before.title)} → ${text(after.title)}` : `Named the playbook — ${text(after.title)}` })
  } else if (text(before?.description) !== text(after?.description) && oldMods.length) {
    changes.push({ kind: 'changed', scope: 'playbook', title: text(after?.title), label: "Updated the playbook's description" })
  }

  const perModule = []
  for (const [o, n] of moduleMap) {
    const a = oldMods[o]
    const b = newMods[n]
    const inner = taskChanges(a, b, n)
    taskMaps.set(o, inner.taskMap)
    const lines = []
    if (text(a.title) !== text(b.title)) {
      lines.push({ kind: 'renamed', scope: 'module', module: n, title: text(b.title), from: text(a.title), label: `Renamed module ${n + 1} — ${text(a.title)} → ${text(b.title)}` })
    }
    if (text(a.description) !== text(b.description)) {
      lines.push({ kind: 'changed', scope: 'module', module: n, title: text(b.title), detail: 'new description', label: `Updated module ${n + 1} — ${text(b.title)}: new description` })
    }
    if (inner.lines.length > TASK_LINES_PER_MODULE || (inner.lines.length && list(a.tasks).length === 0)) {
      lines.push(folded(inner.lines, a, b, n))
    } else {
      lines.push(...inner.lines)
    }
    if (!lines.length && moved.has(o)) {
      lines.push({ kind: 'moved', scope: 'module', module: n, title: text(b.title), label: `Moved module — ${text(b.title)} (now ${n + 1})` })
    }
    // The card is highlighted for a change of its own (or a build); changed tasks on their own.
    if (lines.some((line) => line.scope === 'module')) modules.add(n)
    if (list(a.tasks).length) for (const t of inner.highlighted) tasks.push([n, t])
    perModule.push([n, lines])
  }
  newMods.forEach((b, n) => {
    if ([...moduleMap.values()].includes(n)) return
    modules.add(n)
    perModule.push([n, [{ kind: 'added', scope: 'module', module: n, title: text(b.title), label: `Added module ${n + 1} — ${text(b.title)}` }]])
  })
  perModule.sort((x, y) => x[0] - y[0])
  for (const [, lines] of perModule) changes.push(...lines)
  oldMods.forEach((a, o) => {
    if (moduleMap.has(o)) return
    changes.push({ kind: 'removed', scope: 'module', module: o, title: text(a.title), label: `Removed module ${o + 1} — ${text(a.title)}` })
  })
  return { changes, modules: [...modules].sort((x, y) => x - y), tasks, moduleMap, taskMaps }
}

/**
 * Where a selection is after a change, or null when what it named is gone.
 *
 * @param {{module_index: number, task_index?: number|null}|null} selection
 * @param {ReturnType<typeof diffCanvas>} diff
 */
export function followSelection(selection, diff) {
  if (!selection) return null
  const moduleIndex = diff.moduleMap.get(selection.module_index)
  if (moduleIndex == null) return null
  if (selection.task_index == null) return { module_index: moduleIndex, task_index: null }
  const taskIndex = diff.taskMaps.get(selection.module_index)?.get(selection.task_index)
  return taskIndex == null ? null : { module_index: moduleIndex, task_index: taskIndex }
}
