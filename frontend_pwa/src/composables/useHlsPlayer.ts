import { onBeforeUnmount, ref, type Ref } from 'vue'
import { api } from '../api/client'

interface Playback { playlist_url: string | null; poster_url: string | null }
interface ShowVideo { show: string; live: Playback | null; replays: Playback[] }

/**
 * Plays a show's live playlist, else its newest replay (docs/live-video.md). Safari plays
 * HLS natively; elsewhere hls.js is imported only now, so it never weighs on first load.
 */
export function useHlsPlayer(code: string, video: Ref<HTMLVideoElement | null>) {
  const source = ref<Playback | null>(null)
  const isLive = ref(false)
  let destroy: (() => void) | null = null

  async function start() {
    const info = await api<ShowVideo>(`/api/live/video/shows/${encodeURIComponent(code)}`)
    source.value = info.live ?? info.replays[0] ?? null
    isLive.value = !!info.live
    const url = source.value?.playlist_url
    const el = video.value
    if (!url || !el) return
    if (el.canPlayType('application/vnd.apple.mpegurl')) {
      el.src = url
      return
    }
    const { default: Hls } = await import('hls.js')
    if (!Hls.isSupported()) return
    const hls = new Hls({ lowLatencyMode: isLive.value })
    hls.loadSource(url)
    hls.attachMedia(el)
    destroy = () => hls.destroy()
  }
  onBeforeUnmount(() => destroy?.())
  return { source, isLive, start }
}
