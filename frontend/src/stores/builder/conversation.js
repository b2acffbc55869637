// The conversation: messages (user, assistant as it streams, notices, errors, approval cards),
// the suggested replies, and which agent is answering. One part of the playbookBuilder store.

import { ref } from 'vue'

let seq = 0
/** A local id, unique in this page. */
export function localId(prefix) {
  seq += 1
  return `${prefix}-${Date.now().toString(36)}-${seq}`
}

export function useConversation() {
  const messages = ref([]) // {id, role: user|assistant|notice|error|approval, text, streaming?, error?, retry?}
  const suggestions = ref([])
  const activeAgent = ref(null)

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

  /**
   * The transcript a joining watch sent (AG-UI MESSAGES_SNAPSHOT): it replaces the conversation's
   * user and assistant messages; approval cards stay (after it). An empty snapshot changes nothing
   * (a session the assistant has not answered yet has no stored conversation).
   *
   * @param {Array<{id: string, role: string, content?: unknown}>} snapshot
   */
  function replaceTranscript(snapshot) {
    const shown = (snapshot ?? [])
      .filter((m) => (m?.role === 'user' || m?.role === 'assistant') && typeof m.content === 'string' && m.content)
      .map((m) => ({ id: String(m.id), role: m.role, text: m.content, streaming: false }))
    if (!shown.length) return
    // What this page already knows of a message (the files a user message carried) stays with it.
    const local = messages.value.filter((m) => m.role === 'user' && m.files?.length)
    for (const msg of shown) {
      const i = local.findIndex((m) => m.role === msg.role && m.text.trim() === msg.text.trim())
      if (i >= 0) msg.files = local.splice(i, 1)[0].files
    }
    messages.value = [...shown, ...messages.value.filter((m) => m.role === 'approval')]
  }

  function resetConversation() {
    messages.value = []
    suggestions.value = []
    activeAgent.value = null
  }

  return {
    state: { messages, suggestions, activeAgent },
    actions: {
      addUserMessage,
      startAssistantMessage,
      appendAssistantText,
      endAssistantMessage,
      endAllStreaming,
      addNotice,
      addError,
      removeMessage,
      replaceTranscript,
    },
    resetConversation,
  }
}
