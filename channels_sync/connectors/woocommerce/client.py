"""WooCommerce REST API v3 client (``/wp-json/wc/v3``), HTTP Basic with consumer key/secret.

WooCommerce has no compare-and-swap for stock: we set the absolute ``stock_quantity``
through ``products/batch`` (up to 100 per call) and rely on coalescing for ordering.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from channels_sync.connectors.base import (
    ConnectorConfig,
    ExternalOrderData,
    HttpResponse,
    OrderPage,
    PushOutcome,
    QuantityUpdate,
    Tracking,
    WebhookEnvelope,
    http_request,
)
from channels_sync.connectors.woocommerce.mapping import CANCELLED, woocommerce_order
from channels_sync.connectors.woocommerce.webhooks import verify_woocommerce_webhook
from channels_sync.errors import PermanentRemoteError
from channels_sync.ratelimit import rate_gate_wait

ORDERS_PAGE = 100


class WooCommerceConnector:
    platform = "woocommerce"
    batch_size = 100  # the documented batch limit
    compare_and_swap = False
    one_call_per_sku = False

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config
        key = str(config.credentials.get("consumer_key", ""))
        secret = str(config.credentials.get("consumer_secret", ""))
        self.auth = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
        self.webhook_secret = str(config.credentials.get("webhook_secret", ""))
        self.base = config.base_url.rstrip("/") + "/wp-json/wc/v3"

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEnvelope:
        return verify_woocommerce_webhook(secret=self.webhook_secret, headers=headers, body=body)

    def parse_order(self, payload: dict[str, Any]) -> ExternalOrderData:
        return woocommerce_order(payload)

    def pull_orders(self, *, since: str) -> OrderPage:
        query = {
            "orderby": "modified",
            "order": "asc",
            "per_page": str(ORDERS_PAGE),
            "dates_are_gmt": "true",
        }
        if since:
            query["modified_after"] = since
        raw = self._call("GET", "/orders?" + urllib.parse.urlencode(query)).json()
        orders = [woocommerce_order(o) for o in raw]
        cursor = str(raw[-1]["date_modified_gmt"]) if raw else since
        return OrderPage(orders=orders, cursor=cursor, has_more=len(raw) == ORDERS_PAGE)

    def push_quantities(self, updates: list[QuantityUpdate]) -> list[PushOutcome]:
        groups: dict[str, list[QuantityUpdate]] = defaultdict(list)
        for u in updates:
            groups[u.external_sub_id].append(u)  # "" = simple products; else parent id
        outcomes: list[PushOutcome] = []
        for parent, group in groups.items():
            path = f"/products/{parent}/variations/batch" if parent else "/products/batch"
            body = {
                "update": [
                    {"id": int(u.external_id), "manage_stock": True, "stock_quantity": u.quantity}
                    for u in group
                ]
            }
            result = self._call("POST", path, body).json().get("update", [])
            by_id = {str(r.get("id")): r for r in result}
            for u in group:
                row = by_id.get(u.external_id)
                if row is None or "error" in row:
                    message = (row or {}).get("error", {}).get("message", "missing from reply")
                    outcomes.append(
                        PushOutcome(sku=u.sku, ok=False, error=PermanentRemoteError(message))
                    )
                else:
                    outcomes.append(PushOutcome(sku=u.sku, ok=True))
        return outcomes

    def push_fulfilment(self, *, external_order_id: str, tracking: Tracking) -> None:
        order = self._call("GET", f"/orders/{external_order_id}").json()
        if order.get("status") == "completed":
            return
        note = f"Shipped with {tracking.carrier}, tracking number {tracking.tracking_number}"
        self._call(
            "POST", f"/orders/{external_order_id}/notes", {"note": note, "customer_note": True}
        )
        self._call("PUT", f"/orders/{external_order_id}", {"status": "completed"})

    def push_cancellation(self, *, external_order_id: str, reason: str) -> None:
        order = self._call("GET", f"/orders/{external_order_id}").json()
        if order.get("status") in CANCELLED:
            return
        self._call("PUT", f"/orders/{external_order_id}", {"status": "cancelled"})

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> HttpResponse:
        rate_gate_wait(
            key=self.config.rate_key or self.base, rate_per_s=self.config.rate_limit_per_s
        )
        headers = {"Authorization": self.auth, "Content-Type": "application/json"}
        data = json.dumps(body).encode() if body is not None else None
        response = http_request(method, self.base + path, headers=headers, body=data)
        if response.status >= 400:
            raise PermanentRemoteError(f"{response.status} from WooCommerce")
        return response
