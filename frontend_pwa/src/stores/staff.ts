import { defineStore } from 'pinia'
import { api, type Page } from '../api/client'
import type { Order, PickListRow, Product } from '../api/types'

export type FulfilmentStep = 'pick' | 'pack' | 'ready' | 'ship' | 'deliver' | 'handover'

// Shapes of oms/api (returns, stock) and channels_sync/api (health).
export interface ReturnLine { id: number; order_line: number; quantity: number; restock: boolean }
export interface ReturnRequest { rma: string; order: string; status: string; received_at_location: string | null; reason: string; lines: ReturnLine[] }
export interface StockLevel { sku: string; location: string; on_hand: number; allocated: number; reserved: number; free: number }
export interface StockMovement { id: number; sku: string; location: string; kind: string; on_hand_delta: number; reason: string; created_at: string }
export interface SyncHealth {
  connection_id: number
  sales_channel: string
  platform: string
  enabled: boolean
  last_success_at: string | null
  last_error: string
  lag_s: number
  last_push_lag_ms: number
  queue_depth: number
  order_pushes_pending: number
  error_rate: number
  /** platform-failed share of the last ~10 calls (weighted): what trips the breaker */
  recent_error_rate: number
  throttled_calls: number
  dead_letters: number
  last_reconcile_at: string | null
  /** the connection's circuit breaker (channels_sync/services/breaker.py) */
  breaker_state: BreakerState
  breaker_failures: number
  breaker_opened_at: string | null
  /** open: the next probe; half-open: the probe's deadline */
  breaker_retry_at: string | null
}

export type BreakerState = 'closed' | 'open' | 'half_open'

export const useStaffStore = defineStore('staff', {
  state: () => ({
    inbox: [] as Order[],
    pickList: [] as PickListRow[],
    order: null as Order | null,
    stock: [] as StockLevel[],
    movements: [] as StockMovement[],
    health: [] as SyncHealth[],
  }),
  actions: {
    async loadInbox(status: string, channel: string) {
      const page = await api<Page<Order>>('/api/orders/', { params: { status, sales_channel: channel, limit: '100' } })
      this.inbox = page.results
    },
    async loadPickList(location: string) {
      this.pickList = await api<PickListRow[]>(`/api/locations/${encodeURIComponent(location)}/pick-list/`)
    },
    async loadOrder(number: string) {
      this.order = await api<Order>(`/api/orders/${encodeURIComponent(number)}/`)
    },
    async step(fulfilmentId: number, step: FulfilmentStep, body: Record<string, unknown> = {}) {
      this.order = await api<Order>(`/api/fulfilments/${fulfilmentId}/${step}/`, { method: 'POST', body })
      return this.order
    },
    /** Barcodes of the SKUs on an order, so a scan can be matched to its line. */
    async barcodes(skus: string[]): Promise<Record<string, string>> {
      const found: Record<string, string> = {}
      for (const sku of new Set(skus)) {
        const page = await api<Page<Product>>('/api/products/', { params: { q: sku, limit: '5' } })
        for (const variant of page.results.flatMap((p) => p.variants)) {
          if (variant.sku === sku && variant.barcode) found[variant.barcode] = sku
        }
      }
      return found
    },
    async receiveReturn(rma: string, location: string) {
      return api<ReturnRequest>(`/api/returns/${encodeURIComponent(rma)}/receive/`, { method: 'POST', body: { location } })
    },
    async inspectReturn(rma: string, lines: { return_line: number; restock: boolean }[]) {
      return api<ReturnRequest>(`/api/returns/${encodeURIComponent(rma)}/inspect/`, { method: 'POST', body: { lines } })
    },
    async loadStock(location: string, sku: string) {
      const page = await api<Page<StockLevel>>('/api/stock/', { params: { location, sku, limit: '200' } })
      this.stock = page.results
    },
    async loadMovements(sku: string) {
      const page = await api<Page<StockMovement>>('/api/stock/movements/', { params: { sku, limit: '20' } })
      this.movements = page.results
    },
    async adjustStock(sku: string, location: string, delta: number, reason: string) {
      return api<StockLevel>('/api/stock/adjust/', { method: 'POST', body: { sku, location, delta, reason } })
    },
    async loadHealth() {
      this.health = await api<SyncHealth[]>('/api/sync/connections/')
    },
    async retrySync(connectionId: number) {
      const result = await api<{ requeued: number; health: SyncHealth }>(`/api/sync/connections/${connectionId}/retry/`, { method: 'POST' })
      this.health = this.health.map((h) => (h.connection_id === connectionId ? result.health : h))
      return result.requeued
    },
    async reconcileSync(connectionId: number) {
      return api<Record<string, number>>(`/api/sync/connections/${connectionId}/reconcile/`, { method: 'POST' })
    },
  },
})
