"""Shopify simulator: Admin REST (orders, fulfillment orders, fulfillments, cancel),
GraphQL ``inventorySetQuantities`` with compare-and-swap, HMAC-signed webhooks, a REST
leaky bucket (429 + ``Retry-After``) and a GraphQL cost bucket (``THROTTLED``)."""

from __future__ import annotations

import itertools
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from channels_sync.connectors.shopify.client import API_VERSION
from channels_sync.connectors.shopify.webhooks import shopify_signature
from channels_sync.simulators.base import LeakyBucket, Reply, Request, SimulatorServer

MUTATION_COST = 10
NOT_STOCKED = "The specified inventory item is not stocked at the location."
STALE = "The compareQuantity argument no longer matches the persisted quantity."


class ShopifySimulator(SimulatorServer):
    name = "shopify"

    def __init__(
        self,
        *,
        access_token: str = "shpat_test",
        webhook_secret: str = "shpss_test",
        location_id: str = "gid://shopify/Location/1",
        rest_bucket: tuple[float, float] = (40, 2),  # standard plan: 40 requests, 2/s
        graphql_bucket: tuple[float, float] = (1000, 50),  # 1000 points, 50/s
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.location_id = location_id
        self.rest = LeakyBucket(size=rest_bucket[0], rate=rest_bucket[1])
        self.graphql = LeakyBucket(size=graphql_bucket[0], rate=graphql_bucket[1])
        self.inventory: dict[str, int] = {}  #: InventoryItem gid -> available
        self.sku_items: dict[str, str] = {}  #: SKU -> InventoryItem gid
        self.orders: dict[int, dict[str, Any]] = {}
        self.fulfillments: list[dict[str, Any]] = []
        self._ids = itertools.count(5_100_000_001)
        self.prefix = f"/admin/api/{API_VERSION}"

    # ---- the merchant's side: listings and orders ----------------------------------

    def add_item(self, *, sku: str, available: int = 0, item_id: str = "") -> str:
        gid = item_id or f"gid://shopify/InventoryItem/{next(self._ids)}"
        with self.lock:
            self.inventory[gid] = available
            self.sku_items[sku] = gid
        return gid

    def place_order(
        self,
        *,
        lines: list[tuple[str, int, str]],
        financial_status: str = "paid",
        email: str = "buyer@example.com",
        shipping: str = "10.00",
    ) -> dict[str, Any]:
        """A buyer checks out: stock drops here at once (as on Shopify), order stored."""
        order_id = next(self._ids)
        now = _now()
        with self.lock:
            for sku, qty, _ in lines:
                gid = self.sku_items.get(sku)
                if gid is not None:
                    self.inventory[gid] -= qty
            order = {
                "id": order_id,
                "name": f"#{1000 + len(self.orders) + 1}",
                "email": email,
                "created_at": now,
                "updated_at": now,
                "currency": "CNY",
                "financial_status": financial_status,
                "fulfillment_status": None,
                "cancelled_at": None,
                "total_discounts": "0.00",
                "total_shipping_price_set": {
                    "shop_money": {"amount": shipping, "currency_code": "CNY"}
                },
                "line_items": [
                    {
                        "id": next(self._ids),
                        "sku": sku,
                        "quantity": qty,
                        "price": price,
                        "title": sku,
                        "variant_title": None,
                    }
                    for sku, qty, price in lines
                ],
                "shipping_address": {
                    "first_name": "Li",
                    "last_name": "Lei",
                    "address1": "1 Nanjing Road",
                    "city": "Shanghai",
                    "province": "Shanghai",
                    "country_code": "CN",
                    "zip": "200000",
                    "latitude": 31.2336,
                    "longitude": 121.4667,
                },
                "fulfillment_orders": [{"id": next(self._ids), "status": "open"}],
            }
            self.orders[order_id] = order
        return order

    def update_order(self, order_id: int, **changes: Any) -> dict[str, Any]:
        with self.lock:
            order = self.orders[order_id]
            order.update(changes)
            order["updated_at"] = _now(later=order["updated_at"])
            return order

    def webhook(
        self, order: dict[str, Any], topic: str, *, delivery_id: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """Headers and raw body of the webhook Shopify would POST for ``order``."""
        public = {k: v for k, v in order.items() if k != "fulfillment_orders"}
        body = json.dumps(public).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": shopify_signature(self.webhook_secret, body),
            "X-Shopify-Shop-Domain": "livehub-demo.myshopify.com",
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": delivery_id or str(uuid.uuid4()),
            "X-Shopify-Triggered-At": _now(),
        }
        return headers, body

    # ---- the API -------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        if request.headers.get("x-shopify-access-token") != self.access_token:
            return Reply(401, {"errors": "[API] Invalid API key or access token"})
        if not request.path.startswith(self.prefix):
            return Reply(404, {"errors": "Not Found"})
        path = request.path[len(self.prefix) :]
        if path == "/graphql.json" and request.method == "POST":
            return self._graphql(request.json())
        allowed, level = self.rest.take()
        limit_header = {"X-Shopify-Shop-Api-Call-Limit": f"{int(level)}/{int(self.rest.size)}"}
        if not allowed:
            return Reply(
                429,
                {"errors": "Exceeded 2 calls per second for api client."},
                {"Retry-After": "1.0", **limit_header},
            )
        reply = self._rest(request.method, path, request)
        reply.headers.update(limit_header)
        return reply

    def _rest(self, method: str, path: str, request: Request) -> Reply:
        with self.lock:
            if method == "GET" and path == "/orders.json":
                since = request.query.get("updated_at_min")
                limit = int(request.query.get("limit", "50"))
                rows = sorted(self.orders.values(), key=lambda o: (o["updated_at"], o["id"]))
                if since:
                    rows = [o for o in rows if _parse(o["updated_at"]) >= _parse(since)]
                public = [{k: v for k, v in o.items() if k != "fulfillment_orders"} for o in rows]
                return Reply(200, {"orders": public[:limit]})
            match = re.fullmatch(
                r"/orders/(\d+)(\.json|/fulfillment_orders\.json|/cancel\.json)", path
            )
            if match:
                order = self.orders.get(int(match.group(1)))
                if order is None:
                    return Reply(404, {"errors": "Not Found"})
                if match.group(2) == ".json" and method == "GET":
                    return Reply(200, {"order": order})
                if match.group(2) == "/fulfillment_orders.json" and method == "GET":
                    return Reply(200, {"fulfillment_orders": order["fulfillment_orders"]})
                if match.group(2) == "/cancel.json" and method == "POST":
                    if order["fulfillment_status"] == "fulfilled":
                        return Reply(422, {"errors": "Cannot cancel a fulfilled order"})
                    order["cancelled_at"] = _now()
                    order["updated_at"] = _now(later=order["updated_at"])
                    for fo in order["fulfillment_orders"]:
                        fo["status"] = "cancelled"
                    return Reply(200, {"order": order})
            if path == "/fulfillments.json" and method == "POST":
                spec = request.json()["fulfillment"]
                ids = {x["fulfillment_order_id"] for x in spec["line_items_by_fulfillment_order"]}
                for order in self.orders.values():
                    for fo in order["fulfillment_orders"]:
                        if fo["id"] in ids:
                            if fo["status"] not in {"open", "in_progress"}:
                                return Reply(422, {"errors": "fulfillment order is closed"})
                            fo["status"] = "closed"
                            order["fulfillment_status"] = "fulfilled"
                            order["updated_at"] = _now(later=order["updated_at"])
                            fulfillment = {
                                "id": next(self._ids),
                                "order_id": order["id"],
                                "status": "success",
                                "tracking_company": spec["tracking_info"]["company"],
                                "tracking_number": spec["tracking_info"]["number"],
                            }
                            self.fulfillments.append(fulfillment)
                            return Reply(201, {"fulfillment": fulfillment})
                return Reply(404, {"errors": "fulfillment order not found"})
        return Reply(404, {"errors": "Not Found"})

    def _graphql(self, payload: dict[str, Any]) -> Reply:
        query = str(payload.get("query", ""))
        variables = payload.get("variables") or {}
        cost = MUTATION_COST if "mutation" in query else 1
        allowed, level = self.graphql.take(cost)
        extensions = {
            "cost": {
                "requestedQueryCost": cost,
                "actualQueryCost": cost if allowed else None,
                "throttleStatus": {
                    "maximumAvailable": self.graphql.size,
                    "currentlyAvailable": int(self.graphql.size - level),
                    "restoreRate": self.graphql.rate,
                },
            }
        }
        if not allowed:
            with self.lock:
                self.throttled += 1
            return Reply(
                200,
                {
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                    "extensions": extensions,
                },
            )
        if "inventorySetQuantities" in query:
            data = self._set_quantities(variables["input"])
        elif "nodes(" in query:
            with self.lock:
                data = {
                    "nodes": [
                        {
                            "id": gid,
                            "inventoryLevel": {
                                "quantities": [
                                    {"name": "available", "quantity": self.inventory[gid]}
                                ]
                            },
                        }
                        if gid in self.inventory
                        else None
                        for gid in variables.get("ids", [])
                    ]
                }
        else:
            return Reply(200, {"errors": [{"message": "unsupported operation"}]})
        return Reply(200, {"data": data, "extensions": extensions})

    def _set_quantities(self, spec: dict[str, Any]) -> dict[str, Any]:
        quantities = spec.get("quantities") or []
        errors = []
        with self.lock:
            for i, q in enumerate(quantities):
                gid = q["inventoryItemId"]
                if gid not in self.inventory or q.get("locationId") != self.location_id:
                    errors.append(
                        {
                            "code": "ITEM_NOT_STOCKED_AT_LOCATION",
                            "field": ["input", "quantities", str(i), "locationId"],
                            "message": NOT_STOCKED,
                        }
                    )
                elif not spec.get("ignoreCompareQuantity"):
                    if "compareQuantity" not in q:
                        errors.append(
                            {
                                "code": "INVALID_COMPARE_QUANTITY",
                                "field": ["input", "quantities", str(i), "compareQuantity"],
                                "message": "compareQuantity is required",
                            }
                        )
                    elif q["compareQuantity"] != self.inventory[gid]:
                        errors.append(
                            {
                                "code": "COMPARE_QUANTITY_STALE",
                                "field": ["input", "quantities", str(i), "compareQuantity"],
                                "message": STALE,
                            }
                        )
            if errors:
                return {
                    "inventorySetQuantities": {
                        "inventoryAdjustmentGroup": None,
                        "userErrors": errors,
                    }
                }
            changes = []
            for q in quantities:
                gid = q["inventoryItemId"]
                delta = q["quantity"] - self.inventory[gid]
                self.inventory[gid] = q["quantity"]
                self.record_stock(gid, q["quantity"])
                changes.append(
                    {"name": "available", "delta": delta, "quantityAfterChange": q["quantity"]}
                )
        return {
            "inventorySetQuantities": {
                "inventoryAdjustmentGroup": {"reason": spec.get("reason"), "changes": changes},
                "userErrors": [],
            }
        }


def _now(*, later: str | None = None) -> str:
    """ISO time with offset, as Shopify prints it; strictly after ``later`` if given."""
    now = datetime.now(UTC).replace(microsecond=0)
    if later is not None and now <= _parse(later):
        now = _parse(later) + timedelta(seconds=1)
    return now.isoformat()


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)
