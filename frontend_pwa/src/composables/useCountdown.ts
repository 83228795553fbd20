import { onBeforeUnmount, ref } from 'vue'

/** Seconds left until an ISO time, ticking once a second. */
export function useCountdown(untilIso: () => string | undefined) {
  const now = ref(Date.now())
  const timer = window.setInterval(() => (now.value = Date.now()), 1000)
  onBeforeUnmount(() => window.clearInterval(timer))
  return () => {
    const until = untilIso()
    return until ? Math.max(0, Math.round((Date.parse(until) - now.value) / 1000)) : 0
  }
}
