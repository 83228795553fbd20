import { defineStore } from 'pinia'
import { api } from '../api/client'

// The member centre: tier and points from members/ (/api/members/me/), tier names, the
// next tier and usable coupons from the PWA's own read (/api/pwa/member/).

export interface TierInfo { code: string; name_en: string; name_zh: string; threshold_amount: number; discount_bp: number; points_multiplier_pct: number }
export interface PointsLine { kind: string; delta: number; order: string; expires_at: string | null; created_at: string }
export interface MemberCoupon { code: string; kind: 'fixed' | 'percent' | 'free_shipping'; value: number; currency: string; min_spend: number; valid_until: string | null; uses_left: number; live: boolean }

export const useMemberStore = defineStore('member', {
  state: () => ({
    points: 0,
    ledger: [] as PointsLine[],
    tier: null as TierInfo | null,
    nextTier: null as TierInfo | null,
    spend: 0,
    coupons: [] as MemberCoupon[],
    loaded: false,
  }),
  getters: {
    usableCoupons: (s) => s.coupons.filter((c) => c.uses_left > 0),
  },
  actions: {
    async load() {
      const [me, centre] = await Promise.all([
        api<{ points: number; ledger: PointsLine[] }>('/api/members/me/'),
        api<{ tier: TierInfo | null; next_tier: TierInfo | null; spend_12m: number; coupons: MemberCoupon[] }>('/api/pwa/member/'),
      ])
      this.points = me.points
      this.ledger = me.ledger
      this.tier = centre.tier
      this.nextTier = centre.next_tier
      this.spend = centre.spend_12m
      this.coupons = centre.coupons
      this.loaded = true
    },
  },
})
