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
    SKUS_PER_CALL,
    confirmed_skus,
    item_calls,
    parse_top_time,
    skuid_quantities,
    taobao_trade,
    top_time,
)
from channels_sync.connectors.taobao.webhooks import top_sign, verify_taobao_webhook
from channels_sync.errors import MalformedPayload, PermanentRemoteError, RateLimited
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
#: refusals about the whole item: sending its SKUs one by one cannot help
ITEM_REFUSALS = ("isv.item-not-exist", "isv.item-is-delete")


class TopRefusal(PermanentRemoteError):
    """An ``isv.*`` (or otherwise non-retryable) TOP error, with its codes."""

    def __init__(self, message: str, *, code: int, sub_code: str) -> None:
        super().__init__(message)
        self.code = code
        self.sub_code = sub_code

    @property
    def per_sku(self) -> bool:
        """True when the refusal may concern one SKU of a batch, not the whole call."""
        return self.sub_code.startswith("isv.") and not self.sub_code.startswith(ITEM_REFUSALS)


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=PARALLEL_CALLS, thread_name_prefix="top-push")


class TaobaoConnector:
    platform = "taobao"
    batch_size = SKUS_PER_CALL
    compare_and_swap = False
    #: a call per item, not per SKU, but no call carries several items: the pusher's
    #: short window (not ride-along) is still what saves calls across items
    one_call_per_sku = True
    #: the pusher lets the not yet due SKUs of an item ride along with a due one
    batches_by_item = True

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
        """One call per item: its dirty SKUs in one ``taobao.skus.quantity.update``.

        SKUs of one item go together (up to ``SKUS_PER_CALL``); an item without SKUs, or
        a lone SKU, takes ``taobao.item.quantity.update``. Up to ``PARALLEL_CALLS`` calls
        are in flight: TOP limits calls per time window, not concurrency. A platform
        failure (5xx, unreachable, ``isp.*``) stops the calls not yet started; they report
        that same error without having been sent. TOP refuses a batch whole when one of
        its SKUs is refused: its SKUs are then sent one by one, so the others still land
        and only the bad one carries the refusal.
        """
        stop = threading.Event()
        limited: list[RateLimited] = []
        failure: list[RemoteError] = []

        def unsent(group: list[QuantityUpdate]) -> list[PushOutcome]:
            error = failure[0] if failure else None
            return [PushOutcome(sku=u.sku, ok=False, error=error) for u in group]

        def sent(method: str, params: dict[str, str]) -> dict[str, Any] | RemoteError:
            """The response, or the error of a call that failed (and what it stops)."""
            try:
                return self._call(method, params)
            except RateLimited as error:
                limited.append(error)
                stop.set()  # the rest waits for the ban to lift
                return error
            except RemoteError as error:
                if error.retryable:
                    failure.append(error)
                    stop.set()
                return error

        def one(u: QuantityUpdate) -> PushOutcome:
            if stop.is_set():
                return unsent([u])[0]
            params = {"num_iid": u.external_id, "quantity": str(u.quantity), "type": "1"}
            if u.external_sub_id:
                params["sku_id"] = u.external_sub_id
            answer = sent("taobao.item.quantity.update", params)
            if isinstance(answer, RemoteError):
                return PushOutcome(sku=u.sku, ok=False, error=answer)
            return PushOutcome(sku=u.sku, ok=True)

        def call(group: list[QuantityUpdate]) -> list[PushOutcome]:
            if len(group) == 1:
                return [one(group[0])]
            if stop.is_set():
                return unsent(group)
            answer = sent(
                "taobao.skus.quantity.update",
                {
                    "num_iid": group[0].external_id,
                    "type": "1",
                    "skuid_quantities": skuid_quantities(group),
                },
            )
            if isinstance(answer, TopRefusal) and answer.per_sku:
                return [one(u) for u in group]
            if isinstance(answer, RemoteError):
                return [PushOutcome(sku=u.sku, ok=False, error=answer) for u in group]
            try:
                confirmed = confirmed_skus(answer)
            except MalformedPayload as error:
                bad = RemoteError(str(error))
                return [PushOutcome(sku=u.sku, ok=False, error=bad) for u in group]
            return [
                PushOutcome(sku=u.sku, ok=True)
                if u.external_sub_id in confirmed
                else PushOutcome(
                    sku=u.sku,
                    ok=False,
                    error=RemoteError(
                        f"TOP did not confirm SKU {u.external_sub_id} of item {u.external_id}"
                    ),
                )
                for u in group
            ]

        calls = item_calls(updates)
        if len(calls) <= 1:
            outcomes = [o for group in calls for o in call(group)]
        else:
            outcomes = [o for done in _pool().map(call, calls) for o in done]
        if limited:
            raise limited[0]
        not_sent = failure[0] if failure else RemoteError("not sent")
        return [
            o if o.ok or o.error is not None else PushOutcome(o.sku, False, not_sent)
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
            raise TopRefusal(message, code=code, sub_code=sub_code)
        return payload
