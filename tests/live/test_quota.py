"""The Redis quota gate from the event loop: pipelined takes keep every guarantee.

Needs Redis (REDIS_URL); the embedded run has no Redis gate.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from live import quota
from live.errors import GateUnavailable
from live.services.drops import drop_buy_async, drop_open

pytestmark = [
    pytest.mark.skipif(not settings.REDIS_URL, reason="the quota gate needs Redis"),
    pytest.mark.asyncio,
]

DROP = 9_000_001  # a drop id no test database hands out


@pytest.fixture(autouse=True)
def gate() -> None:
    quota.open_gate(drop_id=DROP, remaining=50)


async def _take(buyer: int, key: str = "k", quantity: int = 1, limit: int = 1) -> quota.Take:
    return await quota.take_async(
        drop_id=DROP, buyer_id=buyer, key=key, quantity=quantity, limit=limit, variant_id=7
    )


async def test_a_burst_of_takes_sells_exactly_the_quota_in_a_few_round_trips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    round_trips: list[int] = []
    send = quota.TakePipeline._round_trip

    async def counted(self: quota.TakePipeline, batch: list[Any]) -> list[Any]:
        round_trips.append(len(batch))
        return await send(self, batch)

    monkeypatch.setattr(quota.TakePipeline, "_round_trip", counted)
    takes = await asyncio.gather(*(_take(buyer) for buyer in range(1, 301)))
    outcomes = [t.outcome for t in takes]
    assert (outcomes.count("ok"), outcomes.count("sold_out")) == (50, 250)
    assert sorted(t.left for t in takes if t.outcome == "ok") == list(range(50))
    assert quota.left(drop_id=DROP) == 0
    assert len(quota.buyers(drop_id=DROP)) == 50
    assert sum(round_trips) == 300 and len(round_trips) <= 3  # the first alone, then together


async def test_pipelined_takes_replay_a_key_and_respect_the_buyer_limit() -> None:
    first, again, other_key = await asyncio.gather(
        _take(1, "a", quantity=2, limit=2), _take(1, "a", quantity=2, limit=2), _take(1, "b")
    )
    assert (first.outcome, first.left) == ("ok", 48)
    assert (again.outcome, again.detail) == ("replay", "2")
    assert (other_key.outcome, other_key.detail) == ("limit", "2")
    assert quota.left(drop_id=DROP) == 48


async def test_takes_survive_redis_forgetting_its_scripts() -> None:
    assert (await _take(1)).outcome == "ok"
    quota.client().script_flush()
    later = await asyncio.gather(_take(2), _take(3))
    assert [t.outcome for t in later] == ["ok", "ok"]
    assert quota.left(drop_id=DROP) == 47


async def test_a_closed_gate_answers_closed() -> None:
    quota.close_gate(drop_id=DROP)
    assert (await _take(1)).outcome == "closed"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("thread_connections_closed")
async def test_a_buy_while_redis_is_away_asks_to_try_again_and_the_retry_takes_once(
    show, item, host, shopper, hoodie_xl, warehouse, stock
) -> None:
    await sync_to_async(stock)(hoodie_xl, warehouse, 10)
    drop = await sync_to_async(drop_open)(show=show, item=item, actor=host, quota_units=3)
    loop = asyncio.get_running_loop()
    quota._pipelines[loop] = quota.TakePipeline("redis://127.0.0.1:1/0")  # nothing listens
    tap = {"drop": drop, "buyer": shopper, "variant": hoodie_xl, "quantity": 1, "key": "t1"}
    with pytest.raises(GateUnavailable):
        await drop_buy_async(**tap)
    assert quota.left(drop_id=drop.pk) == 3
    del quota._pipelines[loop]  # Redis is back
    first, again = await drop_buy_async(**tap), await drop_buy_async(**tap)
    assert (first.replayed, first.left, again.replayed) == (False, 2, True)
    assert quota.left(drop_id=drop.pk) == 2
