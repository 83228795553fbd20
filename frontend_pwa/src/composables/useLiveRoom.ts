import { reactive } from 'vue'
import { newIdempotencyKey } from '../api/client'
import { applyFrame, applySnapshot, useRoomSocket, type Drop, type LiveComment, type LiveCoupon, type Pinned, type RoomMessage } from './useRoomSocket'

// docs/live-protocol.md: the first frame is a `hello` snapshot, then batched `frame`s with
// only what changed (useRoomSocket drops repeats and reconnects); the viewer's own
// replies and private notices (holds, failed buys) come on the same socket.

export type { Drop, LiveComment, LiveCoupon, LiveVariant, Pinned } from './useRoomSocket'
export interface HoldNotice { type: string; drop: number; hold: string | null; sku: string; quantity: number; expires_at: string }

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

  function apply(message: RoomMessage) {
    if (message.type === 'hello') {
      state.show = message.snapshot.show
      applySnapshot(state, message.snapshot)
      return
    }
    if (message.type === 'frame') {
      applyFrame(state, message)
      if (message.status && state.show) state.show.status = message.status
      if (message.announcements) state.announcements = [...state.announcements, ...message.announcements].slice(-5)
      for (const item of message.private ?? []) {
        if (item.hold) state.holds.push(item)
        else if (item.type === 'buy.failed') state.failed.push({ drop: item.drop, message: item.message ?? '' })
      }
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
  const socket = useRoomSocket(code, state, { onMessage: apply })

  function send(message: Record<string, unknown>): boolean {
    state.lastError = ''
    state.lastErrorCode = ''
    return socket.send(message) > 0
  }
  const comment = (text: string) => send({ type: 'comment', text })
  const like = () => send({ type: 'like', count: 1 })
  const buy = (sku: string, quantity: number, drop?: number) =>
    send({ type: 'buy', sku, quantity, key: newIdempotencyKey(), ...(drop ? { drop } : {}) })

  const joinWaitlist = (drop: number, sku: string, quantity: number) => send({ type: 'waitlist.join', drop, sku, quantity })
  const claimCoupon = (coupon: number) => send({ type: 'coupon.claim', coupon, key: newIdempotencyKey() })

  return { state, comment, like, buy, joinWaitlist, claimCoupon }
}
