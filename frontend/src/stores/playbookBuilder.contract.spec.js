// The store against the contract generated from agent_runtime/contract.py: what it builds from the
// tools on the wire is a canvas the contract accepts (PlaybookSpec), whatever the tools' order.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import * as z from 'zod'
import contract from '../generated/contract.json'
import { Limits, TOOL_NAMES, ToolName } from '../generated/contract.js'
import { usePlaybookBuilderStore } from './playbookBuilder.js'

const playbookSchema = z.fromJSONSchema(contract.schemas.playbook)
const toolSchemas = Object.fromEntries(
  Object.entries(contract.schemas.tools).map(([name, schema]) => [name, z.fromJSONSchema(schema)]),
)

const CALLS = [
  [ToolName.SET_PLAYBOOK_OUTLINE, { title: 'Onboarding', modules: [{ title: 'Kickoff' }, { title: 'Documents' }] }],
  [ToolName.ADD_MODULE, { title: 'Review', description: 'After 30 days', position: 1 }],
  [ToolName.UPDATE_MODULE, { module_index: 0, description: 'Meet the team' }],
  [ToolName.MOVE_MODULE, { from_index: 2, to_index: 0 }],
  [ToolName.BUILD_MODULES, { module_indices: [0, 1] }],
  [ToolName.ADD_TASK_STEP, { module_index: 0, task_index: 0, step: { title: 'Arrives before its task' } }],
  [ToolName.ADD_TASKS, { module_index: 0, tasks: [{ title: 'Collect IDs', steps: [{ title: 'Ask' }] }] }],
  [ToolName.UPDATE_PLAYBOOK, { description: 'From contract to a happy client' }],
  [ToolName.REMOVE_MODULE, { module_index: 2 }],
  [ToolName.SET_MODULE_TASKS, { module_index: 1, tasks: [{ title: 'Hold the call', steps: [{ title: 'Invite' }] }] }],
  [ToolName.UPDATE_TASK, { module_index: 1, task_index: 0, title: 'Hold the kickoff call' }],
  [ToolName.REMOVE_TASK, { module_index: 1, task_index: 0 }],
  [ToolName.UNDO_LAST_CHANGE, {}], // nothing to apply: the canvas comes in the snapshot after it
  [ToolName.REDO_LAST_CHANGE, {}],
  [ToolName.SUGGEST_REPLIES, { replies: ['Build the rest', 'Rename it'] }],
]

describe('playbookBuilder store and the generated contract', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    vi.spyOn(console, 'warn').mockImplementation(() => {})
  })

  it('the scripted calls cover every tool and each is valid for the contract', () => {
    expect(new Set(CALLS.map(([tool]) => tool))).toEqual(new Set(TOOL_NAMES))
    for (const [tool, args] of CALLS) expect(toolSchemas[tool].safeParse(args).success, tool).toBe(true)
  })

  it('every canvas the tools build is a PlaybookSpec the runtime would accept', () => {
    const s = usePlaybookBuilderStore()
    for (const [tool, args] of CALLS) {
      s.applyToolCall(tool, args)
      const checked = playbookSchema.safeParse(s.canvas)
      expect(checked.success, `${tool}: ${checked.error?.message}`).toBe(true)
    }
    expect(s.canvas.modules.map((m) => m.title)).toEqual(['Documents', 'Kickoff'])
    expect(s.canvas.modules[0].tasks[0].steps.map((st) => st.title)).toEqual(['Ask', 'Arrives before its task'])
  })

  it('stops at the contract limit for modules', () => {
    const s = usePlaybookBuilderStore()
    s.applyToolCall(ToolName.SET_PLAYBOOK_OUTLINE, { title: 'Big', modules: [{ title: 'M0' }] })
    for (let i = 1; i < Limits.MAX_MODULES + 3; i += 1) s.applyToolCall(ToolName.ADD_MODULE, { title: `M${i}` })
    expect(s.canvas.modules).toHaveLength(Limits.MAX_MODULES)
    expect(playbookSchema.safeParse(s.canvas).success).toBe(true)
  })

  it('the JSON and the JS module are generated from the same contract', () => {
    expect(Object.values(contract.enums.ToolName)).toEqual([...TOOL_NAMES])
    expect(contract.limits).toEqual({ ...Limits })
  })
})
