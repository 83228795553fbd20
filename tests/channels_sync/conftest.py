"""Three marketplace sales channels connected to live local simulators."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from channels_sync.models import Connection
from channels_sync.services.connections import connection_upsert, listing_map
from channels_sync.simulators.shopify import ShopifySimulator
from channels_sync.simulators.taobao import TaobaoSimulator
from channels_sync.simulators.woocommerce import WooCommerceSimulator
from oms.models import Location, ProductVariant, SalesChannel

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(name: str) -> dict[str, Any]:
    data = json.loads((FIXTURES / name).read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture
def shopify_sim() -> Iterator[ShopifySimulator]:
    sim = ShopifySimulator().start()
    yield sim
    sim.stop()


@pytest.fixture
def woo_sim() -> Iterator[WooCommerceSimulator]:
    sim = WooCommerceSimulator().start()
    yield sim
    sim.stop()


@pytest.fixture
def taobao_sim() -> Iterator[TaobaoSimulator]:
    sim = TaobaoSimulator().start()
    yield sim
    sim.stop()


def _marketplace(code: str, warehouse: Location) -> SalesChannel:
    channel = SalesChannel.objects.create(
        code=code, name=code.title(), kind=SalesChannel.Kind.MARKETPLACE, currency="CNY"
    )
    channel.locations.set([warehouse])
    return channel


@dataclass
class Marketplaces:
    shopify: Connection
    woo: Connection
    taobao: Connection
    shopify_sim: ShopifySimulator
    woo_sim: WooCommerceSimulator
    taobao_sim: TaobaoSimulator

    def remote(self, connection: Connection, sku: str) -> int:
        sim: Any = {
            "shopify": self.shopify_sim,
            "woocommerce": self.woo_sim,
            "taobao": self.taobao_sim,
        }[connection.platform]
        mapping = connection.listings.get(external_sku=sku)
        return int(sim.inventory[mapping.external_id])


@pytest.fixture
def marketplaces(
    warehouse: Location,
    tee: ProductVariant,
    mug: ProductVariant,
    shopify_sim: ShopifySimulator,
    woo_sim: WooCommerceSimulator,
    taobao_sim: TaobaoSimulator,
) -> Marketplaces:
    shopify = connection_upsert(
        sales_channel=_marketplace("shopify", warehouse),
        platform="shopify",
        base_url=shopify_sim.url,
        credentials={"access_token": "shpat_test", "webhook_secret": "shpss_test"},
        remote_location_id=shopify_sim.location_id,
        rate_limit_per_s=100,
    )
    woo = connection_upsert(
        sales_channel=_marketplace("woocommerce", warehouse),
        platform="woocommerce",
        base_url=woo_sim.url,
        credentials={
            "consumer_key": "ck_test",
            "consumer_secret": "cs_test",
            "webhook_secret": "wh_test",
        },
        rate_limit_per_s=100,
    )
    taobao = connection_upsert(
        sales_channel=_marketplace("taobao", warehouse),
        platform="taobao",
        base_url=taobao_sim.url,
        credentials={
            "app_key": "12345678",
            "app_secret": "top_secret",
            "session": "6100top",
            "sign_method": "hmac-sha256",
        },
        rate_limit_per_s=100,
    )
    for variant in (tee, mug):
        listing_map(
            connection=shopify,
            variant=variant,
            external_sku=variant.sku,
            external_id=shopify_sim.add_item(sku=variant.sku),
        )
        listing_map(
            connection=woo,
            variant=variant,
            external_sku=variant.sku,
            external_id=woo_sim.add_item(sku=variant.sku),
        )
        listing_map(
            connection=taobao,
            variant=variant,
            external_sku=variant.sku,
            external_id=taobao_sim.add_item(sku=variant.sku),
        )
    return Marketplaces(shopify, woo, taobao, shopify_sim, woo_sim, taobao_sim)


@pytest.fixture
def post_webhook(client: Any) -> Callable[..., Any]:
    def post(connection: Connection, headers: dict[str, str], body: bytes) -> Any:
        extra = {
            f"HTTP_{k.upper().replace('-', '_')}": v
            for k, v in headers.items()
            if k.lower() != "content-type"
        }
        return client.generic(
            "POST",
            f"/api/sync/webhooks/{connection.pk}/",
            body,
            content_type="application/json",
            **extra,
        )

    return post
