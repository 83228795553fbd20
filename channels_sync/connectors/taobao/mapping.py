"""TOP ``Trade`` objects -> ``ExternalOrderData``; stock updates -> TOP calls.

TOP times are Beijing time (UTC+8). A Taobao item (``num_iid``) may have SKUs (colour,
size); a listing names the item in ``external_id`` and, for an item with SKUs, the SKU
in ``external_sub_id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from channels_sync.connectors.base import (
    ExternalLine,
    ExternalOrderData,
    QuantityUpdate,
    money_minor,
)
from channels_sync.errors import MalformedPayload

BEIJING = timezone(timedelta(hours=8))
TOP_TIME = "%Y-%m-%d %H:%M:%S"
PAID = frozenset(
    {
        "WAIT_SELLER_SEND_GOODS",
        "SELLER_CONSIGNED_PART",
        "WAIT_BUYER_CONFIRM_GOODS",
        "TRADE_BUYER_SIGNED",
        "TRADE_FINISHED",
    }
)
CANCELLED = frozenset({"TRADE_CLOSED", "TRADE_CLOSED_BY_TAOBAO"})


def top_time(value: datetime) -> str:
    return value.astimezone(BEIJING).strftime(TOP_TIME)


def parse_top_time(value: str) -> datetime:
    return datetime.strptime(value, TOP_TIME).replace(tzinfo=BEIJING)


def taobao_trade(trade: dict[str, Any]) -> ExternalOrderData:
    try:
        external_id = str(trade["tid"])
        updated_at = parse_top_time(str(trade["modified"]))
        status = str(trade["status"])
        lines = [
            ExternalLine(
                sku=str(o.get("outer_sku_id") or o.get("outer_iid") or ""),
                quantity=int(o["num"]),
                unit_price=money_minor(o.get("price")),
                title=" ".join(t for t in (o.get("title"), o.get("sku_properties_name")) if t),
            )
            for o in trade["orders"]["order"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedPayload(f"not a TOP trade: {exc!r}") from None
    return ExternalOrderData(
        external_id=external_id,
        updated_at=updated_at,
        status=status,
        paid=status in PAID,
        cancelled=status in CANCELLED,
        currency="CNY",
        lines=lines,
        shipping_amount=money_minor(trade.get("post_fee")),
        discount_amount=money_minor(trade.get("discount_fee")),
        customer_email="",
        shipping_address={
            "name": trade.get("receiver_name", ""),
            "line1": " ".join(
                p for p in (trade.get("receiver_district"), trade.get("receiver_address")) if p
            ),
            "city": trade.get("receiver_city", ""),
            "province": trade.get("receiver_state", ""),
            "country": "CN",
            "postcode": trade.get("receiver_zip", ""),
            "phone": trade.get("receiver_mobile", ""),
        },
        payment_reference=f"taobao:{trade.get('alipay_no') or external_id}",
    )


# ---- stock ------------------------------------------------------------------------------

#: ``taobao.skus.quantity.update`` sets at most this many SKUs of one item per call
SKUS_PER_CALL = 20


def item_calls(
    updates: Sequence[QuantityUpdate], *, limit: int = SKUS_PER_CALL
) -> list[list[QuantityUpdate]]:
    """Split updates into calls: SKUs of one item together, at most ``limit`` a call.

    An update without a SKU id (an item without SKUs) is a call of its own
    (``taobao.item.quantity.update``), and so is a lone SKU of its item. Order of first
    appearance is kept; the same SKU never appears twice in one call.
    """
    calls: list[list[QuantityUpdate]] = []
    open_call: dict[str, list[QuantityUpdate]] = {}
    for update in updates:
        if not update.external_sub_id:
            calls.append([update])
            continue
        call = open_call.get(update.external_id)
        if (
            call is None
            or len(call) >= limit
            or any(u.external_sub_id == update.external_sub_id for u in call)
        ):
            call = []
            calls.append(call)
            open_call[update.external_id] = call
        call.append(update)
    return calls


def skuid_quantities(updates: Sequence[QuantityUpdate]) -> str:
    """``skuId:quantity;skuId:quantity``, the ``skuid_quantities`` parameter."""
    return ";".join(f"{u.external_sub_id}:{u.quantity}" for u in updates)


def confirmed_skus(response: dict[str, Any]) -> dict[str, int]:
    """SKU id -> quantity from a ``skus_quantity_update_response``."""
    try:
        item = response["skus_quantity_update_response"]["item"]
        skus = (item.get("skus") or {}).get("sku") or []
        return {str(s["sku_id"]): int(s["quantity"]) for s in skus}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedPayload(f"not a skus_quantity_update_response: {exc!r}") from None
