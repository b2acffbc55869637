// Errors in plain words, each with a way forward. Server codes come from the generated contract
// (contract.ErrorCode); the few codes only the browser makes are `ClientErrorCode`.

import { ErrorCode } from '../generated/contract.js'

/** Codes the browser itself gives an error (no server answered, or the answer was unusable). */
export const ClientErrorCode = Object.freeze({
  NETWORK: 'NETWORK',
  STREAM_INTERRUPTED: 'STREAM_INTERRUPTED',
  BAD_RESPONSE: 'BAD_RESPONSE',
  UPLOAD_FAILED: 'UPLOAD_FAILED',
})

/** The codes that mean "this session's token is no longer good": start a new session. */
export const TOKEN_ERROR_CODES = new Set([
  ErrorCode.TOKEN_MISSING,
  ErrorCode.TOKEN_INVALID,
  ErrorCode.TOKEN_EXPIRED,
  ErrorCode.SESSION_MISMATCH,
  ErrorCode.IDENTITY_MISMATCH,
])

/**
 * @typedef {object} Explained
 * @property {string} title
 * @property {string} message
 * @property {'retry'|'reconnect'|'login'|'new'|'none'} action
 */

/**
 * @param {{status?: number|null, code?: string|null, kind?: string, message?: string}} err
 * @returns {Explained}
 */
export function explainError(err) {
  const code = err?.code ?? ''
  const status = err?.status ?? null
  if (code === ClientErrorCode.NETWORK || (err?.kind === 'network' && code !== ClientErrorCode.STREAM_INTERRUPTED)) {
    return {
      title: "Can't reach Playbook Builder",
      message: 'Check your internet connection, then try again. Nothing you have on the canvas is lost.',
      action: 'retry',
    }
  }
  if (code === ClientErrorCode.STREAM_INTERRUPTED) {
    return {
      title: 'The connection dropped',
      message: 'The assistant stopped answering part-way. Reconnect to pick up where it left off.',
      action: 'reconnect',
    }
  }
  if (code === ErrorCode.CSRF_FAILED) {
    return {
      title: 'This page has expired',
      message: 'Reload the page, then try again. Your playbook is kept.',
      action: 'retry',
    }
  }
  if (code === ErrorCode.SESSION_BUSY || status === 409) {
    return {
      title: 'Still working on your last request',
      message: 'The assistant is busy with an earlier request. Wait for it to finish or press Stop, then try again.',
      action: 'retry',
    }
  }
  if (TOKEN_ERROR_CODES.has(code) || status === 403) {
    return {
      title: 'This conversation has expired',
      message: 'Start a new playbook to continue. Save anything you want to keep first.',
      action: 'new',
    }
  }
  if (status === 401) {
    return { title: 'You are signed out', message: 'Sign in again to continue.', action: 'login' }
  }
  if (code === ErrorCode.PAYLOAD_TOO_LARGE || status === 413) {
    return {
      title: 'That is too long',
      message: 'Shorten your message (or the playbook) and try again.',
      action: 'none',
    }
  }
  if (status === 429) {
    return {
      title: 'Too many requests',
      message: 'Wait a few seconds, then try again.',
      action: 'retry',
    }
  }
  if (code === ErrorCode.INTERRUPT_EXPIRED) {
    return {
      title: 'This approval has expired',
      message: 'Ask the assistant again in the chat.',
      action: 'none',
    }
  }
  if (code === ErrorCode.INTERRUPT_ANSWERED || code === ErrorCode.INTERRUPT_UNKNOWN) {
    return {
      title: 'This approval is no longer open',
      message: 'It was already answered or has been withdrawn.',
      action: 'none',
    }
  }
  if (code === ErrorCode.BUDGET_EXCEEDED) {
    return {
      title: 'The assistant hit its limit',
      message: 'This request needed more work than allowed. Try a smaller change.',
      action: 'retry',
    }
  }
  if (code === ErrorCode.RUNTIME_UNAVAILABLE || code === ErrorCode.UPSTREAM_FAILED || [502, 503, 504].includes(status)) {
    return {
      title: 'The assistant is unavailable',
      message: 'It did not answer in time. Try again in a moment.',
      action: 'retry',
    }
  }
  if (code === ErrorCode.MODEL_ERROR || err?.kind === 'run') {
    return {
      title: 'The assistant ran into a problem',
      message: err?.message ? `${err.message}` : 'Try again, or rephrase your request.',
      action: 'retry',
    }
  }
  if (status === 400 || code === ErrorCode.INVALID_PAYLOAD) {
    return {
      title: 'That request was not accepted',
      message: err?.message || 'Reload the page and try again.',
      action: 'retry',
    }
  }
  return {
    title: 'Something went wrong',
    message: err?.message || 'Try again in a moment.',
    action: 'retry',
  }
}
