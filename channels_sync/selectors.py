"""Reads of sales-channel sync: SKU resolution, per-connection health."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Min
from django.utils import timezone

from channels_sync.models import Connection, DeadLetter, ListingMapping, OrderPush, PendingStockPush
from channels_sync.states import PushStatus
from oms.models import ProductVariant

_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


def sku_key(sku: str) -> str:
    """Case, spaces and separators differ between marketplaces: 'tee red/m' == 'TEE-RED-M'."""
    return _NOT_ALNUM.sub("", sku.upper())


class SkuResolver:
    """Marketplace SKU -> our variant: the listing mapping first, then our own SKUs."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._by_external: dict[str, ProductVariant] | None = None
        self._own: dict[str, ProductVariant] | None = None

    def resolve(self, sku: str) -> ProductVariant | None:
        key = sku_key(sku)
        if not key:
            return None
        # The common case, a listing with exactly this SKU: one small query, instead of
        # loading every listing of the connection for each imported order.
        exact = (
            ListingMapping.objects.filter(connection=self.connection, external_sku=sku)
            .select_related("variant")
            .first()
        )
        if exact is not None:
            return exact.variant
        if self._by_external is None:
            self._by_external = {
                sku_key(m.external_sku): m.variant
                for m in ListingMapping.objects.filter(connection=self.connection).select_related(
                    "variant"
                )
            }
        found = self._by_external.get(key)
        if found is not None:
            return found
        if self._own is None:
            # Built once per resolver (one import run); ambiguous keys are left out.
            own: dict[str, ProductVariant | None] = {}
            for variant in ProductVariant.objects.filter(product__is_active=True):
                k = sku_key(variant.sku)
                own[k] = None if k in own else variant
            self._own = {k: v for k, v in own.items() if v is not None}
        return self._own.get(key)


@dataclass(frozen=True)
class ConnectionHealth:
    connection_id: int
    sales_channel: str
    platform: str
    enabled: bool
    last_success_at: datetime | None
    last_error: str
    lag_s: float  #: age of the oldest change not yet on the marketplace (0 if none)
    last_push_lag_ms: int  #: change-to-marketplace time of the latest successful push
    queue_depth: int
    order_pushes_pending: int
    error_rate: float  #: failed / all calls since the connection was made
    recent_error_rate: float  #: platform-failed share of the last ~10 calls (weighted)
    throttled_calls: int
    dead_letters: int
    last_reconcile_at: datetime | None
    last_reconcile_report: dict[str, int]
    breaker_state: str  #: closed / open / half_open
    breaker_failures: int  #: platform failures in a row
    breaker_opened_at: datetime | None
    breaker_retry_at: datetime | None  #: open: next probe; half-open: probe deadline


def connection_health(connection: Connection) -> ConnectionHealth:
    pending = PendingStockPush.objects.filter(connection=connection)
    oldest = pending.aggregate(first=Min("first_changed_at"))["first"]
    calls = connection.calls_ok + connection.calls_failed
    return ConnectionHealth(
        connection_id=connection.pk,
        sales_channel=connection.sales_channel.code,
        platform=connection.platform,
        enabled=connection.enabled,
        last_success_at=connection.last_success_at,
        last_error=connection.last_error,
        lag_s=round((timezone.now() - oldest).total_seconds(), 3) if oldest else 0.0,
        last_push_lag_ms=connection.last_lag_ms,
        queue_depth=pending.count(),
        order_pushes_pending=OrderPush.objects.filter(
            connection=connection, status=PushStatus.PENDING
        ).count(),
        error_rate=round(connection.calls_failed / calls, 4) if calls else 0.0,
        recent_error_rate=round(connection.recent_error_rate, 4),
        throttled_calls=connection.calls_throttled,
        dead_letters=DeadLetter.objects.filter(connection=connection, retried_at=None).count(),
        last_reconcile_at=connection.last_reconcile_at,
        last_reconcile_report=dict(connection.last_reconcile_report),
        breaker_state=connection.breaker_state,
        breaker_failures=connection.breaker_failures,
        breaker_opened_at=connection.breaker_opened_at,
        breaker_retry_at=connection.breaker_retry_at,
    )


def connections_health() -> list[ConnectionHealth]:
    return [
        connection_health(c)
        for c in Connection.objects.select_related("sales_channel").order_by("pk")
    ]
