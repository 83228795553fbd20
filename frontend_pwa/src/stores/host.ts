import { defineStore } from 'pinia'
import { api, type Page } from '../api/client'
import type { Product } from '../api/types'

// Shapes of live/api (serializers.py, host_views.py) and live/video/api (ingest).

export interface LineupItem { label: string; product: string; position: number; live_price_amount: number; quota: number; per_buyer_limit: number; product_name_en?: string; product_name_zh?: string }
export interface HostShow {
  code: string
  title: string
  host: string
  status: 'scheduled' | 'live' | 'ended'
  scheduled_at: string
  started_at: string | null
  ended_at: string | null
  like_count: number
  peak_viewers: number
  lineup: LineupItem[]
  ws_path: string
  pinned: string | null
  slow_mode_seconds: number
  blocked_words: string[]
  sales_channel: string
  currency: string
  muted?: number[]
  banned?: number[]
}
export interface Ingest { whip_url: string; stream_key: string; keep_replays: boolean; keep_replays_url: string }
export interface DashboardFigures {
  viewers: number
  peak_viewers: number
  comments_per_minute: number
  likes: number
  holds: number
  paid_orders: number
  gmv: number
  currency: string
  conversion: number
}
export interface NewLineupItem { product: string; label: string; live_price_amount: number; quota: number; per_buyer_limit: number }

/** The host console's data: the host's own shows, one show, its ingest and dashboard. */
export const useHostStore = defineStore('host', {
  state: () => ({ shows: [] as HostShow[], show: null as HostShow | null, ingest: null as Ingest | null, ingestCode: '' }),
  actions: {
    async loadShows() {
      this.shows = await api<HostShow[]>('/api/live/host/shows/')
    },
    async loadShow(code: string) {
      this.show = await api<HostShow>(`/api/live/host/shows/${encodeURIComponent(code)}/`)
      return this.show
    },
    async createShow(title: string, scheduledAt: Date): Promise<string> {
      const show = await api<HostShow>('/api/live/shows/', {
        method: 'POST',
        body: { title, scheduled_at: scheduledAt.toISOString(), sales_channel: 'live' },
      })
      await this.loadShows()
      return show.code
    },
    async addLineup(code: string, item: NewLineupItem) {
      await api(`/api/live/shows/${encodeURIComponent(code)}/lineup/`, { method: 'POST', body: item })
      await this.loadShow(code)
    },
    async addModerator(code: string, username: string) {
      await api(`/api/live/shows/${encodeURIComponent(code)}/moderators/`, { method: 'POST', body: { username } })
    },
    /** The WHIP URL and stream key (host only, never cached). */
    async loadIngest(code: string) {
      this.ingest = await api<Ingest>(`/api/live/video/shows/${encodeURIComponent(code)}/ingest`)
      this.ingestCode = code
      return this.ingest
    },
    /** The show's ingest: the one loaded if it is this show's, else a fresh one. */
    async ingestOf(code: string) {
      return this.ingest && this.ingestCode === code ? this.ingest : this.loadIngest(code)
    },
    /** Keep the show's replays forever, or let them expire with the shop's retention. */
    async keepReplays(code: string, keep: boolean) {
      const ingest = await this.ingestOf(code)
      this.ingest = await api<Ingest>(ingest.keep_replays_url, { method: 'POST', body: { keep } })
      return this.ingest
    },
    async loadDashboard(code: string) {
      return api<DashboardFigures>(`/api/live/shows/${encodeURIComponent(code)}/dashboard/`)
    },
    async searchProducts(q: string): Promise<Product[]> {
      const page = await api<Page<Product>>('/api/products/', { params: { q, limit: '20' } })
      return page.results
    },
  },
})
