"""Connections: create with encrypted credentials; build the connector for one."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from channels_sync.connectors.base import Connector, ConnectorConfig
from channels_sync.connectors.registry import CONNECTORS, connector_for
from channels_sync.crypto import credentials_decrypt, credentials_encrypt
from channels_sync.models import Connection, ListingMapping
from hub.kernel.audit import audit_record
from oms.errors import InvalidInput
from oms.models import ProductVariant, SalesChannel


def connection_upsert(
    *,
    sales_channel: SalesChannel,
    platform: str,
    base_url: str,
    credentials: dict[str, Any],
    remote_location_id: str = "",
    rate_limit_per_s: float = 2.0,
    actor_id: int | None = None,
) -> Connection:
    """Connect a marketplace sales channel (or update its settings); secrets are encrypted."""
    if platform not in CONNECTORS:
        raise InvalidInput(f"unknown platform {platform!r}")
    if rate_limit_per_s <= 0:
        raise InvalidInput("rate_limit_per_s must be positive")
    with transaction.atomic():
        connection, _ = Connection.objects.update_or_create(
            sales_channel=sales_channel,
            defaults={
                "platform": platform,
                "base_url": base_url,
                "credentials_encrypted": credentials_encrypt(credentials),
                "remote_location_id": remote_location_id,
                "rate_limit_per_s": rate_limit_per_s,
            },
        )
        audit_record(
            kind="sync.connection_saved",
            aggregate_type="sales_channel",
            aggregate_id=sales_channel.code,
            actor_id=actor_id,
            payload={"platform": platform, "base_url": base_url},
        )
    return connection


def listing_map(
    *,
    connection: Connection,
    variant: ProductVariant,
    external_sku: str,
    external_id: str,
    external_sub_id: str = "",
) -> ListingMapping:
    mapping, _ = ListingMapping.objects.update_or_create(
        connection=connection,
        variant=variant,
        defaults={
            "external_sku": external_sku,
            "external_id": external_id,
            "external_sub_id": external_sub_id,
        },
    )
    return mapping


def connector_of(connection: Connection) -> Connector:
    config = ConnectorConfig(
        base_url=connection.base_url,
        credentials=credentials_decrypt(connection.credentials_encrypted),
        remote_location_id=connection.remote_location_id,
        rate_limit_per_s=connection.rate_limit_per_s,
        rate_key=f"connection:{connection.pk}",
    )
    return connector_for(connection.platform, config)
