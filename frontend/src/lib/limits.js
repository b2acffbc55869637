// Limits the browser checks before sending, so a person is told before anything is lost.
// They mirror agent_runtime/contract.py `Limits` (tests/unit/test_frontend_limits.py keeps them in step).

/** A chat message's size limit, in UTF-8 bytes (contract `Limits.MAX_PROMPT_BYTES`). */
export const MAX_PROMPT_BYTES = 32 * 1024

/** From this share of the limit on, the composer shows how much room is left. */
export const PROMPT_WARN_RATIO = 0.8

const encoder = new TextEncoder()

/** The size of `text` as sent (UTF-8 bytes). */
export function byteLength(text) {
  return encoder.encode(String(text ?? '')).length
}
