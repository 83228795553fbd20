import { onBeforeUnmount, ref } from 'vue'
import { api } from '../api/client'
import type { Order } from '../api/types'

const FINAL = new Set(['picked_up', 'delivered', 'cancelled', 'returned'])

/** Follows one order's status until it is final, so "ready for pick-up" shows up unasked. */
export function useOrderWatch(number: string, onChange: (order: Order) => void, everyMs = 5000) {
  const lastStatus = ref('')
  let timer: number | undefined
  async function poll() {
    const order = await api<Order>(`/api/orders/${encodeURIComponent(number)}/`)
    if (order.status !== lastStatus.value) {
      lastStatus.value = order.status
      onChange(order)
    }
    if (FINAL.has(order.status)) window.clearInterval(timer)
  }
  timer = window.setInterval(() => void poll().catch(() => undefined), everyMs)
  onBeforeUnmount(() => window.clearInterval(timer))
  return { poll, lastStatus }
}
