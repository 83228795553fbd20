import { onBeforeUnmount, reactive, ref } from 'vue'
import { newIdempotencyKey } from '../api/client'

// docs/live-protocol.md: the first frame is a `hello` snapshot, then batched `frame`s with
// only what changed; frames whose seq is not newer than the last are dropped (reconnects).

export interface LiveComment { cid: string; author: string; role: string; text: string; at: number; author_id?: number }
export interface LiveVariant { sku: string; attributes: Record<string, string>; stock_left: number }
export interface Pinned { label: string; product: string; product_zh: string; slug: string; price: number; stock_left: number; variants: LiveVariant[] }
export interface Drop { id: number; kind: string; status: string; item: string; price: number; left: number; per_buyer_limit: number; product: string; product_zh: string; starts_at?: string; ends_at?: string | null; quota?: number }
export interface HoldNotice { type: string; drop: number; hold: string | null; sku: string; quantity: number; expires_at: string }
export interface LiveCoupon { id: number; code: string; left: number; claim_limit: number }

const MAX_COMMENTS = 200

/** One live room connection: state from the snapshot and frames, plus the viewer's actions. */
export function useLiveRoom(code: string) {
  const state = reactive({
    connected: false,
    closedCode: 0,
    show: null as null | { code: string; title: string; status: string; host: string },
    pinned: null as Pinned | null,
    drops: {} as Record<string, Drop>,
    comments: [] as LiveComment[],
    likes: 0,
    viewers: 0,
    slowMode: 0,
    announcements: [] as { text: string; at: number }[],
    holds: [] as HoldNotice[],
    lastError: '',
    lastErrorCode: '',
    lastResult: '',
    coupons: {} as Record<string, LiveCoupon>,
    claimed: {} as Record<string, string>,
    waitlisted: {} as Record<string, number>,
    failed: [] as { drop: number; message: string }[],
  })
  const seq = ref(-1)
  let socket: WebSocket | null = null
  let refCounter = 0
  let retry = 0
  let stopped = false

  function apply(message: Record<string, any>) {
    if (message.type === 'hello') {
      seq.value = message.seq
      const s = message.snapshot
      state.show = s.show
      state.pinned = s.pinned ?? null
      state.drops = Object.fromEntries((s.drops ?? []).map((d: Drop) => [String(d.id), d]))
      state.comments = s.comments ?? []
      state.likes = s.likes ?? 0
      state.viewers = s.viewers ?? 0
      state.slowMode = s.slow_mode_seconds ?? 0
      return
    }
    if (message.type === 'frame') {
      if (message.seq <= seq.value) return
      seq.value = message.seq
      if (message.comments) state.comments = [...state.comments, ...message.comments].slice(-MAX_COMMENTS)
      if (message.deleted) state.comments = state.comments.filter((c) => !message.deleted.includes(c.cid))
      if (message.likes !== undefined) state.likes += message.likes
      if (message.viewers !== undefined) state.viewers = message.viewers
      if ('pinned' in message) state.pinned = message.pinned
      if (message.drops) Object.assign(state.drops, message.drops)
      for (const [id, left] of Object.entries(message.drop_left ?? {})) {
        if (state.drops[id]) state.drops[id].left = left as number
      }
      if (message.status && state.show) state.show.status = message.status
      if (message.slow_mode_seconds !== undefined) state.slowMode = message.slow_mode_seconds
      if (message.announcements) state.announcements = [...state.announcements, ...message.announcements].slice(-5)
      for (const item of message.private ?? []) {
        if (item.hold) state.holds.push(item)
        else if (item.type === 'buy.failed') state.failed.push({ drop: item.drop, message: item.message ?? '' })
      }
      for (const c of message.coupons ?? []) state.coupons[String(c.id)] = c
      return
    }
    if (message.type === 'buy.result') {
      state.lastResult = message.status
      if (message.hold) state.holds.push({ ...(message as HoldNotice), type: 'hold' })
    } else if (message.type === 'coupon.ok') {
      state.claimed[String(message.coupon)] = message.code
    } else if (message.type === 'waitlist.ok') {
      state.waitlisted[String(message.drop)] = message.entry
    } else if (message.type === 'error') {
      state.lastError = message.message
      state.lastErrorCode = message.code ?? ''
    }
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
    socket = new WebSocket(`${scheme}://${location.host}/ws/live/${encodeURIComponent(code)}/`)
    socket.onopen = () => {
      state.connected = true
      retry = 0
    }
    socket.onmessage = (event) => {
      try {
        apply(JSON.parse(event.data))
      } catch {
        /* a malformed frame is ignored; the next one carries the state */
      }
    }
    socket.onclose = (event) => {
      state.connected = false
      state.closedCode = event.code
      // 4404 unknown show, 4403 banned, 4008 abuse: do not retry those
      if (stopped || [4404, 4403, 4008].includes(event.code)) return
      retry += 1
      window.setTimeout(connect, Math.min(30000, 500 * 2 ** retry))
    }
  }

  function send(message: Record<string, unknown>): boolean {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false
    state.lastError = ''
    state.lastErrorCode = ''
    socket.send(JSON.stringify({ ...message, ref: ++refCounter }))
    return true
  }
  const comment = (text: string) => send({ type: 'comment', text })
  const like = () => send({ type: 'like', count: 1 })
  const buy = (sku: string, quantity: number, drop?: number) =>
    send({ type: 'buy', sku, quantity, key: newIdempotencyKey(), ...(drop ? { drop } : {}) })

  const joinWaitlist = (drop: number, sku: string, quantity: number) => send({ type: 'waitlist.join', drop, sku, quantity })
  const claimCoupon = (coupon: number) => send({ type: 'coupon.claim', coupon, key: newIdempotencyKey() })

  connect()
  onBeforeUnmount(() => {
    stopped = true
    socket?.close()
  })
  return { state, comment, like, buy, joinWaitlist, claimCoupon }
}
