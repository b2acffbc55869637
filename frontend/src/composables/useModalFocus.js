// What every modal in the builder does with the keyboard: focus starts inside (on `initial()`,
// else the container), Tab and Shift+Tab stay inside, Escape calls `onEscape`, and focus goes back
// where it was when the modal closes. `paused()` hands the keyboard to a modal opened on top.
import { nextTick, onBeforeUnmount, onMounted } from 'vue'

const FOCUSABLE = 'button:not([disabled]), a[href]'

export function useModalFocus(container, { onEscape, initial = () => null, paused = () => false }) {
  let previous = null

  function onKeydown(event) {
    if (paused()) return
    if (event.key === 'Escape') {
      event.preventDefault()
      onEscape()
    } else if (event.key === 'Tab') {
      const items = [...(container.value?.querySelectorAll(FOCUSABLE) ?? [])]
      if (items.length === 0) return
      const first = items[0]
      const last = items[items.length - 1]
      const active = document.activeElement
      if (event.shiftKey && (active === first || active === container.value)) {
        event.preventDefault()
        last.focus()
      } else if (!event.shiftKey && active === last) {
        event.preventDefault()
        first.focus()
      }
    }
  }

  onMounted(async () => {
    previous = document.activeElement
    await nextTick()
    ;(initial() ?? container.value)?.focus()
  })
  onBeforeUnmount(() => previous?.focus?.())

  return { onKeydown }
}
