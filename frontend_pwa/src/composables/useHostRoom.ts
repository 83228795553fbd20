import { onBeforeUnmount, reactive } from 'vue'
import type { DashboardFigures } from '../stores/host'
import type { Drop, LiveComment, Pinned } from './useLiveRoom'

// The host's side of docs/live-protocol.md: the same room socket as viewers, plus
// host.* / mod.* requests, each answered by `ok` / `drop.opened` or an `error` with the
// request's `ref`, and a `dashboard` message every 5 s that feeds the charts.

export interface DashboardPoint extends DashboardFigures { at: number }
export interface Coupon { id: number; code: string; left: number; claim_limit: number }

const MAX_COMMENTS = 200
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
    coupons: {} as Record<string, Coupon>,
    comments: [] as LiveComment[],
    likes: 0,
    viewers: 0,
    slowMode: 0,
    series: [] as DashboardPoint[],
  })
  let seq = -1
  let socket: WebSocket | null = null
  let refCounter = 0
  let retry = 0
  let stopped = false
  const pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>()

  function settle(message: Record<string, any>) {
    const waiter = typeof message.ref === 'number' ? pending.get(message.ref) : undefined
    if (!waiter) return
    pending.delete(message.ref)
    if (message.type === 'error') waiter.reject(new Error(message.message || message.code))
    else waiter.resolve(message)
  }

  function apply(message: Record<string, any>) {
    switch (message.type) {
      case 'hello': {
        seq = message.seq
        const s = message.snapshot
        state.role = message.you?.role ?? ''
        state.status = s.show?.status ?? ''
        state.pinned = s.pinned ?? null
        state.drops = Object.fromEntries((s.drops ?? []).map((d: Drop) => [String(d.id), d]))
        state.comments = s.comments ?? []
        state.likes = s.likes ?? 0
        state.viewers = s.viewers ?? 0
        state.slowMode = s.slow_mode_seconds ?? 0
        return
      }
      case 'frame': {
        if (message.seq <= seq) return
        seq = message.seq
        if (message.comments) state.comments = [...state.comments, ...message.comments].slice(-MAX_COMMENTS)
        if (message.deleted) state.comments = state.comments.filter((c) => !message.deleted.includes(c.cid))
        if (message.likes !== undefined) state.likes += message.likes
        if (message.viewers !== undefined) state.viewers = message.viewers
        if ('pinned' in message) state.pinned = message.pinned
        if (message.drops) Object.assign(state.drops, message.drops)
        for (const [id, left] of Object.entries(message.drop_left ?? {})) {
          if (state.drops[id]) state.drops[id].left = left as number
        }
        for (const c of message.coupons ?? []) state.coupons[String(c.id)] = c
        if (message.status) state.status = message.status
        if (message.slow_mode_seconds !== undefined) state.slowMode = message.slow_mode_seconds
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
      for (const waiter of pending.values()) waiter.reject(new Error('disconnected'))
      pending.clear()
      if (stopped || [4404, 4403, 4008].includes(event.code)) return
      retry += 1
      window.setTimeout(connect, Math.min(30000, 500 * 2 ** retry))
    }
  }

  /** Send one request; resolves with its reply, rejects with the server's error message. */
  function request(type: string, fields: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    if (!socket || socket.readyState !== WebSocket.OPEN) return Promise.reject(new Error('disconnected'))
    const ref = ++refCounter
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      pending.set(ref, { resolve, reject })
      window.setTimeout(() => {
        if (pending.delete(ref)) reject(new Error('timeout'))
      }, 15000)
    })
    socket.send(JSON.stringify({ type, ...fields, ref }))
    return reply
  }

  /** Record the REST dashboard as the first point, before the socket's arrive. */
  function seed(figures: DashboardFigures) {
    if (!state.series.length) state.series = [{ ...figures, at: Date.now() }]
  }

  connect()
  onBeforeUnmount(() => {
    stopped = true
    socket?.close()
  })
  return { state, request, seed }
}
