import { describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { createTestingPinia } from '@pinia/testing'
import ChatPane from './ChatPane.vue'
import { usePlaybookBuilderStore } from '../stores/playbookBuilder.js'

const uploads = vi.hoisted(() => [])
vi.mock('../api/files.js', async (importOriginal) => ({
  ...(await importOriginal()),
  uploadFile: (file, options) => new Promise((resolve, reject) => uploads.push({ file, options, resolve, reject })),
}))

function mountChat(state = {}) {
  const wrapper = mount(ChatPane, {
    attachTo: document.body,
    global: {
      plugins: [createTestingPinia({ createSpy: vi.fn, initialState: { playbookBuilder: state } })],
    },
  })
  return { wrapper, store: usePlaybookBuilderStore() }
}

describe('ChatPane', () => {
  it('shows a welcome when the conversation is empty', () => {
    const { wrapper } = mountChat()
    expect(wrapper.text()).toContain('What should your playbook cover?')
    expect(wrapper.find('[role="log"]').attributes('aria-live')).toBe('polite')
  })

  it('Enter sends the trimmed text and clears the box; Shift+Enter does not send', async () => {
    const { wrapper } = mountChat()
    const box = wrapper.get('textarea')
    await box.setValue('  Onboard new clients  ')
    await box.trigger('keydown', { key: 'Enter', shiftKey: true })
    expect(wrapper.emitted('send')).toBeUndefined()
    await box.trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('send')).toEqual([['Onboard new clients', []]])
    expect(box.element.value).toBe('')
  })

  it('does not send empty text or while a turn is running', async () => {
    const { wrapper } = mountChat({ chatRunning: true })
    const box = wrapper.get('textarea')
    await box.trigger('keydown', { key: 'Enter' })
    await box.setValue('hello')
    await box.trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('send')).toBeUndefined()
    expect(wrapper.get('[data-testid="send"]').attributes('disabled')).toBeDefined()
  })

  it('shows the size limit near it and refuses an over-long message before sending, keeping the text', async () => {
    const { wrapper } = mountChat()
    const box = wrapper.get('textarea')
    await box.setValue('a'.repeat(1000))
    expect(wrapper.find('[data-testid="composer-size"]').exists()).toBe(false)
    await box.setValue('a'.repeat(30000))
    expect(wrapper.get('[data-testid="composer-size"]').text()).toBe('2,768 characters left')
    expect(box.attributes('aria-describedby')).toContain('composer-size')
    const long = 'a'.repeat(40 * 1024)
    await box.setValue(long)
    expect(wrapper.get('[data-testid="composer-size"]').text()).toMatch(/^Too long to send: 8,192 characters over the 32,768 limit/)
    expect(wrapper.get('[data-testid="send"]').attributes('disabled')).toBeDefined()
    expect(box.attributes('aria-invalid')).toBe('true')
    await box.trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('send')).toBeUndefined()
    expect(box.element.value).toBe(long)
    // Shortened to the limit exactly, it goes.
    await box.setValue('b'.repeat(32 * 1024))
    await box.trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('send')).toHaveLength(1)
  })

  it('folds a very long message from the person, with a button to unfold it', async () => {
    const long = 'x'.repeat(5000)
    const { wrapper } = mountChat({ messages: [{ id: 'u1', role: 'user', text: long }] })
    const bubble = wrapper.get('[data-testid="msg-user"]')
    expect(bubble.text()).not.toContain(long)
    const fold = bubble.get('[data-testid="msg-fold"]')
    expect(fold.text()).toBe('Show all 5,000 characters')
    expect(fold.attributes('aria-expanded')).toBe('false')
    await fold.trigger('click')
    expect(bubble.text()).toContain(long)
    expect(fold.attributes('aria-expanded')).toBe('true')
  })

  it('the status line is not a green "Ready" when the assistant cannot be reached', async () => {
    const { wrapper, store } = mountChat()
    expect(wrapper.get('[data-testid="chat-status"]').text()).toBe('Ready')
    store.messages = [{ id: 'e1', role: 'error', text: 'x', error: { code: 'NETWORK', kind: 'network' } }]
    await wrapper.vm.$nextTick()
    const status = wrapper.get('[data-testid="chat-status"]')
    expect(status.text()).toBe("Can't reach the assistant")
    expect(status.classes()).toContain('is-down')
    store.messages.push({ id: 'u1', role: 'user', text: 'hi' })
    await wrapper.vm.$nextTick()
    expect(wrapper.get('[data-testid="chat-status"]').text()).toBe('Ready')
  })

  it('renders assistant Markdown sanitized (no script, no handlers)', () => {
    const { wrapper } = mountChat({
      messages: [
        { id: 'u', role: 'user', text: 'Hi <b>there</b>' },
        { id: 'a', role: 'assistant', text: '**Bold** and <img src=x onerror="alert(1)"><script>alert(2)</script>\n\n- one\n- two' },
      ],
    })
    const md = wrapper.get('.md')
    expect(md.find('strong').text()).toBe('Bold')
    expect(md.findAll('li')).toHaveLength(2)
    expect(md.html()).not.toContain('onerror')
    expect(md.html()).not.toContain('<script')
    expect(md.find('img').exists()).toBe(false)
    // User text is plain text, never HTML.
    expect(wrapper.get('[data-testid="msg-user"]').text()).toBe('Hi <b>there</b>')
  })

  it('shows the Stop button whenever something runs, and emits stop', async () => {
    const { wrapper, store } = mountChat()
    expect(wrapper.find('[data-testid="stop"]').exists()).toBe(false)
    store.watching = true
    await wrapper.vm.$nextTick()
    await wrapper.get('[data-testid="stop"]').trigger('click')
    expect(wrapper.emitted('stop')).toHaveLength(1)
    store.watching = false
    store.phase = 'building'
    await wrapper.vm.$nextTick()
    expect(wrapper.find('[data-testid="stop"]').exists()).toBe(true)
  })

  it('shows a thinking indicator until the answer starts streaming', async () => {
    const { wrapper, store } = mountChat({ chatRunning: true, messages: [{ id: 'u', role: 'user', text: 'x' }] })
    expect(wrapper.find('[data-testid="thinking"]').exists()).toBe(true)
    store.messages.push({ id: 'a', role: 'assistant', text: 'Hel', streaming: true })
    await wrapper.vm.$nextTick()
    expect(wrapper.find('[data-testid="thinking"]').exists()).toBe(false)
    expect(wrapper.get('[role="log"]').attributes('aria-busy')).toBe('true')
  })

  it('suggestion chips send their text', async () => {
    const { wrapper } = mountChat({ suggestions: ['Build it', 'Add a module'] })
    const chips = wrapper.findAll('[data-testid="suggestions"] button')
    expect(chips.map((c) => c.text())).toEqual(['Build it', 'Add a module'])
    await chips[0].trigger('click')
    expect(wrapper.emitted('send')).toEqual([['Build it']])
  })

  it('shows "Stopped." notices and errors with a way forward', async () => {
    const err = { id: 'e', role: 'error', title: 'Still working on your last request', text: 'Wait…', action: 'retry', retry: { type: 'chat', prompt: 'x' } }
    const { wrapper } = mountChat({ messages: [{ id: 'n', role: 'notice', text: 'Stopped.', tone: 'stopped' }, err] })
    expect(wrapper.get('[data-testid="msg-notice"]').text()).toBe('Stopped.')
    const alert = wrapper.get('[data-testid="msg-error"]')
    expect(alert.attributes('role')).toBe('alert')
    expect(alert.text()).toContain('Still working on your last request')
    await alert.get('button').trigger('click')
    expect(wrapper.emitted('retry')[0][0]).toMatchObject({ id: 'e' })
  })

  it('renders approval cards in the conversation and passes decisions up', async () => {
    const { wrapper } = mountChat({
      messages: [
        { id: 'u', role: 'user', text: 'Build it' },
        { id: 'approval-i1', role: 'approval', interruptId: 'i1', text: '' },
        { id: 'n', role: 'notice', text: 'later', tone: 'info' },
      ],
      interrupts: [{ id: 'i1', reason: 'build_modules:count>8', message: 'Build 12 modules?', expiresAt: null, state: 'pending' }],
    })
    const order = wrapper.findAll('[data-testid="msg-user"], [data-testid="approval-card"], [data-testid="msg-notice"]')
    expect(order.map((el) => el.attributes('data-testid'))).toEqual(['msg-user', 'approval-card', 'msg-notice'])
    const card = wrapper.get('[data-testid="approval-card"]')
    expect(card.text()).toContain('Build 12 modules?')
    await card.findAll('button').find((b) => b.text().includes('Approve')).trigger('click')
    expect(wrapper.emitted('decide')).toEqual([[{ id: 'i1', decision: 'approve' }]])
  })

  it('has labelled controls', () => {
    const { wrapper } = mountChat()
    expect(wrapper.get('label[for="composer-input"]').text()).toBe('Message to the assistant')
    expect(wrapper.get('[data-testid="send"]').attributes('aria-label')).toBe('Send message')
  })

  it.each([
    ['RUNTIME_RESTARTING', 'Assistant restarting'],
    ['RUNTIME_UNAVAILABLE', 'Assistant unreachable'],
  ])('the status line agrees with a %s error in the chat, not a green Ready', (code, text) => {
    const { wrapper } = mountChat({
      messages: [
        { id: 'u', role: 'user', text: 'hi' },
        { id: 'e', role: 'error', title: 'x', text: 'The assistant is restarting', code, error: { status: 503, code } },
      ],
    })
    const status = wrapper.get('[data-testid="chat-status"]')
    expect(status.text()).toBe(text)
    expect(status.classes()).toContain('is-down')
  })

  it('is Ready again once the conversation moved on', () => {
    const { wrapper } = mountChat({
      messages: [
        { id: 'e', role: 'error', text: 'x', code: 'RUNTIME_RESTARTING' },
        { id: 'a', role: 'assistant', text: 'Here is an outline' },
      ],
    })
    expect(wrapper.get('[data-testid="chat-status"]').text()).toBe('Ready')
  })

  it('attaches files by the button or a drop, shows each as a chip, and sends them with the message', async () => {
    uploads.length = 0
    const { wrapper } = mountChat()
    const input = wrapper.get('[data-testid="file-input"]')
    const sop = new File(['# SOP\n- step'], 'Onboarding SOP.md', { type: 'text/markdown' })
    Object.defineProperty(input.element, 'files', { value: [sop], configurable: true })
    await input.trigger('change')
    expect(wrapper.get('[data-testid="attachment"]').text()).toContain('Onboarding SOP.md')
    expect(wrapper.get('[data-testid="send"]').attributes('disabled')).toBeDefined() // still uploading
    uploads[0].resolve({ file_id: 'f_sop', name: 'Onboarding SOP.md', media_type: 'text/markdown', size: 13 })
    await new Promise((r) => setTimeout(r))
    const csv = new File(['Phase,Task\nA,B'], 'steps.csv', { type: 'text/csv' })
    await wrapper.get('[data-testid="composer-drop"]').trigger('drop', { dataTransfer: { files: [csv] } })
    uploads[1].resolve({ file_id: 'f_csv', name: 'steps.csv', media_type: 'text/csv', size: 14 })
    await new Promise((r) => setTimeout(r))
    await wrapper.get('form').trigger('submit')
    const [[prompt, files]] = wrapper.emitted('send')
    expect(prompt).toBe('Turn the attached document into a playbook.')
    expect(files.map((f) => f.file_id)).toEqual(['f_sop', 'f_csv'])
    expect(wrapper.findAll('[data-testid="attachment"]')).toHaveLength(0)
  })

  it('refuses a file it cannot send before uploading and keeps the text', async () => {
    uploads.length = 0
    const { wrapper } = mountChat()
    await wrapper.get('textarea').setValue('Here is our SOP')
    const input = wrapper.get('[data-testid="file-input"]')
    Object.defineProperty(input.element, 'files', { value: [new File(['x'], 'malware.exe')], configurable: true })
    await input.trigger('change')
    expect(uploads).toHaveLength(0)
    expect(wrapper.get('[data-testid="attachment-notice"]').text()).toContain('malware.exe')
    expect(wrapper.get('textarea').element.value).toBe('Here is our SOP')
    expect(wrapper.get('[data-testid="attachment-limits"]').text()).toMatch(/5 files, 10 MB each, 25 MB per message/)
  })
})
