import { ref } from 'vue'
import { api } from '../api/client'
import { i18n } from '../i18n'

/** The VAPID key (base64url) as the bytes PushManager.subscribe wants. */
function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = (base64url + '='.repeat((4 - (base64url.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/')
  const raw = atob(base64)
  const bytes = new Uint8Array(new ArrayBuffer(raw.length))
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i)
  return bytes
}

/**
 * Web push with consent: nothing is asked on load; `enable()` runs from a button press,
 * asks the browser's permission, subscribes with our VAPID key and hands the
 * subscription to the server (docs/pwa.md "Web push").
 */
export function usePush() {
  const supported = typeof window !== 'undefined' && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window
  const permission = ref<NotificationPermission>(supported ? Notification.permission : 'denied')
  const subscribed = ref(false)

  async function registration(): Promise<ServiceWorkerRegistration | undefined> {
    return (await navigator.serviceWorker.getRegistration('/')) ?? undefined
  }
  async function refresh() {
    if (!supported) return
    const reg = await registration()
    subscribed.value = !!(await reg?.pushManager.getSubscription())
  }
  async function enable(): Promise<boolean> {
    if (!supported) return false
    permission.value = await Notification.requestPermission()
    if (permission.value !== 'granted') return false
    const reg = (await registration()) ?? (await navigator.serviceWorker.ready)
    const { public_key } = await api<{ public_key: string }>('/api/pwa/push/key/')
    const subscription =
      (await reg.pushManager.getSubscription()) ??
      (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(public_key) }))
    await api('/api/pwa/push/subscriptions/', {
      method: 'POST',
      body: { ...subscription.toJSON(), locale: i18n.global.locale.value },
    })
    subscribed.value = true
    return true
  }
  async function disable() {
    const subscription = await (await registration())?.pushManager.getSubscription()
    if (subscription) {
      await api('/api/pwa/push/subscriptions/', { method: 'DELETE', body: { endpoint: subscription.endpoint } }).catch(() => undefined)
      await subscription.unsubscribe()
    }
    subscribed.value = false
  }
  void refresh().catch(() => undefined)
  return { supported, permission, subscribed, enable, disable }
}
