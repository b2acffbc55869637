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

/** Web app error codes that mean the assistant's runtime is down, and how the status line says it. */
const RUNTIME_DOWN = { RUNTIME_RESTARTING: 'restarting', RUNTIME_UNAVAILABLE: 'unreachable' }

/**
 * 'restarting' | 'unreachable' when ``code`` says the runtime is down, else null.
 * @param {string|null|undefined} code
 */
export function runtimeDown(code) {
  return RUNTIME_DOWN[code ?? ''] ?? null
}

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
  if (code === ErrorCode.NOTHING_TO_SAVE) {
    return {
      title: 'Nothing to save yet',
      message: 'Ask the assistant for a playbook first; Save stores what this conversation built.',
      action: 'none',
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
  if (code === ErrorCode.RUNTIME_RESTARTING) {
    return {
      title: 'The assistant is restarting',
      message: 'The assistant is restarting — try again in a moment. Nothing on the canvas is lost.',
      action: 'retry',
    }
  }
  if (code === ErrorCode.RUNTIME_UNAVAILABLE || (status === 503 && !code)) {
    return {
      title: 'The assistant could not be reached',
      message: 'The assistant could not be reached. Try again in a moment.',
      action: 'retry',
    }
  }
  if (code === ErrorCode.DATABASE_UNAVAILABLE) {
    return {
      title: 'Playbook Builder is busy',
      message: 'The database is not answering just now. Try again in a moment; your work is kept here.',
      action: 'retry',
    }
  }
  if (code === ErrorCode.RUNTIME_TIMEOUT || status === 504) {
    return {
      title: 'The assistant did not answer in time',
      message: 'It is taking too long to answer. Try again in a moment.',
      action: 'retry',
    }
  }
  if (code === ErrorCode.UPSTREAM_FAILED && err?.kind === 'run') {
    return {
      title: 'The assistant was interrupted',
      message: 'The connection to the assistant broke part-way. Try again.',
      action: 'retry',
    }
  }
  if (code === ErrorCode.UPSTREAM_FAILED || [502, 503].includes(status)) {
    return {
      title: 'The assistant is unavailable',
      message: 'It did not answer properly. Try again in a moment.',
      action: 'retry',
    }
  }
  if (code === ErrorCode.MODEL_THROTTLED) {
    return {
      title: 'The model is busy right now',
      message: err?.message || 'Nothing was changed. Try again in a minute.',
      action: 'retry',
    }
  }
  if (code === ErrorCode.MODEL_ACCESS_DENIED) {
    return {
      title: 'The model is not available here',
      message: err?.message || 'This deployment may not use its model. Ask an administrator.',
      action: 'none',
    }
  }
  if (code === ErrorCode.CONTEXT_TOO_LONG) {
    return {
      title: 'That message is too long for the model',
      message: err?.message || 'Nothing was changed. Shorten it or split it into parts.',
      action: 'none',
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
