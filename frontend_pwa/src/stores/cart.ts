import { defineStore } from 'pinia'
import { api, newIdempotencyKey } from '../api/client'

// The server-side cart (checkout/, docs/checkout.md): anonymous carts live in the session
// and are folded into the member's at sign-in. Prices shown before checkout are list
// prices; the quote is the truth (member price, coupon, points, shipping).

export interface CartLine { sku: string; quantity: number }
export interface VariantInfo {
  sku: string
  attributes: Record<string, string>
  price_amount: number
  currency: string
  product: { id: number; slug: string; name_en: string; name_zh: string; image: string | null }
}
export interface QuoteLine { sku: string; quantity: number; list_price: number; unit_price: number; live_price: boolean }
export interface Quote {
  currency: string
  lines: QuoteLine[]
  goods: number
  member_discount: number
  coupon_code: string
  coupon_discount: number
  shipping: number
  points: number
  points_discount: number
  tax: number
  tax_included: boolean
  total: number
}
export interface Address { id: number; name: string; phone: string; region: string; city: string; line1: string; postcode: string; is_default: boolean }
export interface PickupStore { code: string; name_en: string; name_zh: string; address: string }
export interface Destination { address?: number; pickup_location?: string }

export const useCartStore = defineStore('cart', {
  state: () => ({
    lines: [] as CartLine[],
    info: {} as Record<string, VariantInfo>,
    loaded: false,
    pendingKey: '',
  }),
  getters: {
    count: (s) => s.lines.reduce((n, l) => n + l.quantity, 0),
    listTotal: (s) => s.lines.reduce((n, l) => n + (s.info[l.sku]?.price_amount ?? 0) * l.quantity, 0),
  },
  actions: {
    async apply(body: { lines: CartLine[] }) {
      this.lines = body.lines
      this.loaded = true
      const missing = this.lines.map((l) => l.sku).filter((sku) => !this.info[sku])
      if (missing.length) {
        const { variants } = await api<{ variants: VariantInfo[] }>('/api/pwa/variants/', { params: { sku: missing } })
        for (const v of variants) this.info[v.sku] = v
      }
    },
    async load() {
      await this.apply(await api<{ lines: CartLine[] }>('/api/cart/'))
    },
    /** Set a line's quantity (0 removes it). */
    async set(sku: string, quantity: number) {
      await this.apply(await api<{ lines: CartLine[] }>('/api/cart/', { method: 'PUT', body: { sku, quantity } }))
    },
    async add(sku: string, quantity: number) {
      if (!this.loaded) await this.load()
      const current = this.lines.find((l) => l.sku === sku)?.quantity ?? 0
      await this.set(sku, Math.min(99, current + quantity))
    },
    async pickupStores(): Promise<PickupStore[]> {
      return api<PickupStore[]>('/api/cart/pickup-stores/')
    },
    async addresses(): Promise<Address[]> {
      return api<Address[]>('/api/addresses/')
    },
    async addAddress(address: Omit<Address, 'id' | 'is_default'>): Promise<Address> {
      return api<Address>('/api/addresses/', { method: 'POST', body: address })
    },
    async quote(destination: Destination, coupon: string, points: number): Promise<Quote> {
      return api<Quote>('/api/checkout/quote/', { method: 'POST', body: { ...destination, coupon, points } })
    },
    /** Place the order; one Idempotency-Key per attempt until the server answers. */
    async checkout(destination: Destination, coupon: string, points: number): Promise<{ order: string; total_amount: number }> {
      this.pendingKey ||= newIdempotencyKey()
      const placed = await api<{ order: string; total_amount: number }>('/api/checkout/cart/', {
        method: 'POST',
        idempotencyKey: this.pendingKey,
        body: { ...destination, coupon, points },
      })
      this.pendingKey = ''
      this.lines = []
      return placed
    },
  },
})
