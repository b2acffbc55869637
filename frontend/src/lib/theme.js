// The colour scheme: the system's unless the person chose one with the toggle. The choice is kept
// in localStorage under the same key the server pages use (webapp/static/js/ui.js), so it follows
// them across the whole product; design.css reads <html data-theme="light|dark">.

import { onBeforeUnmount, onMounted, ref } from 'vue'

export const THEME_KEY = 'pb-theme'

function stored() {
  try {
    const value = globalThis.localStorage?.getItem(THEME_KEY)
    return value === 'dark' || value === 'light' ? value : null
  } catch {
    return null
  }
}

function systemDark() {
  return Boolean(globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches)
}

/** The scheme in use now: "light" or "dark". */
export function currentTheme() {
  return stored() ?? (systemDark() ? 'dark' : 'light')
}

/** Applies a remembered choice to <html> (call once before mounting). */
export function applyStoredTheme(root = document.documentElement) {
  const choice = stored()
  if (choice) root.dataset.theme = choice
  else delete root.dataset.theme
}

/** Remembers and applies a scheme. */
export function setTheme(theme, root = document.documentElement) {
  try {
    globalThis.localStorage?.setItem(THEME_KEY, theme)
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  root.dataset.theme = theme
}

/** A component's view of the scheme: `dark` (reactive) and `toggle()`. */
export function useTheme() {
  const dark = ref(currentTheme() === 'dark')
  let query = null
  const onSystem = () => {
    dark.value = currentTheme() === 'dark'
  }
  onMounted(() => {
    query = globalThis.matchMedia?.('(prefers-color-scheme: dark)') ?? null
    query?.addEventListener?.('change', onSystem)
  })
  onBeforeUnmount(() => query?.removeEventListener?.('change', onSystem))
  function toggle() {
    setTheme(dark.value ? 'light' : 'dark')
    dark.value = !dark.value
  }
  return { dark, toggle }
}
