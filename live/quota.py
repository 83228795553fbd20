"""The Redis quota gate of drops: Lua scripts, so check-and-take is one atomic step.

Keys of drop ``N`` (all in one hash slot through the ``{live:drop:N}`` tag):
``left`` (units left), ``buyers`` (hash buyer id -> units taken), ``keys`` (hash
"buyer:idempotency key" -> units, for replays) and ``claims`` (a stream: every take is
appended in the same script, so a crash after the take loses nothing; a drainer turns
entries into database claims and oms holds and acknowledges them).
"""

from __future__ import annotations

import asyncio
import functools
import os
import weakref
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio
from django.conf import settings

CLAIMS_GROUP = "materialisers"

TAKE = """
local prior = redis.call('HGET', KEYS[3], ARGV[1] .. ':' .. ARGV[2])
if prior then return {'replay', prior, ''} end
local left = tonumber(redis.call('GET', KEYS[1]))
if left == nil then return {'closed', '', ''} end
local qty = tonumber(ARGV[3])
local used = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if used + qty > tonumber(ARGV[4]) then return {'limit', tostring(used), ''} end
if left < qty then return {'sold_out', tostring(left), ''} end
redis.call('DECRBY', KEYS[1], qty)
redis.call('HINCRBY', KEYS[2], ARGV[1], qty)
redis.call('HSET', KEYS[3], ARGV[1] .. ':' .. ARGV[2], ARGV[3])
local id = redis.call('XADD', KEYS[4], '*', 'buyer', ARGV[1], 'key', ARGV[2],
  'qty', ARGV[3], 'variant', ARGV[5])
return {'ok', id, tostring(left - qty)}
"""

#: idempotent per token (a claim's "buyer:key"): a retried give-back is a no-op
GIVE_BACK = """
if redis.call('SADD', KEYS[3], ARGV[3]) == 0 then return -2 end
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local left = redis.call('INCRBY', KEYS[1], ARGV[2])
local used = redis.call('HINCRBY', KEYS[2], ARGV[1], -tonumber(ARGV[2]))
if used <= 0 then redis.call('HDEL', KEYS[2], ARGV[1]) end
return left
"""

#: returns the units left and the newest stream id, read together
SNAPSHOT = """
local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local id = ''
if top[1] then id = top[1][1] end
return {redis.call('GET', KEYS[1]) or '', id}
"""

#: sets the truth only if nothing moved since the snapshot (compare-and-set)
REPAIR = """
local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local id = ''
if top[1] then id = top[1][1] end
if id ~= ARGV[2] or (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('DEL', KEYS[3])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
return 1
"""


def enabled() -> bool:
    return bool(settings.REDIS_URL)


@functools.cache
def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


@functools.cache
def _script(source: str) -> Any:
    return client().register_script(source)


def keys(drop_id: int) -> dict[str, str]:
    tag = f"{{live:drop:{drop_id}}}"
    return {n: f"{tag}:{n}" for n in ("left", "buyers", "keys", "claims", "given")}


@dataclass(frozen=True)
class Take:
    outcome: str  # ok / replay / closed / limit / sold_out
    detail: str  # stream id (ok), units (replay), units used (limit), units left (sold_out)
    left: int | None


def open_gate(*, drop_id: int, remaining: int) -> None:
    """Start the counters of a new drop (clearing leftovers under the same id)."""
    k = keys(drop_id)
    pipe = client().pipeline(transaction=True)
    pipe.delete(k["buyers"], k["keys"], k["given"], k["claims"])
    pipe.set(k["left"], remaining)
    pipe.xgroup_create(k["claims"], CLAIMS_GROUP, id="0", mkstream=True)
    pipe.execute()


def close_gate(*, drop_id: int) -> None:
    """Refuse further takes; the stream and buyer counts stay for the drainer and reconcile."""
    client().delete(keys(drop_id)["left"])


def take(
    *, drop_id: int, buyer_id: int, key: str, quantity: int, limit: int, variant_id: int
) -> Take:
    k = keys(drop_id)
    outcome, detail, left = _script(TAKE)(
        keys=[k["left"], k["buyers"], k["keys"], k["claims"]],
        args=[buyer_id, key, quantity, limit, variant_id],
    )
    return Take(str(outcome), str(detail), int(left) if left != "" else None)


# ---- takes from the event loop: one pipelined round trip for a burst of buys ---------------

#: takes sent in one pipeline at most (a burst larger than this goes in several)
PIPELINE_TAKES = 500


class TakePipeline:
    """Sends the takes of one event loop to Redis together.

    A take waits only while the previous round trip is in flight: the first buy after a
    quiet spell goes out at once, and during a rush every round trip carries all the buys
    that arrived meanwhile. Each take is still its own atomic script call; the pipeline is
    not a transaction, so one failing call fails only its own buy.
    """

    def __init__(self, url: str = "") -> None:
        self.client = redis.asyncio.Redis.from_url(url or settings.REDIS_URL, decode_responses=True)
        self.waiting: list[tuple[list[str], list[Any], asyncio.Future[Any]]] = []
        self.sender: asyncio.Task[None] | None = None
        self.sha = ""

    async def call(self, keys: list[str], args: list[Any]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting.append((keys, args, future))
        if self.sender is None or self.sender.done():
            self.sender = asyncio.create_task(self._send())
        return await future

    async def _send(self) -> None:
        while self.waiting:
            batch = self.waiting[:PIPELINE_TAKES]
            del self.waiting[:PIPELINE_TAKES]
            try:
                replies = await self._round_trip(batch)
            except Exception as error:  # connection lost: these buys fail, nothing was taken twice
                replies = [error] * len(batch)
            for (_keys, _args, future), reply in zip(batch, replies, strict=True):
                if future.done():  # the buyer went away
                    continue
                if isinstance(reply, Exception):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)

    async def _round_trip(self, batch: list[tuple[list[str], list[Any], Any]]) -> list[Any]:
        if not self.sha:
            self.sha = await self.client.script_load(TAKE)
        pipe = self.client.pipeline(transaction=False)
        for keys, args, _future in batch:
            pipe.evalsha(self.sha, len(keys), *keys, *args)
        replies = await pipe.execute(raise_on_error=False)
        if any(isinstance(r, redis.exceptions.NoScriptError) for r in replies):
            self.sha = ""  # Redis restarted or flushed its scripts: load and send those again
            again = [b for b, r in zip(batch, replies, strict=True)
                     if isinstance(r, redis.exceptions.NoScriptError)]  # fmt: skip
            retried = iter(await self._round_trip(again))
            replies = [next(retried) if isinstance(r, redis.exceptions.NoScriptError) else r
                       for r in replies]  # fmt: skip
        return list(replies)


_pipelines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TakePipeline] = (
    weakref.WeakKeyDictionary()
)
os.register_at_fork(after_in_child=_pipelines.clear)  # a forked child has its own loops


async def take_async(
    *, drop_id: int, buyer_id: int, key: str, quantity: int, limit: int, variant_id: int
) -> Take:
    """``take`` for the event loop, pipelined with the other buys of this process."""
    loop = asyncio.get_running_loop()
    pipeline = _pipelines.get(loop)
    if pipeline is None:
        pipeline = _pipelines[loop] = TakePipeline()
    k = keys(drop_id)
    outcome, detail, left = await pipeline.call(
        [k["left"], k["buyers"], k["keys"], k["claims"]],
        [buyer_id, key, quantity, limit, variant_id],
    )
    return Take(str(outcome), str(detail), int(left) if left != "" else None)


def give_back(*, drop_id: int, buyer_id: int, quantity: int, token: str) -> int:
    """Return units to the quota once per ``token``; -2 when already given back."""
    k = keys(drop_id)
    return int(
        _script(GIVE_BACK)(
            keys=[k["left"], k["buyers"], k["given"]], args=[buyer_id, quantity, token]
        )
    )


def given_back(*, drop_id: int, tokens: list[str]) -> set[str]:
    """Which of these claim tokens had their units given back already (one round trip)."""
    if not tokens:
        return set()
    flags = client().smismember(keys(drop_id)["given"], tokens)
    return {token for token, flag in zip(tokens, flags, strict=True) if flag}


def left(*, drop_id: int) -> int | None:
    value = client().get(keys(drop_id)["left"])
    return int(value) if value is not None else None


def buyers(*, drop_id: int) -> dict[int, int]:
    raw = client().hgetall(keys(drop_id)["buyers"])
    return {int(b): int(u) for b, u in raw.items() if int(u) > 0}


def snapshot(*, drop_id: int) -> tuple[str, str]:
    k = keys(drop_id)
    value, top = _script(SNAPSHOT)(keys=[k["left"], k["claims"]])
    return str(value), str(top)


def repair(
    *, drop_id: int, seen_left: str, seen_top: str, left: int, per_buyer: dict[int, int]
) -> bool:
    k = keys(drop_id)
    args: list[Any] = [seen_left, seen_top, left]
    for buyer, units in per_buyer.items():
        args += [buyer, units]
    return bool(_script(REPAIR)(keys=[k["left"], k["claims"], k["buyers"]], args=args))


def read_claims(
    *, drop_id: int, consumer: str, count: int = 200
) -> list[tuple[str, dict[str, str]]]:
    """New stream entries for this drainer, then entries a crashed drainer left unacked."""
    k = keys(drop_id)
    got: Any = client().xreadgroup(CLAIMS_GROUP, consumer, {k["claims"]: ">"}, count=count)
    entries: list[tuple[str, dict[str, str]]] = list(got[0][1]) if got else []
    if len(entries) < count:
        _next, stale, *_ = client().xautoclaim(
            k["claims"], CLAIMS_GROUP, consumer, min_idle_time=5000, start_id="0-0", count=count
        )
        entries += [(i, f) for i, f in stale if f]
    return entries


def ack(*, drop_id: int, ids: list[str]) -> None:
    if ids:
        client().xack(keys(drop_id)["claims"], CLAIMS_GROUP, *ids)


def pending_count(*, drop_id: int) -> int:
    """Entries appended but not yet acknowledged (including never-read ones)."""
    k = keys(drop_id)
    try:
        info = client().xinfo_groups(k["claims"])
    except redis.ResponseError:
        return 0
    for group in info:
        if group["name"] == CLAIMS_GROUP:
            lag = group.get("lag") or 0
            return int(group["pending"]) + int(lag)
    return 0


# ---- coupon drops: the same kind of gate for coupons handed out in a room -----------------

#: Replay a seen key; else refuse past the per-user limit or when none are left; else take
#: one (left, the user's count and the key in one step).
COUPON_TAKE = """
if redis.call('HEXISTS', KEYS[3], ARGV[1] .. ':' .. ARGV[2]) == 1 then return {'replay', ''} end
local left = tonumber(redis.call('GET', KEYS[1]))
if left == nil then return {'closed', ''} end
local used = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if used >= tonumber(ARGV[3]) then return {'limit', tostring(used)} end
if left < 1 then return {'gone', '0'} end
redis.call('DECR', KEYS[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('HSET', KEYS[3], ARGV[1] .. ':' .. ARGV[2], '1')
return {'ok', tostring(left - 1)}
"""

#: undo one take whose database write failed (idempotent: only if the key is still there)
COUPON_UNDO = """
if redis.call('HDEL', KEYS[3], ARGV[1] .. ':' .. ARGV[2]) == 0 then return 0 end
redis.call('INCR', KEYS[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
return 1
"""

COUPON_GATE_SECONDS = 7 * 24 * 3600


def coupon_keys(coupon_id: int) -> list[str]:
    tag = f"{{live:coupon:{coupon_id}}}"
    return [f"{tag}:left", f"{tag}:users", f"{tag}:keys"]


def coupon_open(*, coupon_id: int, quantity: int) -> None:
    """Start a coupon drop's counters (clearing leftovers under the same id)."""
    left, users, seen = coupon_keys(coupon_id)
    pipe = client().pipeline(transaction=True)
    pipe.delete(users, seen)
    pipe.set(left, quantity, ex=COUPON_GATE_SECONDS)
    pipe.execute()


def coupon_take(*, coupon_id: int, user_id: int, key: str, limit: int) -> Take:
    """``ok`` / ``replay`` / ``closed`` (no gate: use the database) / ``limit`` / ``gone``."""
    outcome, detail = _script(COUPON_TAKE)(keys=coupon_keys(coupon_id), args=[user_id, key, limit])
    left = int(detail) if outcome in ("ok", "gone") else None
    return Take(str(outcome), str(detail), left)


def coupon_undo(*, coupon_id: int, user_id: int, key: str) -> bool:
    return bool(_script(COUPON_UNDO)(keys=coupon_keys(coupon_id), args=[user_id, key]))


def coupon_left(*, coupon_id: int) -> int | None:
    value = client().get(coupon_keys(coupon_id)[0])
    return int(value) if value is not None else None
