import { defineStore } from 'pinia'
import { api } from '../api/client'
import type { SessionProfile } from '../api/types'

const ANONYMOUS: SessionProfile = { authenticated: false, username: '', roles: [], locations: [] }

export const useSessionStore = defineStore('session', {
  state: () => ({ profile: ANONYMOUS as SessionProfile, loaded: false }),
  getters: {
    isStaff: (s) => s.profile.roles.includes('store_staff') || s.profile.roles.includes('merchant_admin'),
  },
  actions: {
    async load() {
      this.profile = await api<SessionProfile>('/api/session/')
      this.loaded = true
    },
    async login(username: string, password: string) {
      if (!this.loaded) await this.load() // sets the CSRF cookie first
      this.profile = await api<SessionProfile>('/api/session/login/', { method: 'POST', body: { username, password } })
    },
    async logout() {
      this.profile = await api<SessionProfile>('/api/session/logout/', { method: 'POST' })
    },
  },
})
