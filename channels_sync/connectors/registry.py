"""The explicit connector registry: platform code -> connector class."""

from __future__ import annotations

from collections.abc import Callable

from channels_sync.connectors.base import Connector, ConnectorConfig
from channels_sync.connectors.shopify.client import ShopifyConnector
from channels_sync.connectors.taobao.client import TaobaoConnector
from channels_sync.connectors.woocommerce.client import WooCommerceConnector

CONNECTORS: dict[str, Callable[[ConnectorConfig], Connector]] = {
    "shopify": ShopifyConnector,
    "woocommerce": WooCommerceConnector,
    "taobao": TaobaoConnector,
}


def connector_for(platform: str, config: ConnectorConfig) -> Connector:
    try:
        factory = CONNECTORS[platform]
    except KeyError:
        raise ValueError(f"no connector for platform {platform!r}") from None
    return factory(config)
