"""Shopify order JSON (Admin REST ``Order`` resource) -> ``ExternalOrderData``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from channels_sync.connectors.base import ExternalLine, ExternalOrderData, money_minor
from channels_sync.errors import MalformedPayload

PAID_STATUSES = frozenset({"paid", "partially_refunded"})


def shopify_order(payload: dict[str, Any]) -> ExternalOrderData:
    try:
        external_id = str(payload["id"])
        updated_at = datetime.fromisoformat(str(payload["updated_at"]))
        items = payload["line_items"]
        lines = [
            ExternalLine(
                sku=str(item.get("sku") or ""),
                quantity=int(item["quantity"]),
                unit_price=money_minor(item.get("price")),
                title=" / ".join(t for t in (item.get("title"), item.get("variant_title")) if t),
            )
            for item in items
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedPayload(f"not a Shopify order: {exc!r}") from None
    address = payload.get("shipping_address") or {}
    shipping = ((payload.get("total_shipping_price_set") or {}).get("shop_money") or {}).get(
        "amount", "0"
    )
    lat, lng = address.get("latitude"), address.get("longitude")
    financial = str(payload.get("financial_status") or "pending")
    return ExternalOrderData(
        external_id=external_id,
        updated_at=updated_at,
        status=financial if not payload.get("cancelled_at") else "cancelled",
        paid=financial in PAID_STATUSES,
        cancelled=bool(payload.get("cancelled_at")),
        currency=str(payload.get("currency") or ""),
        lines=lines,
        shipping_amount=money_minor(shipping),
        discount_amount=money_minor(payload.get("total_discounts")),
        customer_email=str(payload.get("email") or ""),
        shipping_address={
            "name": " ".join(p for p in (address.get("first_name"), address.get("last_name")) if p),
            "line1": address.get("address1", ""),
            "city": address.get("city", ""),
            "province": address.get("province", ""),
            "country": address.get("country_code") or address.get("country", ""),
            "postcode": address.get("zip", ""),
            "phone": address.get("phone", ""),
        },
        latitude=float(lat) if lat is not None else None,
        longitude=float(lng) if lng is not None else None,
        payment_reference=f"shopify:{payload.get('name') or external_id}",
    )
