// The one door to the server: JSON over fetch with the session cookie, Django's CSRF token
// on writes, an Idempotency-Key where the API asks for one, and the shared error shape
// ({"error": {"code", "message", "details"}}) turned into ApiError.

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public details: Record<string, unknown> = {},
  ) {
    super(message)
  }
}

function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/)
  return match ? decodeURIComponent(match[1]) : ''
}

export function newIdempotencyKey(): string {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`
}

/** The element the server inlines a landing page's first API answers in (webapp/boot.py). */
const BOOT_ID = 'livehub-boot'
let boot: Record<string, unknown> | null = null

/**
 * The inlined answer to `GET key` (path + query, as built below), once: a later read of
 * the same URL goes to the network, so refreshes see fresh data.
 */
function takeBoot(key: string): unknown {
  if (boot === null) {
    try {
      boot = JSON.parse(document.getElementById(BOOT_ID)?.textContent || '{}') as Record<string, unknown>
    } catch {
      boot = {}
    }
  }
  if (!(key in boot)) return undefined
  const answer = boot[key]
  delete boot[key]
  return answer
}

interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  body?: unknown
  idempotencyKey?: string
  params?: Record<string, string | string[] | undefined>
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET'
  const url = new URL(path, window.location.origin)
  for (const [key, value] of Object.entries(options.params ?? {})) {
    if (value === undefined || value === '') continue
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, item)
  }
  if (method === 'GET') {
    const booted = takeBoot(url.pathname + url.search)
    if (booted !== undefined) return booted as T
  }
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (method !== 'GET') headers['X-CSRFToken'] = csrfToken()
  if (options.body !== undefined) headers['Content-Type'] = 'application/json'
  if (options.idempotencyKey) headers['Idempotency-Key'] = options.idempotencyKey
  let response: Response
  try {
    response = await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    })
  } catch {
    throw new ApiError(0, 'offline', 'network unavailable')
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null)
  if (!response.ok) {
    const error = data?.error ?? {}
    throw new ApiError(
      response.status,
      error.code ?? `http_${response.status}`,
      error.message ?? response.statusText,
      error.details ?? {},
    )
  }
  return data as T
}

export interface Page<T> {
  count: number
  next: string | null
  previous: string | null
  results: T[]
}
