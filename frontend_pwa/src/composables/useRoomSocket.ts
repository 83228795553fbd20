import { onBeforeUnmount } from 'vue'
import { i18n } from '../i18n'

// The live room socket of docs/live-protocol.md, shared by the viewer (useLiveRoom) and the
// host console (useHostRoom): connect to /ws/live/<code>/, parse frames, drop frames whose
// seq is not newer than the last (they repeat after a reconnect), reconnect with
// exponential backoff, and apply the room fields both sides show.

export interface LiveComment { cid: string; author: string; role: string; text: string; at: number; author_id?: number }
export interface LiveVariant { sku: string; attributes: Record<string, string>; stock_left: number }
export interface Pinned { label: string; product: string; product_zh: string; slug: string; price: number; stock_left: number; variants: LiveVariant[] }
export interface Drop { id: number; kind: string; status: string; item: string; price: number; left: number; per_buyer_limit: number; product: string; product_zh: string; starts_at?: string; ends_at?: string | null; quota?: number }
export interface LiveCoupon { id: number; code: string; left: number; claim_limit: number }

export type RoomMessage = Record<string, any>

/** What the viewer and the host both keep of a room. */
export interface RoomState {
  connected: boolean
  /** the last close code (4404 unknown show, 4403 banned, 4008 abuse, …) */
  closedCode: number
  pinned: Pinned | null
  drops: Record<string, Drop>
  coupons: Record<string, LiveCoupon>
  comments: LiveComment[]
  likes: number
  viewers: number
  slowMode: number
}

export const MAX_COMMENTS = 200
/** Close codes after which reconnecting cannot help: unknown show, banned, abuse. */
const FINAL_CLOSE_CODES = [4404, 4403, 4008]
const BACKOFF_BASE_MS = 500
const BACKOFF_MAX_MS = 30_000

/** The `hello` snapshot's room fields. */
export function applySnapshot(state: RoomState, snapshot: RoomMessage): void {
  state.pinned = snapshot.pinned ?? null
  state.drops = Object.fromEntries((snapshot.drops ?? []).map((d: Drop) => [String(d.id), d]))
  state.comments = snapshot.comments ?? []
  state.likes = snapshot.likes ?? 0
  state.viewers = snapshot.viewers ?? 0
  state.slowMode = snapshot.slow_mode_seconds ?? 0
}

/** A `frame`'s room fields: each present field is what changed since the last frame. */
export function applyFrame(state: RoomState, frame: RoomMessage): void {
  if (frame.comments) state.comments = [...state.comments, ...frame.comments].slice(-MAX_COMMENTS)
  if (frame.deleted) state.comments = state.comments.filter((c) => !frame.deleted.includes(c.cid))
  if (frame.likes !== undefined) state.likes += frame.likes
  if (frame.viewers !== undefined) state.viewers = frame.viewers
  if ('pinned' in frame) state.pinned = frame.pinned
  if (frame.drops) Object.assign(state.drops, frame.drops)
  for (const [id, left] of Object.entries(frame.drop_left ?? {})) {
    if (state.drops[id]) state.drops[id].left = left as number
  }
  for (const c of frame.coupons ?? []) state.coupons[String(c.id)] = c
  if (frame.slow_mode_seconds !== undefined) state.slowMode = frame.slow_mode_seconds
}

export interface RoomSocketOptions {
  /** `hello` (after every connect) and newer `frame`s, then every other message type */
  onMessage: (message: RoomMessage) => void
  /** the socket closed (before any reconnect is scheduled) */
  onClose?: (code: number) => void
}

/**
 * One room connection for the lifetime of the calling component; `state.connected` and
 * `state.closedCode` follow the socket. `send` adds a fresh `ref` and returns it, or 0
 * when the socket is not open.
 */
export function useRoomSocket(code: string, state: Pick<RoomState, 'connected' | 'closedCode'>, options: RoomSocketOptions) {
  let socket: WebSocket | null = null
  let seq = -1
  let refCounter = 0
  let retry = 0
  let stopped = false
  /** closed while the page sits in the back/forward cache */
  let parked = false

  function receive(message: RoomMessage) {
    if (message.type === 'hello') seq = message.seq
    else if (message.type === 'frame') {
      if (message.seq <= seq) return
      seq = message.seq
    }
    options.onMessage(message)
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
    // the server words its error frames in the language the reader chose (hub/kernel/i18n.py)
    const lang = encodeURIComponent(i18n.global.locale.value)
    socket = new WebSocket(`${scheme}://${location.host}/ws/live/${encodeURIComponent(code)}/?lang=${lang}`)
    socket.onopen = () => {
      state.connected = true
      retry = 0
    }
    socket.onmessage = (event) => {
      try {
        receive(JSON.parse(event.data))
      } catch {
        /* a malformed frame is ignored; the next one carries the state */
      }
    }
    socket.onclose = (event) => {
      state.connected = false
      state.closedCode = event.code
      options.onClose?.(event.code)
      if (stopped || parked || FINAL_CLOSE_CODES.includes(event.code)) return
      retry += 1
      window.setTimeout(connect, Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** retry))
    }
  }

  function send(message: Record<string, unknown>): number {
    if (!socket || socket.readyState !== WebSocket.OPEN) return 0
    const ref = ++refCounter
    socket.send(JSON.stringify({ ...message, ref }))
    return ref
  }

  // A page with an open WebSocket is never kept in the back/forward cache: close it when
  // the page may be kept, and connect again (a fresh `hello`) when it is shown from there.
  function pageHidden(event: PageTransitionEvent) {
    if (!event.persisted) return
    parked = true
    socket?.close()
  }
  function pageShown(event: PageTransitionEvent) {
    if (!event.persisted || !parked || stopped) return
    parked = false
    retry = 0
    connect()
  }
  window.addEventListener('pagehide', pageHidden)
  window.addEventListener('pageshow', pageShown)

  connect()
  onBeforeUnmount(() => {
    stopped = true
    window.removeEventListener('pagehide', pageHidden)
    window.removeEventListener('pageshow', pageShown)
    socket?.close()
  })
  return { send }
}
