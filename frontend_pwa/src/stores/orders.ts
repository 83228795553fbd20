import { defineStore } from 'pinia'
import { api, newIdempotencyKey, type Page } from '../api/client'
import type { Order } from '../api/types'

export interface PlaceOrderInput {
  sku: string
  quantity: number
  method: 'pickup' | 'ship'
  pickupLocation?: string
  address?: string
}

export interface PaymentStarted {
  reference: string
  provider: string
  method: string
  status: string
  client_payload: { redirect_url?: string; code_url?: string }
  /** Demo only: the simulated gateway's "payer's phone" page; null for real gateways. */
  simulator_pay_url?: string | null
}

export const useOrdersStore = defineStore('orders', {
  state: () => ({ mine: [] as Order[], current: null as Order | null, pendingKey: '' }),
  actions: {
    async loadMine() {
      const page = await api<Page<Order>>('/api/orders/', { params: { limit: '50' } })
      this.mine = page.results
    },
    async load(number: string) {
      this.current = await api<Order>(`/api/orders/${encodeURIComponent(number)}/`)
      return this.current
    },
    /** One key per attempt: a retried click or a flaky network never makes two orders. */
    async place(input: PlaceOrderInput): Promise<Order> {
      this.pendingKey ||= newIdempotencyKey()
      const body: Record<string, unknown> = {
        sales_channel: 'web',
        lines: [{ sku: input.sku, quantity: input.quantity }],
        fulfilment_method: input.method,
      }
      if (input.method === 'pickup') body.pickup_location = input.pickupLocation
      else body.shipping_address = { line1: input.address ?? '' }
      const order = await api<Order>('/api/orders/', { method: 'POST', body, idempotencyKey: this.pendingKey })
      this.pendingKey = ''
      return order
    },
    async cancel(number: string) {
      this.current = await api<Order>(`/api/orders/${encodeURIComponent(number)}/cancel/`, { method: 'POST', body: {} })
    },
    /** Start a payment with any configured provider (docs/payments.md); one key per attempt. */
    async pay(number: string, provider: string, method: string): Promise<PaymentStarted> {
      return api<PaymentStarted>('/api/payments/', {
        method: 'POST',
        idempotencyKey: newIdempotencyKey(),
        body: { order: number, provider, method, return_url: `${location.origin}/orders/${number}` },
      })
    },
    async payWithSandbox(number: string): Promise<string | null> {
      const payment = await api<{ client_payload: Record<string, unknown> }>('/api/payments/', {
        method: 'POST',
        idempotencyKey: newIdempotencyKey(),
        body: { order: number, provider: 'sandbox', method: 'page', return_url: `${location.origin}/orders/${number}` },
      })
      const next = payment.client_payload?.redirect_url
      return typeof next === 'string' ? next : null
    },
  },
})
