import { onBeforeUnmount, ref, watch, type Ref } from 'vue'

export interface Suggestion { id: number; text: string; lang: 'en' | 'zh' }

/** Suggestions as you type from /api/search/suggest: debounced, stale answers dropped. */
export function useSuggest(text: Ref<string>, delayMs = 200) {
  const suggestions = ref<Suggestion[]>([])
  let timer: number | undefined
  let controller: AbortController | null = null
  let seq = 0

  async function fetchFor(q: string, mine: number) {
    controller?.abort()
    controller = new AbortController()
    try {
      const url = `/api/search/suggest?${new URLSearchParams({ q, size: '8' })}`
      const response = await fetch(url, { signal: controller.signal, headers: { Accept: 'application/json' } })
      if (!response.ok) return
      const data = (await response.json()) as { suggestions: Suggestion[] }
      if (mine === seq) suggestions.value = data.suggestions
    } catch {
      /* aborted or offline: keep what is shown */
    }
  }
  watch(text, (value) => {
    window.clearTimeout(timer)
    const q = value.trim()
    const mine = ++seq
    if (!q) {
      controller?.abort()
      suggestions.value = []
      return
    }
    timer = window.setTimeout(() => void fetchFor(q.slice(0, 50), mine), delayMs)
  })
  onBeforeUnmount(() => {
    window.clearTimeout(timer)
    controller?.abort()
  })
  const clear = () => {
    seq++
    suggestions.value = []
  }
  return { suggestions, clear }
}
