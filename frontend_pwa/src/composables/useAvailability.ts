import { onBeforeUnmount, ref, watch, type Ref } from 'vue'
import { api } from '../api/client'
import type { Availability } from '../api/types'

/** Live available-to-promise for some SKUs on one sales channel, refreshed while shown. */
export function useAvailability(skus: Ref<string[]>, salesChannel = 'web', everyMs = 15000) {
  const available = ref<Record<string, number>>({})
  let timer: number | undefined
  async function refresh() {
    if (!skus.value.length) return
    const data = await api<Availability>(`/api/sales-channels/${salesChannel}/availability/`, { params: { sku: skus.value } })
    available.value = data.available
  }
  watch(skus, () => void refresh().catch(() => undefined), { immediate: true })
  timer = window.setInterval(() => {
    if (document.visibilityState === 'visible') void refresh().catch(() => undefined)
  }, everyMs)
  onBeforeUnmount(() => window.clearInterval(timer))
  return { available, refresh }
}
