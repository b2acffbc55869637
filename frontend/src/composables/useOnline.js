// Whether the browser thinks it is online (navigator.onLine, kept current by online/offline events).

import { onBeforeUnmount, onMounted, ref } from 'vue'

export function useOnline() {
  const online = ref(typeof navigator === 'undefined' ? true : navigator.onLine !== false)
  const update = () => {
    online.value = navigator.onLine !== false
  }
  onMounted(() => {
    window.addEventListener('online', update)
    window.addEventListener('offline', update)
  })
  onBeforeUnmount(() => {
    window.removeEventListener('online', update)
    window.removeEventListener('offline', update)
  })
  return online
}
