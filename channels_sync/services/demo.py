"""Demo wiring: WooCommerce and Taobao sales channels, connections to the local
simulators (``run_sync_simulators``) and listings for the first demo variants."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from channels_sync.models import Connection
from channels_sync.services.connections import connection_upsert, listing_map
from oms.errors import InvalidInput
from oms.models import ProductVariant, SalesChannel

SIMULATOR_PORTS = {"shopify": 8701, "woocommerce": 8702, "taobao": 8703}
SHOPIFY_LOCATION = "gid://shopify/Location/1"
DEMO_CREDENTIALS = {
    "shopify": {"access_token": "shpat_demo", "webhook_secret": "shpss_demo"},
    "woocommerce": {
        "consumer_key": "ck_demo",
        "consumer_secret": "cs_demo",
        "webhook_secret": "wh_demo",
    },
    "taobao": {
        "app_key": "12345678",
        "app_secret": "top_demo_secret",
        "session": "6100demo",
        "sign_method": "hmac-sha256",
    },
}
DEMO_LISTINGS = 30


def demo_external_id(platform: str, variant_id: int) -> str:
    """Deterministic listing ids so a restarted simulator knows the same listings."""
    if platform == "shopify":
        return f"gid://shopify/InventoryItem/{40_000_000 + variant_id}"
    if platform == "woocommerce":
        return str(900_000 + variant_id)
    return str(600_000_000_000 + variant_id)


@dataclass(frozen=True)
class SyncDemoSummary:
    connections: int
    listings: int


def sync_demo_load(*, host: str = "127.0.0.1", listings: int = DEMO_LISTINGS) -> SyncDemoSummary:
    shopify = SalesChannel.objects.filter(code="shopify").first()
    if shopify is None:
        raise InvalidInput("run load_demo_data first: the shopify sales channel is missing")
    variants = list(
        ProductVariant.objects.filter(product__is_active=True).order_by("pk")[:listings]
    )
    with transaction.atomic():
        channels = {"shopify": shopify}
        for code, name in (("woocommerce", "WooCommerce"), ("taobao", "Taobao")):
            channel, _ = SalesChannel.objects.update_or_create(
                code=code,
                defaults={
                    "name": name,
                    "kind": SalesChannel.Kind.MARKETPLACE,
                    "currency": shopify.currency,
                    "safety_stock": shopify.safety_stock,
                    "allow_split": False,
                    "routing": SalesChannel.Routing.PRIORITY,
                },
            )
            channel.locations.set(shopify.locations.all())
            channels[code] = channel
        count = 0
        for platform, channel in channels.items():
            connection = connection_upsert(
                sales_channel=channel,
                platform=platform,
                base_url=f"http://{host}:{SIMULATOR_PORTS[platform]}",
                credentials=DEMO_CREDENTIALS[platform],
                remote_location_id=SHOPIFY_LOCATION if platform == "shopify" else "",
                rate_limit_per_s=5.0,
            )
            for variant in variants:
                listing_map(
                    connection=connection,
                    variant=variant,
                    external_sku=variant.sku,
                    external_id=demo_external_id(platform, variant.pk),
                )
                count += 1
    return SyncDemoSummary(connections=Connection.objects.count(), listings=count)
