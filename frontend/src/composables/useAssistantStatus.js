// The assistant's status line (chat header, and the phone's status bar under the tabs), from the
// store, the browser's online state and the last error shown (lib/status.js assistantStatus).

import { computed } from 'vue'
import { storeToRefs } from 'pinia'
import { usePlaybookBuilderStore } from '../stores/playbookBuilder.js'
import { assistantStatus } from '../lib/status.js'
import { useOnline } from './useOnline.js'

export function useAssistantStatus() {
  const store = usePlaybookBuilderStore()
  const { messages, banner, chatRunning, watching, resuming, stopping, isBuilding, buildProgress } = storeToRefs(store)
  const online = useOnline()
  // The newest message is an error (nothing has worked since), or the page-level banner.
  const lastError = computed(() => {
    const last = messages.value[messages.value.length - 1]
    if (last?.role === 'error') return last.error ?? { code: last.code }
    return banner.value ? { code: banner.value.code, status: banner.value.status } : null
  })
  return computed(() =>
    assistantStatus({
      online: online.value,
      stopping: stopping.value,
      running: chatRunning.value || resuming.value,
      building: watching.value || isBuilding.value,
      progress: buildProgress.value,
      lastError: lastError.value,
    }),
  )
}
