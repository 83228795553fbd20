"""TOP simulator: ``/router/rest`` with md5/hmac/hmac-sha256 signature checks, a per-app
call limit answered with error code 7 (``App Call Limited``), quantity update, the
incremental trade pull, consignment and trade close."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from channels_sync.connectors.taobao.mapping import parse_top_time, top_time
from channels_sync.connectors.taobao.webhooks import SIGN_METHODS, top_sign
from channels_sync.simulators.base import LeakyBucket, Reply, Request, SimulatorServer

MAX_SKEW = timedelta(minutes=10)


class TaobaoSimulator(SimulatorServer):
    name = "taobao"

    def __init__(
        self,
        *,
        app_key: str = "12345678",
        app_secret: str = "top_secret",
        session: str = "6100top",
        bucket: tuple[float, float] = (20, 10),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.app_key, self.app_secret, self.session = app_key, app_secret, session
        self.bucket = LeakyBucket(size=bucket[0], rate=bucket[1])
        self.items: dict[str, dict[str, Any]] = {}
        self.trades: dict[int, dict[str, Any]] = {}
        self.consignments: list[dict[str, str]] = []
        self._ids = itertools.count(600_000_000_001)

    def add_item(self, *, sku: str, available: int = 0, item_id: str = "") -> str:
        num_iid = item_id or str(next(self._ids))
        with self.lock:
            self.items[num_iid] = {"num_iid": num_iid, "outer_id": sku, "num": available}
        return num_iid

    @property
    def inventory(self) -> dict[str, int]:
        with self.lock:
            return {k: int(v["num"]) for k, v in self.items.items()}

    def place_order(
        self, *, lines: list[tuple[str, int, str]], status: str = "WAIT_SELLER_SEND_GOODS"
    ) -> dict[str, Any]:
        tid = next(self._ids)
        with self.lock:
            for sku, qty, _ in lines:
                for item in self.items.values():
                    if item["outer_id"] == sku:
                        item["num"] -= qty
            trade = {
                "tid": tid,
                "status": status,
                "modified": top_time(datetime.now(UTC)),
                "payment": "0.00",
                "post_fee": "0.00",
                "discount_fee": "0.00",
                "receiver_name": "张三",
                "receiver_state": "浙江省",
                "receiver_city": "杭州市",
                "receiver_district": "西湖区",
                "receiver_address": "文三路 1 号",
                "receiver_zip": "310000",
                "receiver_mobile": "13800000000",
                "alipay_no": f"ali{tid}",
                "orders": {
                    "order": [
                        {"outer_sku_id": sku, "num": qty, "price": price, "title": sku}
                        for sku, qty, price in lines
                    ]
                },
            }
            self.trades[tid] = trade
        return trade

    def handle(self, request: Request) -> Reply:
        if request.path != "/router/rest":
            return Reply(404, {"error": "not found"})
        params = {
            k: v[-1] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()
        }
        params.update({k: v for k, v in request.query.items() if k not in params})
        method = params.get("method", "")
        short = method.replace("taobao.", "").replace(".", "_")
        if params.get("app_key") != self.app_key:
            return _error(29, "Invalid app Key")
        sign_method = params.get("sign_method", "md5")
        if sign_method not in SIGN_METHODS:
            return _error(25, "Invalid signature", "isv.invalid-sign-method")
        if params.get("sign") != top_sign(params, self.app_secret, sign_method):
            return _error(25, "Invalid signature")
        try:
            sent = parse_top_time(params.get("timestamp", ""))
        except ValueError:
            return _error(31, "Invalid timestamp")
        if abs(datetime.now(UTC) - sent) > MAX_SKEW:
            return _error(31, "Invalid timestamp")
        if params.get("session") != self.session:
            return _error(27, "Invalid session")
        allowed, _ = self.bucket.take()
        if not allowed:
            with self.lock:
                self.throttled += 1
            wait = max(1, math.ceil(self.bucket.wait_for(1)))
            return _error(
                7,
                "App Call Limited",
                "accesscontrol.limited-by-app-access-count",
                f"This ban will last for {wait} more seconds",
            )
        with self.lock:
            if method == "taobao.item.quantity.update":
                item = self.items.get(params.get("num_iid", ""))
                if item is None:
                    return _error(15, "Remote service error", "isv.item-not-exist", "商品不存在")
                item["num"] = int(params["quantity"])
                self.record_stock(item["num_iid"], item["num"])
                return Reply(
                    200,
                    {
                        f"{short}_response": {
                            "item": {
                                "num_iid": item["num_iid"],
                                "num": item["num"],
                                "modified": top_time(datetime.now(UTC)),
                            }
                        }
                    },
                )
            if method == "taobao.trades.sold.increment.get":
                start = parse_top_time(params["start_modified"])
                end = parse_top_time(params["end_modified"])
                page, size = int(params.get("page_no", "1")), int(params.get("page_size", "40"))
                rows = sorted(
                    (
                        t
                        for t in self.trades.values()
                        if start <= parse_top_time(t["modified"]) <= end
                    ),
                    key=lambda t: (t["modified"], t["tid"]),
                )
                chunk = rows[(page - 1) * size : page * size]
                return Reply(
                    200,
                    {
                        f"{short}_response": {
                            "total_results": len(rows),
                            "has_next": page * size < len(rows),
                            "trades": {"trade": chunk},
                        }
                    },
                )
            trade = self.trades.get(int(params.get("tid", "0") or 0))
            if (
                method
                in {"taobao.trade.get", "taobao.logistics.offline.send", "taobao.trade.close"}
                and trade is None
            ):
                return _error(15, "Remote service error", "isv.trade-not-exist")
            assert trade is not None or method not in {"taobao.trade.get"}
            if method == "taobao.trade.get" and trade is not None:
                return Reply(
                    200,
                    {
                        f"{short}_response": {
                            "trade": {"tid": trade["tid"], "status": trade["status"]}
                        }
                    },
                )
            if method == "taobao.logistics.offline.send" and trade is not None:
                if trade["status"] != "WAIT_SELLER_SEND_GOODS":
                    return _error(
                        15, "Remote service error", "isv.logistics-offline-service-error:B04"
                    )
                trade["status"] = "WAIT_BUYER_CONFIRM_GOODS"
                trade["modified"] = top_time(datetime.now(UTC))
                self.consignments.append(
                    {
                        "tid": str(trade["tid"]),
                        "out_sid": params["out_sid"],
                        "company_code": params["company_code"],
                    }
                )
                return Reply(200, {f"{short}_response": {"shipping": {"is_success": True}}})
            if method == "taobao.trade.close" and trade is not None:
                if trade["status"] != "WAIT_BUYER_PAY":
                    return _error(15, "Remote service error", "isv.trade-close-not-allowed")
                trade["status"] = "TRADE_CLOSED_BY_TAOBAO"
                trade["modified"] = top_time(datetime.now(UTC))
                return Reply(200, {f"{short}_response": {"trade": {"tid": trade["tid"]}}})
        return _error(22, "Invalid method")


def _error(code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> Reply:
    body: dict[str, Any] = {"code": code, "msg": msg, "request_id": "sim"}
    if sub_code:
        body["sub_code"] = sub_code
    if sub_msg:
        body["sub_msg"] = sub_msg
    return Reply(200, {"error_response": body})
