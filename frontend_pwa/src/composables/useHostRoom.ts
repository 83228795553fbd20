import { reactive } from 'vue'
import type { DashboardFigures } from '../stores/host'
import { applyFrame, applySnapshot, useRoomSocket, type Drop, type LiveComment, type LiveCoupon, type Pinned, type RoomMessage } from './useRoomSocket'

// The host's side of docs/live-protocol.md: the same room socket as viewers, plus
// host.* / mod.* requests, each answered by `ok` / `drop.opened` or an `error` with the
// request's `ref`, and a `dashboard` message every 5 s that feeds the charts.

export interface DashboardPoint extends DashboardFigures { at: number }
export type Coupon = LiveCoupon

/** Ten minutes of dashboard points at one per 5 s. */
const MAX_POINTS = 120

export function useHostRoom(code: string) {
  const state = reactive({
    connected: false,
    closedCode: 0,
    role: '',
    status: '',
    pinned: null as Pinned | null,
    drops: {} as Record<string, Drop>,
    coupons: {} as Record<string, LiveCoupon>,
    comments: [] as LiveComment[],
    likes: 0,
    viewers: 0,
    slowMode: 0,
    series: [] as DashboardPoint[],
  })
  const pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>()

  function settle(message: Record<string, any>) {
    const waiter = typeof message.ref === 'number' ? pending.get(message.ref) : undefined
    if (!waiter) return
    pending.delete(message.ref)
    if (message.type === 'error') waiter.reject(new Error(message.message || message.code))
    else waiter.resolve(message)
  }

  function apply(message: RoomMessage) {
    switch (message.type) {
      case 'hello': {
        const s = message.snapshot
        state.role = message.you?.role ?? ''
        state.status = s.show?.status ?? ''
        applySnapshot(state, s)
        return
      }
      case 'frame': {
        applyFrame(state, message)
        if (message.status) state.status = message.status
        return
      }
      case 'dashboard': {
        const { type: _type, ...figures } = message
        state.series = [...state.series, { ...(figures as DashboardFigures), at: Date.now() }].slice(-MAX_POINTS)
        return
      }
      default:
        settle(message)
    }
  }

  /** The socket closed: every request still waiting for its reply fails. */
  function disconnected() {
    for (const waiter of pending.values()) waiter.reject(new Error('disconnected'))
    pending.clear()
  }
  const socket = useRoomSocket(code, state, { onMessage: apply, onClose: disconnected })

  /** Send one request; resolves with its reply, rejects with the server's error message. */
  function request(type: string, fields: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const ref = socket.send({ type, ...fields })
    if (!ref) return Promise.reject(new Error('disconnected'))
    // the reply comes in a later task, so registering after sending misses nothing
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      pending.set(ref, { resolve, reject })
      window.setTimeout(() => {
        if (pending.delete(ref)) reject(new Error('timeout'))
      }, 15000)
    })
  }

  /** Record the REST dashboard as the first point, before the socket's arrive. */
  function seed(figures: DashboardFigures) {
    if (!state.series.length) state.series = [{ ...figures, at: Date.now() }]
  }

  return { state, request, seed }
}
