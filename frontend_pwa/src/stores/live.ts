import { defineStore } from 'pinia'
import { api, type Page } from '../api/client'

/** What POST /api/live/orders/ answers (live/api/views.py LiveOrderCreate). */
export interface LiveOrder { order: string; status: string; total_amount: number; currency: string }

export interface ShowSummary { code: string; title: string; host: string; status: string; scheduled_at: string }

export const useLiveStore = defineStore('live', {
  state: () => ({ shows: [] as ShowSummary[], reminders: [] as string[] }),
  actions: {
    /** Shows this member asked to be reminded of (web push, docs/pwa.md). */
    async loadReminders() {
      this.reminders = (await api<{ shows: string[] }>('/api/pwa/push/reminders/')).shows
    },
    async loadShows() {
      const data = await api<Page<ShowSummary> | ShowSummary[]>('/api/live/shows/')
      this.shows = Array.isArray(data) ? data : data.results
    },
    /** Turn a live hold into a pending-payment order at the drop price (docs/live-protocol.md). */
    async orderFromHold(hold: string, pickupLocation: string): Promise<LiveOrder> {
      return api<LiveOrder>('/api/live/orders/', {
        method: 'POST',
        // one key per hold: a retry after a lost answer returns the same order
        idempotencyKey: `live-order:${hold}`,
        body: { hold, fulfilment_method: 'pickup', pickup_location: pickupLocation },
      })
    },
  },
})
