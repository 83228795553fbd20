import { defineStore } from 'pinia'
import { api, type Page } from '../api/client'
import type { Location, Product } from '../api/types'

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
    async search(query: string, category: string) {
      this.query = query
      this.category = category
      const page = await api<Page<Product>>('/api/products/', { params: { q: query, category, limit: '60' } })
      this.products = page.results
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
