import { computed, onMounted } from 'vue'
import { useRouter } from 'vue-router'
import { useSessionStore } from '../stores/session'

/** Console pages: wait for the session, send anonymous visitors to sign in, check a role. */
export function useRoleGate(roles: string[], onReady: () => void | Promise<void>) {
  const session = useSessionStore()
  const router = useRouter()
  const allowed = computed(() => session.profile.roles.some((role) => roles.includes(role)))
  onMounted(async () => {
    if (!session.loaded) await session.load()
    if (!session.profile.authenticated) {
      await router.replace({ path: '/login', query: { next: router.currentRoute.value.fullPath } })
    } else if (allowed.value) {
      await onReady()
    }
  })
  return { allowed, session }
}
