import { onBeforeUnmount, ref, shallowRef } from 'vue'

// Publish the browser camera by WHIP (RFC 9725, docs/live-video.md): one sendonly
// RTCPeerConnection, the complete offer POSTed as application/sdp with the stream key as
// a bearer token; DELETE on the returned Location ends the publication.

export type PublishState = 'idle' | 'preview' | 'connecting' | 'live' | 'error'

export function useWhipPublisher() {
  const media = shallowRef<MediaStream | null>(null)
  const status = ref<PublishState>('idle')
  const error = ref('')
  let pc: RTCPeerConnection | null = null
  let session: { url: string; key: string } | null = null

  async function preview() {
    error.value = ''
    if (!media.value) {
      media.value = await navigator.mediaDevices.getUserMedia({ video: { height: 720 }, audio: true })
    }
    if (status.value === 'idle' || status.value === 'error') status.value = 'preview'
    return media.value
  }

  async function publish(whipUrl: string, streamKey: string) {
    error.value = ''
    try {
      const stream = await preview()
      status.value = 'connecting'
      pc = new RTCPeerConnection()
      for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' })
      await pc.setLocalDescription(await pc.createOffer())
      await gathered(pc)
      const response = await fetch(whipUrl, {
        method: 'POST',
        body: pc.localDescription!.sdp,
        headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${streamKey}` },
      })
      if (response.status !== 201) {
        const body = await response.json().catch(() => null)
        throw new Error(body?.error?.message ?? `HTTP ${response.status}`)
      }
      session = { url: new URL(response.headers.get('Location') ?? '', whipUrl).toString(), key: streamKey }
      await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() })
      status.value = 'live'
      pc.addEventListener('connectionstatechange', () => {
        if (pc && ['failed', 'closed'].includes(pc.connectionState)) {
          status.value = 'error'
          error.value = pc.connectionState
        }
      })
    } catch (e) {
      closePeer()
      status.value = 'error'
      error.value = (e as Error).message
    }
  }

  async function stop() {
    const ending = session
    session = null
    closePeer()
    if (ending) {
      await fetch(ending.url, { method: 'DELETE', headers: { Authorization: `Bearer ${ending.key}` } }).catch(() => undefined)
    }
    status.value = media.value ? 'preview' : 'idle'
  }

  function closePeer() {
    pc?.close()
    pc = null
  }

  function release() {
    void stop()
    media.value?.getTracks().forEach((track) => track.stop())
    media.value = null
    status.value = 'idle'
  }

  onBeforeUnmount(release)
  return { media, status, error, preview, publish, stop, release }
}

/** The answer must carry every candidate (the server does no trickle ICE). */
function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === 'complete') {
        pc.removeEventListener('icegatheringstatechange', done)
        resolve()
      }
    }
    pc.addEventListener('icegatheringstatechange', done)
    window.setTimeout(resolve, 5000) // publish what was gathered so far
  })
}
