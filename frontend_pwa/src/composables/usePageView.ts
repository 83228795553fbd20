import { api } from '../api/client'

/** The share code a `/s/<code>` redirect put in the URL (`?share=`), if any. */
function shareFromUrl(): string {
  const share = new URLSearchParams(window.location.search).get('share') ?? ''
  return /^[A-Za-z0-9_-]{1,24}$/.test(share) ? share : ''
}

/**
 * Record one page view (`POST /api/social/views`, docs/attribution.md) for a product or a
 * show. Fire-and-forget: never awaited by the page, errors ignored (the server dedups
 * repeats per visitor, so a double call cannot double count).
 */
export function pageViewRecord(targetKind: 'product' | 'show', targetId: string): void {
  if (!targetId) return
  const share = shareFromUrl()
  const body = share ? { target_kind: targetKind, target_id: targetId, share } : { target_kind: targetKind, target_id: targetId }
  api('/api/social/views', { method: 'POST', body }).catch(() => undefined)
}
