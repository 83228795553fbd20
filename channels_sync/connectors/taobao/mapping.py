"""TOP ``Trade`` objects -> ``ExternalOrderData``; TOP times are Beijing time (UTC+8)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from channels_sync.connectors.base import ExternalLine, ExternalOrderData, money_minor
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
