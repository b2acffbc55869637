// What the browser sends, against the invocation schemas generated from agent_runtime/contract.py:
// a change to a payload there fails here once the contract is regenerated.
import { describe, expect, it } from 'vitest'
import * as z from 'zod'
import contract from '../generated/contract.json'
import { Action, Decision, OUT_OF_BAND_ACTIONS, ToolName } from '../generated/contract.js'
import { actionRequest, runRequest } from './agent.js'

const session = { session_id: '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b', token: 'signed.token', agent_url: '/api/agent' }
const schema = (action) => z.fromJSONSchema(contract.schemas.payloads[action])
const valid = (action, body) => {
  const checked = schema(action).safeParse(body)
  return checked.success ? true : checked.error.message
}

describe('api/agent requests match the contract', () => {
  it('a chat turn (POST /api/agent/run) is a ChatPayload', () => {
    const { url, body } = runRequest(session, 'Onboard new clients', { phase: 'empty', canvas_version: null })
    expect(url).toBe('/api/agent/run')
    expect(body.action).toBe(Action.CHAT)
    expect(valid(Action.CHAT, body)).toBe(true)
  })

  it('each out-of-band action is the payload of its action (the web app adds `action` from the path)', () => {
    const extras = {
      [Action.STOP]: {},
      [Action.RESET]: {},
      [Action.WATCH]: { last_event_id: 41 },
      [Action.RESUME_INTERRUPT]: { interrupt_id: 'int_1', decision: Decision.ADD_CONTEXT, context: 'Only three' },
      [Action.EDIT]: {
        base_version: 7,
        ops: [{ tool: ToolName.UPDATE_MODULE, args: { module_index: 1, title: 'Kickoff call' } }],
      },
      [Action.UNDO]: {},
      [Action.REDO]: {},
    }
    expect(Object.keys(extras).sort()).toEqual([...OUT_OF_BAND_ACTIONS].sort())
    for (const [name, extra] of Object.entries(extras)) {
      const { url, body } = actionRequest(session, name, extra)
      expect(url).toBe(`/api/agent/run/${session.session_id}/${name}`)
      expect(valid(name, { ...body, action: name }), name).toBe(true)
    }
  })

  it('the schemas do refuse what the runtime refuses', () => {
    expect(valid(Action.CHAT, { ...runRequest(session, 'hi').body, extra: 1 })).not.toBe(true)
    const { body } = actionRequest(session, Action.RESUME_INTERRUPT, { interrupt_id: 'int_1', decision: 'maybe' })
    expect(valid(Action.RESUME_INTERRUPT, { ...body, action: Action.RESUME_INTERRUPT })).not.toBe(true)
  })
})
