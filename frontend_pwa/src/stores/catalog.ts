import { defineStore } from 'pinia'
import { api, type Page } from '../api/client'
import type { Location, Product } from '../api/types'

/** Cards fetched and rendered per page on the catalogue (was 60 at once: LCP 3.4 s).
 * webapp/boot.py CATALOGUE_PAGE_SIZE inlines the first page into the shell: keep in step. */
export const PAGE_SIZE = 16

export const useCatalogStore = defineStore('catalog', {
  state: () => ({
    products: [] as Product[],
    count: 0,
    query: '',
    category: '',
    locations: [] as Location[],
    current: null as Product | null,
  }),
  getters: {
    pickupStores: (s) => s.locations.filter((l) => l.pickup),
    categories: (s) => [...new Set(s.products.map((p) => p.category).filter(Boolean))].sort(),
  },
  actions: {
    /** First page only (PAGE_SIZE cards): a small JSON and a short first render (LCP). */
    async search(query: string, category: string) {
      this.query = query
      this.category = category
      const page = await api<Page<Product>>('/api/products/', { params: { q: query, category, limit: String(PAGE_SIZE) } })
      this.products = page.results
      this.count = page.count
    },
    /** The next page of the current search, appended ("Show more"). */
    async more() {
      const params = { q: this.query, category: this.category, limit: String(PAGE_SIZE), offset: String(this.products.length) }
      const page = await api<Page<Product>>('/api/products/', { params })
      const seen = new Set(this.products.map((p) => p.slug))
      this.products.push(...page.results.filter((p) => !seen.has(p.slug)))
      this.count = page.count
    },
    async loadProduct(slug: string) {
      this.current = null
      this.current = await api<Product>(`/api/products/${encodeURIComponent(slug)}/`)
    },
    async loadLocations() {
      if (!this.locations.length) this.locations = await api<Location[]>('/api/locations/')
    },
  },
})
