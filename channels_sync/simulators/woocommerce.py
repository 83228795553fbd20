"""WooCommerce simulator: REST v3 (Basic auth) products/batch, orders, notes; signed
webhooks (``X-WC-Webhook-Signature``); a token bucket answering 429 + ``Retry-After``."""

from __future__ import annotations

import base64
import itertools
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from channels_sync.connectors.woocommerce.webhooks import woocommerce_signature
from channels_sync.simulators.base import LeakyBucket, Reply, Request, SimulatorServer

PREFIX = "/wp-json/wc/v3"


class WooCommerceSimulator(SimulatorServer):
    name = "woocommerce"

    def __init__(
        self,
        *,
        consumer_key: str = "ck_test",
        consumer_secret: str = "cs_test",
        webhook_secret: str = "wh_test",
        bucket: tuple[float, float] = (25, 5),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.auth = (
            "Basic " + base64.b64encode(f"{consumer_key}:{consumer_secret}".encode()).decode()
        )
        self.webhook_secret = webhook_secret
        self.bucket = LeakyBucket(size=bucket[0], rate=bucket[1])
        self.products: dict[int, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self._ids = itertools.count(701)

    def add_item(self, *, sku: str, available: int = 0, item_id: str = "") -> str:
        pid = int(item_id) if item_id else next(self._ids)
        with self.lock:
            self.products[pid] = {
                "id": pid,
                "sku": sku,
                "manage_stock": True,
                "stock_quantity": available,
            }
        return str(pid)

    @property
    def inventory(self) -> dict[str, int]:
        with self.lock:
            return {str(p["id"]): int(p["stock_quantity"]) for p in self.products.values()}

    def place_order(
        self, *, lines: list[tuple[str, int, str]], status: str = "processing"
    ) -> dict[str, Any]:
        oid = next(self._ids)
        now = _now()
        with self.lock:
            for sku, qty, _ in lines:
                for p in self.products.values():
                    if p["sku"] == sku:
                        p["stock_quantity"] -= qty
            order = {
                "id": oid,
                "number": str(oid),
                "status": status,
                "currency": "CNY",
                "date_created_gmt": now,
                "date_modified_gmt": now,
                "date_paid_gmt": now if status in {"processing", "completed"} else None,
                "shipping_total": "8.00",
                "discount_total": "0.00",
                "transaction_id": f"tx{oid}",
                "billing": {"email": "woo-buyer@example.com"},
                "shipping": {
                    "first_name": "Han",
                    "last_name": "Mei",
                    "address_1": "88 Century Ave",
                    "city": "Shanghai",
                    "state": "SH",
                    "postcode": "200120",
                    "country": "CN",
                },
                "line_items": [
                    {
                        "id": next(self._ids),
                        "name": sku,
                        "sku": sku,
                        "quantity": qty,
                        "price": float(price),
                    }
                    for sku, qty, price in lines
                ],
            }
            self.orders[oid] = order
        return order

    def update_order(self, order_id: int, **changes: Any) -> dict[str, Any]:
        with self.lock:
            order = self.orders[order_id]
            order.update(changes)
            order["date_modified_gmt"] = _now(later=order["date_modified_gmt"])
            return order

    def webhook(
        self, order: dict[str, Any], topic: str = "order.updated", *, delivery_id: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        body = json.dumps(order).encode()
        resource, event = topic.split(".")
        return {
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": "https://woo.example/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": woocommerce_signature(self.webhook_secret, body),
            "X-WC-Webhook-ID": "12",
            "X-WC-Webhook-Delivery-ID": delivery_id or uuid.uuid4().hex,
        }, body

    def handle(self, request: Request) -> Reply:
        if request.headers.get("authorization") != self.auth:
            return Reply(
                401,
                {
                    "code": "woocommerce_rest_cannot_view",
                    "message": "Sorry, you cannot list resources.",
                    "data": {"status": 401},
                },
            )
        allowed, _ = self.bucket.take()
        if not allowed:
            return Reply(
                429,
                {"code": "rate_limited", "message": "Too many requests", "data": {"status": 429}},
                {"Retry-After": f"{max(1.0, self.bucket.wait_for(1)):.0f}"},
            )
        if not request.path.startswith(PREFIX):
            return Reply(404, {"code": "rest_no_route"})
        path = request.path[len(PREFIX) :]
        with self.lock:
            if path == "/products/batch" and request.method == "POST":
                results = []
                for u in request.json().get("update", []):
                    product = self.products.get(int(u["id"]))
                    if product is None:
                        results.append(
                            {
                                "id": u["id"],
                                "error": {
                                    "code": "woocommerce_rest_product_invalid_id",
                                    "message": "Invalid ID.",
                                    "data": {"status": 400},
                                },
                            }
                        )
                        continue
                    product.update(
                        {k: v for k, v in u.items() if k in {"stock_quantity", "manage_stock"}}
                    )
                    self.record_stock(str(product["id"]), int(product["stock_quantity"]))
                    results.append(dict(product))
                return Reply(200, {"update": results})
            if path == "/orders" and request.method == "GET":
                rows = sorted(self.orders.values(), key=lambda o: (o["date_modified_gmt"], o["id"]))
                after = request.query.get("modified_after")
                if after:
                    rows = [o for o in rows if o["date_modified_gmt"] > after]
                return Reply(200, rows[: int(request.query.get("per_page", "10"))])
            match = re.fullmatch(r"/orders/(\d+)(/notes)?", path)
            if match:
                order = self.orders.get(int(match.group(1)))
                if order is None:
                    return Reply(
                        404,
                        {
                            "code": "woocommerce_rest_shop_order_invalid_id",
                            "message": "Invalid ID.",
                        },
                    )
                if match.group(2):
                    note = {"id": next(self._ids), **request.json()}
                    self.notes.setdefault(order["id"], []).append(note)
                    return Reply(201, note)
                if request.method == "GET":
                    return Reply(200, order)
                if request.method == "PUT":
                    order.update(request.json())
                    order["date_modified_gmt"] = _now(later=order["date_modified_gmt"])
                    return Reply(200, order)
        return Reply(404, {"code": "rest_no_route"})


def _now(*, later: str | None = None) -> str:
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    if later is not None and now <= datetime.fromisoformat(later):
        now = datetime.fromisoformat(later) + timedelta(seconds=1)
    return now.isoformat()
