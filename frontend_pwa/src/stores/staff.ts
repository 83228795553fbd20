import { defineStore } from 'pinia'
import { api, type Page } from '../api/client'
import type { Order, PickListRow } from '../api/types'

export type FulfilmentStep = 'pick' | 'pack' | 'ready' | 'ship' | 'deliver' | 'handover'

export const useStaffStore = defineStore('staff', {
  state: () => ({ inbox: [] as Order[], pickList: [] as PickListRow[], order: null as Order | null }),
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
    async receiveReturn(rma: string, location: string) {
      return api<Record<string, unknown>>(`/api/returns/${encodeURIComponent(rma)}/receive/`, { method: 'POST', body: { location } })
    },
  },
})
