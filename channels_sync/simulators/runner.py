"""Run the three simulators for the demo: listings from the database, a full stock push
at start, then a Shopify buyer who checks out every few seconds (webhook to LiveHub)."""

from __future__ import annotations

import json
import random
import time
import urllib.request
from typing import Any

from channels_sync.models import Connection
from channels_sync.services.demo import DEMO_CREDENTIALS, SIMULATOR_PORTS
from channels_sync.services.stock_push import stock_resync
from channels_sync.simulators.base import SimulatorServer
from channels_sync.simulators.shopify import ShopifySimulator
from channels_sync.simulators.taobao import TaobaoSimulator
from channels_sync.simulators.woocommerce import WooCommerceSimulator


def _build(platform: str, host: str) -> SimulatorServer:
    creds = DEMO_CREDENTIALS[platform]
    port = SIMULATOR_PORTS[platform]
    if platform == "shopify":
        return ShopifySimulator(
            access_token=creds["access_token"],
            webhook_secret=creds["webhook_secret"],
            host=host,
            port=port,
        )
    if platform == "woocommerce":
        return WooCommerceSimulator(
            consumer_key=creds["consumer_key"],
            consumer_secret=creds["consumer_secret"],
            webhook_secret=creds["webhook_secret"],
            host=host,
            port=port,
        )
    return TaobaoSimulator(
        app_key=creds["app_key"],
        app_secret=creds["app_secret"],
        session=creds["session"],
        host=host,
        port=port,
    )


def run_simulators(*, host: str, webhook_base: str, order_every_s: float, log: Any) -> None:
    sims: dict[str, Any] = {}
    connections = {c.platform: c for c in Connection.objects.select_related("sales_channel")}
    for platform in SIMULATOR_PORTS:
        try:
            sim = _build(platform, host).start()
        except OSError as error:  # port taken: the rest of the demo still runs
            log(f"{platform} simulator not started: {error}")
            continue
        sims[platform] = sim
        connection = connections.get(platform)
        if connection is None:
            continue
        for listing in connection.listings.all():
            sim.add_item(sku=listing.external_sku, item_id=listing.external_id)
        stock_resync(connection=connection)
        log(f"{platform} simulator at {sim.url}: {connection.listings.count()} listings")
    from channels_sync.events import schedule_stock_push

    schedule_stock_push()
    shopify: ShopifySimulator | None = sims.get("shopify")
    connection = connections.get("shopify")
    rng = random.Random(5)
    while True:
        time.sleep(order_every_s)
        if connection is None or shopify is None or not shopify.sku_items:
            continue
        skus = [s for s, gid in shopify.sku_items.items() if shopify.inventory.get(gid, 0) > 0]
        if not skus:
            continue
        sku = rng.choice(skus)
        order = shopify.place_order(lines=[(sku, 1, "99.00")])
        headers, body = shopify.webhook(order, "orders/create")
        request = urllib.request.Request(
            f"{webhook_base}/api/sync/webhooks/{connection.pk}/", data=body, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = json.loads(response.read())
            log(f"shopify order {order['name']} ({sku}) -> LiveHub: {answer['status']}")
        except OSError as error:
            log(f"shopify webhook failed ({error}); the reconciliation pull will repair it")
