"""Client-side rate gate per connection: a token bucket shared by every worker.

With ``REDIS_URL`` the bucket lives in Redis (one atomic Lua script), so all worker
processes together stay under the marketplace's limit; embedded, a process-local bucket
serves the single worker. The marketplace's own 429/throttle answer is the backstop.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache
from typing import Any

from django.conf import settings

_TOKEN_BUCKET_LUA = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
  tokens = tokens - 1
end
redis.call('HSET', key, 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', key, math.ceil((burst / rate + 1) * 1000))
return tostring(wait)
"""


class _LocalBucket:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state: dict[str, tuple[float, float]] = {}

    def reserve(self, key: str, rate: float, burst: float) -> float:
        with self.lock:
            now = time.monotonic()
            tokens, ts = self.state.get(key, (burst, now))
            tokens = min(burst, tokens + (now - ts) * rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / rate
            self.state[key] = (tokens - 1, now)
            return wait


_local = _LocalBucket()


@lru_cache(maxsize=1)
def _redis_script() -> Any:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    return client.register_script(_TOKEN_BUCKET_LUA)


#: tokens taken ahead by ``rate_gate_prepay``: the next gated call of the key spends one
_prepaid: dict[str, int] = {}
_prepaid_lock = threading.Lock()


def rate_gate_prepay(*, key: str, rate_per_s: float, burst: float | None = None) -> None:
    """Wait for a token *before* deciding what to send; the next call of ``key`` uses it.

    The stock pusher waits here and only then reads which SKUs are dirty and their
    quantities, so the one call the budget allows carries every change made meanwhile.
    """
    rate_gate_wait(key=key, rate_per_s=rate_per_s, burst=burst)
    with _prepaid_lock:
        _prepaid[key] = 1  # at most one: a token unused for long is not a credit


def rate_gate_forget(*, key: str) -> None:
    """The prepaid token was not needed (nothing left to send)."""
    with _prepaid_lock:
        _prepaid.pop(key, None)


def rate_gate_wait(*, key: str, rate_per_s: float, burst: float | None = None) -> None:
    """Block until one call to ``key`` is allowed (reserves its token first)."""
    if rate_per_s <= 0:
        return
    with _prepaid_lock:
        if _prepaid.pop(key, 0):
            return
    burst = burst if burst is not None else max(1.0, rate_per_s)
    if settings.REDIS_URL:
        wait = float(
            _redis_script()(
                keys=[f"livehub:sync-rate:{key}"], args=[rate_per_s, burst, time.time()]
            )
        )
    else:
        wait = _local.reserve(key, rate_per_s, burst)
    if wait > 0:
        time.sleep(wait)
