import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { defineComponent, h } from 'vue'
import { THEME_KEY, applyStoredTheme, currentTheme, useTheme } from './theme.js'

function system(dark) {
  return vi.spyOn(window, 'matchMedia').mockImplementation((q) => ({
    matches: dark && q.includes('dark'),
    addEventListener: vi.fn(),
    removeEventListener: vi.fn(),
  }))
}

afterEach(() => {
  localStorage.clear()
  delete document.documentElement.dataset.theme
})

describe('theme', () => {
  it('follows the system until a choice is remembered', () => {
    system(true)
    expect(currentTheme()).toBe('dark')
    applyStoredTheme()
    expect(document.documentElement.dataset.theme).toBeUndefined()
    localStorage.setItem(THEME_KEY, 'light')
    expect(currentTheme()).toBe('light')
    applyStoredTheme()
    expect(document.documentElement.dataset.theme).toBe('light')
  })

  it('the toggle flips the scheme and remembers it under the key the server pages read', async () => {
    system(false)
    const Probe = defineComponent({
      setup() {
        const { dark, toggle } = useTheme()
        return () => h('button', { 'aria-pressed': String(dark.value), onClick: toggle }, 'Dark mode')
      },
    })
    const wrapper = mount(Probe)
    expect(wrapper.attributes('aria-pressed')).toBe('false')
    await wrapper.trigger('click')
    expect(wrapper.attributes('aria-pressed')).toBe('true')
    expect(localStorage.getItem('pb-theme')).toBe('dark')
    expect(document.documentElement.dataset.theme).toBe('dark')
    await wrapper.trigger('click')
    expect(localStorage.getItem('pb-theme')).toBe('light')
    wrapper.unmount()
  })
})
