"""Shopify Admin API client: REST for orders/fulfilments, GraphQL for inventory (CAS).

Rate limits: REST is a leaky bucket per app+shop (``X-Shopify-Shop-Api-Call-Limit``,
429 + ``Retry-After`` when full); GraphQL is cost based (``extensions.cost.throttleStatus``,
a ``THROTTLED`` error when the bucket is empty). Both become ``RateLimited``.
"""

from __future__ import annotations

import json
import urllib.parse
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
from channels_sync.connectors.shopify.mapping import shopify_order
from channels_sync.connectors.shopify.webhooks import verify_shopify_webhook
from channels_sync.errors import CompareMismatch, PermanentRemoteError, RateLimited
from channels_sync.ratelimit import rate_gate_wait

API_VERSION = "2024-10"
ORDERS_PAGE = 250

SET_QUANTITIES = """
mutation inventorySetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}
"""

READ_QUANTITIES = """
query inventoryLevels($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) { name quantity } }
    }
  }
}
"""


class ShopifyConnector:
    platform = "shopify"
    batch_size = 250  # inventorySetQuantities accepts up to 250 quantities
    compare_and_swap = True
    one_call_per_sku = False

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config
        self.token = str(config.credentials.get("access_token", ""))
        self.webhook_secret = str(config.credentials.get("webhook_secret", ""))
        self.base = config.base_url.rstrip("/") + f"/admin/api/{API_VERSION}"

    # ---- incoming ---------------------------------------------------------------------

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEnvelope:
        return verify_shopify_webhook(secret=self.webhook_secret, headers=headers, body=body)

    def parse_order(self, payload: dict[str, Any]) -> ExternalOrderData:
        return shopify_order(payload)

    def pull_orders(self, *, since: str) -> OrderPage:
        query = {"status": "any", "limit": str(ORDERS_PAGE), "order": "updated_at asc"}
        if since:
            query["updated_at_min"] = since
        response = self._rest("GET", "/orders.json?" + urllib.parse.urlencode(query))
        raw = response.json().get("orders", [])
        orders = [shopify_order(o) for o in raw]
        cursor = str(raw[-1]["updated_at"]) if raw else since
        return OrderPage(orders=orders, cursor=cursor, has_more=len(raw) == ORDERS_PAGE)

    # ---- outgoing ---------------------------------------------------------------------

    def push_quantities(self, updates: list[QuantityUpdate]) -> list[PushOutcome]:
        location = self.config.remote_location_id
        variables = {
            "input": {
                "name": "available",
                "reason": "correction",
                "referenceDocumentUri": "livehub://stock-sync",
                "ignoreCompareQuantity": any(u.compare_quantity is None for u in updates),
                "quantities": [
                    {
                        "inventoryItemId": u.external_id,
                        "locationId": location,
                        "quantity": u.quantity,
                        **(
                            {"compareQuantity": u.compare_quantity}
                            if u.compare_quantity is not None
                            else {}
                        ),
                    }
                    for u in updates
                ],
            }
        }
        data = self._graphql(SET_QUANTITIES, variables)["inventorySetQuantities"]
        errors = data.get("userErrors") or []
        if not errors:
            return [PushOutcome(sku=u.sku, ok=True) for u in updates]
        stale = [e for e in errors if e.get("code") == "COMPARE_QUANTITY_STALE"]
        if len(stale) != len(errors):
            raise PermanentRemoteError(f"inventorySetQuantities refused: {errors}")
        # The whole mutation was refused; report what each item holds there now.
        actual = self._read_quantities([u.external_id for u in updates])
        return [
            PushOutcome(
                sku=u.sku,
                ok=False,
                error=CompareMismatch(
                    f"Shopify holds {actual.get(u.external_id)}, expected {u.compare_quantity}",
                    actual=actual.get(u.external_id),
                ),
            )
            for u in updates
        ]

    def push_fulfilment(self, *, external_order_id: str, tracking: Tracking) -> None:
        orders = self._rest("GET", f"/orders/{external_order_id}/fulfillment_orders.json").json()
        open_ids = [
            fo["id"]
            for fo in orders.get("fulfillment_orders", [])
            if fo.get("status") in {"open", "in_progress"}
        ]
        if not open_ids:
            return  # already fulfilled there: pushing again must be a no-op
        body = {
            "fulfillment": {
                "line_items_by_fulfillment_order": [{"fulfillment_order_id": i} for i in open_ids],
                "tracking_info": {"company": tracking.carrier, "number": tracking.tracking_number},
                "notify_customer": True,
            }
        }
        self._rest("POST", "/fulfillments.json", body)

    def push_cancellation(self, *, external_order_id: str, reason: str) -> None:
        order = self._rest("GET", f"/orders/{external_order_id}.json").json().get("order", {})
        if order.get("cancelled_at"):
            return
        self._rest("POST", f"/orders/{external_order_id}/cancel.json", {"reason": "other"})

    # ---- transport --------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {
            "X-Shopify-Access-Token": self.token,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def _rest(self, method: str, path: str, body: dict[str, Any] | None = None) -> HttpResponse:
        rate_gate_wait(
            key=self.config.rate_key or self.base, rate_per_s=self.config.rate_limit_per_s
        )
        data = json.dumps(body).encode() if body is not None else None
        return http_request(method, self.base + path, headers=self._headers(), body=data)

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = self._rest("POST", "/graphql.json", {"query": query, "variables": variables})
        payload = response.json()
        errors = payload.get("errors") or []
        if errors:
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                raise RateLimited("Shopify GraphQL throttled", retry_after=_throttle_wait(payload))
            raise PermanentRemoteError(f"GraphQL errors: {errors}")
        data = payload.get("data")
        if not isinstance(data, dict):
            raise PermanentRemoteError("GraphQL response without data")
        return data

    def _read_quantities(self, item_ids: list[str]) -> dict[str, int]:
        data = self._graphql(
            READ_QUANTITIES, {"ids": item_ids, "locationId": self.config.remote_location_id}
        )
        found: dict[str, int] = {}
        for node in data.get("nodes") or []:
            if not node:
                continue
            level = node.get("inventoryLevel") or {}
            for q in level.get("quantities") or []:
                if q.get("name") == "available":
                    found[str(node["id"])] = int(q["quantity"])
        return found


def _throttle_wait(payload: dict[str, Any]) -> float:
    cost = (payload.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    needed = float(cost.get("requestedQueryCost") or 10)
    available = float(status.get("currentlyAvailable") or 0)
    restore = float(status.get("restoreRate") or 50)
    return max(0.05, (needed - available) / restore)
