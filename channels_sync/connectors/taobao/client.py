"""TOP client: every call is a signed form POST to ``/router/rest``.

Errors come back as ``error_response`` with HTTP 200: code 7 (``App Call Limited``) is a
rate limit whose ``sub_msg`` says how long the ban lasts; ``isp.*`` sub codes (and code
15/520 without an ``isv.*`` sub code) are platform faults worth retrying; everything
else, ``isv.*`` included, is the request's fault.
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from channels_sync.connectors.base import (
    ConnectorConfig,
    ExternalOrderData,
    OrderPage,
    PushOutcome,
    QuantityUpdate,
    RemoteError,
    Tracking,
    WebhookEnvelope,
    http_request,
)
from channels_sync.connectors.taobao.mapping import (
    PAID,
    parse_top_time,
    taobao_trade,
    top_time,
)
from channels_sync.connectors.taobao.webhooks import top_sign, verify_taobao_webhook
from channels_sync.errors import PermanentRemoteError, RateLimited
from channels_sync.ratelimit import rate_gate_wait

PAGE_SIZE = 100
TRADE_FIELDS = (
    "tid,status,modified,payment,post_fee,discount_fee,receiver_name,receiver_state,"
    "receiver_city,receiver_district,receiver_address,receiver_zip,receiver_mobile,"
    "alipay_no,orders.outer_sku_id,orders.outer_iid,orders.num,orders.price,orders.title,"
    "orders.sku_properties_name"
)


#: quantity updates in flight at once per push (TOP meters calls, not connections)
PARALLEL_CALLS = 4


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=PARALLEL_CALLS, thread_name_prefix="top-push")


class TaobaoConnector:
    platform = "taobao"
    batch_size = 20  # taobao.item.quantity.update sets one SKU per call
    compare_and_swap = False
    one_call_per_sku = True

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config
        self.app_key = str(config.credentials.get("app_key", ""))
        self.app_secret = str(config.credentials.get("app_secret", ""))
        self.session = str(config.credentials.get("session", ""))
        self.sign_method = str(config.credentials.get("sign_method", "hmac-sha256"))
        self.url = config.base_url.rstrip("/") + "/router/rest"

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEnvelope:
        return verify_taobao_webhook(headers=headers, body=body)

    def parse_order(self, payload: dict[str, Any]) -> ExternalOrderData:
        return taobao_trade(payload)

    def pull_orders(self, *, since: str) -> OrderPage:
        now = datetime.now(UTC)
        start = parse_top_time(since) if since else now - timedelta(days=1)
        end = min(now, start + timedelta(days=1))  # the API takes at most one day per query
        orders: list[ExternalOrderData] = []
        page = 1
        while True:
            response = self._call(
                "taobao.trades.sold.increment.get",
                {
                    "fields": TRADE_FIELDS,
                    "start_modified": top_time(start),
                    "end_modified": top_time(end),
                    "page_no": str(page),
                    "page_size": str(PAGE_SIZE),
                    "use_has_next": "true",
                },
            )["trades_sold_increment_get_response"]
            trades = (response.get("trades") or {}).get("trade") or []
            orders.extend(taobao_trade(t) for t in trades)
            if not response.get("has_next"):
                break
            page += 1
        return OrderPage(orders=orders, cursor=top_time(end), has_more=end < now)

    def push_quantities(self, updates: list[QuantityUpdate]) -> list[PushOutcome]:
        """One ``taobao.item.quantity.update`` per SKU, up to ``PARALLEL_CALLS`` in flight.

        TOP limits calls per time window, not concurrency: with calls overlapping, the
        batch takes what the rate gate allows instead of the sum of round trips. A
        platform failure (5xx, unreachable, ``isp.*``) stops the calls not yet started;
        they report that same error without having been sent.
        """
        stop = threading.Event()
        limited: list[RateLimited] = []
        failure: list[RemoteError] = []

        def one(u: QuantityUpdate) -> PushOutcome:
            if stop.is_set():
                return PushOutcome(sku=u.sku, ok=False, error=failure[0] if failure else None)
            params = {"num_iid": u.external_id, "quantity": str(u.quantity), "type": "1"}
            if u.external_sub_id:
                params["sku_id"] = u.external_sub_id
            try:
                self._call("taobao.item.quantity.update", params)
            except RateLimited as error:
                limited.append(error)
                stop.set()  # the rest waits for the ban to lift
                return PushOutcome(sku=u.sku, ok=False, error=error)
            except RemoteError as error:
                if error.retryable:
                    failure.append(error)
                    stop.set()
                return PushOutcome(sku=u.sku, ok=False, error=error)
            return PushOutcome(sku=u.sku, ok=True)

        if len(updates) <= 1:
            outcomes = [one(u) for u in updates]
        else:
            outcomes = list(_pool().map(one, updates))
        if limited:
            raise limited[0]
        unsent = failure[0] if failure else RemoteError("not sent")
        return [
            o if o.ok or o.error is not None else PushOutcome(o.sku, False, unsent)
            for o in outcomes
        ]

    def push_fulfilment(self, *, external_order_id: str, tracking: Tracking) -> None:
        trade = self._call("taobao.trade.get", {"tid": external_order_id, "fields": "tid,status"})[
            "trade_get_response"
        ]["trade"]
        if trade.get("status") != "WAIT_SELLER_SEND_GOODS":
            return  # already consigned (or closed): nothing to send
        self._call(
            "taobao.logistics.offline.send",
            {
                "tid": external_order_id,
                "out_sid": tracking.tracking_number,
                "company_code": tracking.carrier.upper(),
            },
        )

    def push_cancellation(self, *, external_order_id: str, reason: str) -> None:
        trade = self._call("taobao.trade.get", {"tid": external_order_id, "fields": "tid,status"})[
            "trade_get_response"
        ]["trade"]
        status = trade.get("status")
        if status in {"TRADE_CLOSED", "TRADE_CLOSED_BY_TAOBAO"}:
            return
        if status in PAID:
            raise PermanentRemoteError(
                "a paid Taobao trade cannot be closed by API; refund it in the seller centre"
            )
        self._call(
            "taobao.trade.close", {"tid": external_order_id, "close_reason": reason or "seller"}
        )

    # ---- transport --------------------------------------------------------------------

    def signed_params(self, method: str, params: Mapping[str, str]) -> dict[str, str]:
        full = {
            "method": method,
            "app_key": self.app_key,
            "session": self.session,
            "timestamp": top_time(datetime.now(UTC)),
            "format": "json",
            "v": "2.0",
            "sign_method": self.sign_method,
            **params,
        }
        full["sign"] = top_sign(full, self.app_secret, self.sign_method)
        return full

    def _call(self, method: str, params: Mapping[str, str]) -> dict[str, Any]:
        rate_gate_wait(
            key=self.config.rate_key or self.url, rate_per_s=self.config.rate_limit_per_s
        )
        body = urllib.parse.urlencode(self.signed_params(method, params)).encode()
        response = http_request(
            "POST",
            self.url,
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
            body=body,
        )
        payload = response.json()
        if not isinstance(payload, dict):
            raise RemoteError("TOP answered with something other than a JSON object")
        error = payload.get("error_response")
        if error:
            code = int(error.get("code", 0))
            sub_code = str(error.get("sub_code", ""))
            message = f"TOP {code} {error.get('msg', '')} {sub_code} {error.get('sub_msg', '')}"
            if code == 7 or sub_code.startswith("accesscontrol"):
                match = re.search(r"(\d+)\s*more seconds", str(error.get("sub_msg", "")))
                raise RateLimited(message, retry_after=float(match.group(1)) if match else 1.0)
            # isv.*: the caller's fault (bad id, bad state); isp.*: the platform's.
            if not sub_code.startswith("isv.") and (
                sub_code.startswith("isp.") or code in {15, 520}
            ):
                raise RemoteError(message)
            raise PermanentRemoteError(message)
        return payload
