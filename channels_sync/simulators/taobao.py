"""TOP simulator: ``/router/rest`` with md5/hmac/hmac-sha256 signature checks, a per-app
call limit answered with error code 7 (``App Call Limited``), quantity updates (one item
or SKU: ``taobao.item.quantity.update``; up to 20 SKUs of one item:
``taobao.skus.quantity.update``), the incremental trade pull, consignment and trade close.

Items may have SKUs; an item's ``num`` is then the sum of its SKUs' quantities, and TOP
refuses to set it directly. A batch naming a SKU the item does not have is refused whole:
nothing of it is applied.
"""

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
#: SKUs one ``taobao.skus.quantity.update`` may set
SKUS_PER_CALL = 20


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
        self._sku_ids = itertools.count(5_000_000_000_001)

    def add_item(self, *, sku: str, available: int = 0, item_id: str = "") -> str:
        """An item without SKUs; returns its ``num_iid``."""
        num_iid = item_id or str(next(self._ids))
        with self.lock:
            self.items[num_iid] = {
                "num_iid": num_iid,
                "outer_id": sku,
                "num": available,
                "skus": {},
            }
        return num_iid

    def add_sku(
        self, *, sku: str, available: int = 0, item_id: str = "", sku_id: str = ""
    ) -> tuple[str, str]:
        """A SKU of item ``item_id`` (created when missing); returns (num_iid, sku_id)."""
        with self.lock:
            num_iid = item_id or str(next(self._ids))
            item = self.items.setdefault(
                num_iid, {"num_iid": num_iid, "outer_id": "", "num": 0, "skus": {}}
            )
            sid = sku_id or str(next(self._sku_ids))
            item["skus"][sid] = {"sku_id": sid, "outer_id": sku, "quantity": available}
            item["num"] = sum(s["quantity"] for s in item["skus"].values())
        return num_iid, sid

    @property
    def inventory(self) -> dict[str, int]:
        """num_iid -> the item's quantity (for an item with SKUs: their sum)."""
        with self.lock:
            return {k: int(v["num"]) for k, v in self.items.items()}

    @property
    def sku_inventory(self) -> dict[str, int]:
        """SKU id -> that SKU's quantity."""
        with self.lock:
            return {
                sid: int(sku["quantity"])
                for item in self.items.values()
                for sid, sku in item["skus"].items()
            }

    def place_order(
        self, *, lines: list[tuple[str, int, str]], status: str = "WAIT_SELLER_SEND_GOODS"
    ) -> dict[str, Any]:
        tid = next(self._ids)
        with self.lock:
            for sku, qty, _ in lines:
                for item in self.items.values():
                    if item["outer_id"] == sku and not item["skus"]:
                        item["num"] -= qty
                    for entry in item["skus"].values():
                        if entry["outer_id"] == sku:
                            entry["quantity"] -= qty
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
                return self._item_quantity_update(params, short)
            if method == "taobao.skus.quantity.update":
                return self._skus_quantity_update(params, short)
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

    # ---- stock (called with the lock held) ---------------------------------------------

    def _item_quantity_update(self, params: dict[str, str], short: str) -> Reply:
        """One item, or one of its SKUs (``sku_id``, else ``outer_id``)."""
        item = self.items.get(params.get("num_iid", ""))
        if item is None:
            return _item_not_exist()
        kind = _update_type(params.get("type", "1"))
        try:
            value = int(params.get("quantity", ""))
        except ValueError:
            return _error(41, "Invalid arguments:quantity")
        if kind is None or (kind == 1 and value < 0):
            return _invalid("type 1 (全量更新) needs quantity >= 0; type is 1 or 2")
        now = top_time(datetime.now(UTC))
        sku_id, outer_id = params.get("sku_id", ""), params.get("outer_id", "")
        if not sku_id and not outer_id:
            if item["skus"]:
                return _error(
                    15,
                    "Remote service error",
                    "isv.item-quantity-item-update-service-error",
                    "商品库存更新失败,可能含有销售属性",
                )
            item["num"] = _applied(kind, item["num"], value)
            self.record_stock(item["num_iid"], item["num"])
            return Reply(200, {f"{short}_response": {"item": _item_view(item, now, [])}})
        if sku_id:
            matched = [item["skus"][sku_id]] if sku_id in item["skus"] else []
        else:
            matched = [s for s in item["skus"].values() if s["outer_id"] == outer_id]
        if not matched:
            return _sku_not_found(sku_id or outer_id)
        for sku in matched:
            self._set_sku(item, sku, _applied(kind, sku["quantity"], value))
        return Reply(200, {f"{short}_response": {"item": _item_view(item, now, matched)}})

    def _skus_quantity_update(self, params: dict[str, str], short: str) -> Reply:
        """Up to 20 SKUs of one item: ``skuid_quantities`` (else ``outerid_quantities``)."""
        if not params.get("num_iid"):
            return _error(40, "Missing required arguments:num_iid")
        by_id = params.get("skuid_quantities", "")  # when given, outerid_quantities is ignored
        field = "skuid_quantities" if by_id else "outerid_quantities"
        text = by_id or params.get("outerid_quantities", "")
        if not text:
            return _error(40, "Missing required arguments:skuid_quantities")
        entries = _parse_quantities(text)
        if entries is None:
            return _error(41, f"Invalid arguments:{field}")
        if len(entries) > SKUS_PER_CALL:
            return _invalid(f"最多支持{SKUS_PER_CALL}个SKU同时修改")
        kind = _update_type(params.get("type", "1"))
        if kind is None or (kind == 1 and any(q < 0 for _, q in entries)):
            return _invalid("type 1 (全量更新) needs quantities >= 0; type is 1 or 2")
        item = self.items.get(params["num_iid"])
        if item is None:
            return _item_not_exist()
        # Resolve every entry first: one unknown SKU refuses the call, nothing applied.
        plan: list[tuple[dict[str, Any], int]] = []
        for key, value in entries:
            if by_id:
                found = [item["skus"][key]] if key in item["skus"] else []
            else:
                found = [s for s in item["skus"].values() if s["outer_id"] == key]
            if not found:
                return _sku_not_found(key)
            plan.extend((sku, value) for sku in found)
        for sku, value in plan:
            self._set_sku(item, sku, _applied(kind, sku["quantity"], value))
        now = top_time(datetime.now(UTC))
        touched = list({id(sku): sku for sku, _ in plan}.values())
        return Reply(200, {f"{short}_response": {"item": _item_view(item, now, touched)}})

    def _set_sku(self, item: dict[str, Any], sku: dict[str, Any], quantity: int) -> None:
        sku["quantity"] = quantity
        item["num"] = sum(s["quantity"] for s in item["skus"].values())
        self.record_stock(sku["sku_id"], quantity)


def _update_type(value: str) -> int | None:
    return {"1": 1, "2": 2}.get(value or "1")


def _applied(kind: int, current: int, value: int) -> int:
    """Type 1 sets the quantity; type 2 adds to it, never below 0."""
    return value if kind == 1 else max(0, current + value)


def _parse_quantities(text: str) -> list[tuple[str, int]] | None:
    """``key:qty;key:qty`` -> pairs; None when an entry is malformed."""
    pairs: list[tuple[str, int]] = []
    for entry in text.split(";"):
        key, colon, value = entry.rpartition(":")
        if not colon or not key:
            return None
        try:
            pairs.append((key, int(value)))
        except ValueError:
            return None
    return pairs


def _item_view(item: dict[str, Any], now: str, skus: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``item`` of a quantity update response (ids are numbers, as TOP sends them)."""
    view: dict[str, Any] = {
        "iid": item["num_iid"],
        "num_iid": int(item["num_iid"]),
        "num": item["num"],
        "modified": now,
    }
    if skus:
        view["skus"] = {
            "sku": [
                {"sku_id": int(s["sku_id"]), "quantity": s["quantity"], "modified": now}
                for s in skus
            ]
        }
    return view


def _item_not_exist() -> Reply:
    return _error(
        15, "Remote service error", "isv.item-not-exist:invalid-numIid-or-iid", "商品不存在"
    )


def _sku_not_found(key: str) -> Reply:
    return _error(
        15,
        "Remote service error",
        "isv.invalid-parameter:sku-properties",
        f"没有找到宝贝对应的SKU:{key}",
    )


def _invalid(sub_msg: str) -> Reply:
    return _error(15, "Remote service error", "isv.invalid-parameter", sub_msg)


def _error(code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> Reply:
    body: dict[str, Any] = {"code": code, "msg": msg, "request_id": "sim"}
    if sub_code:
        body["sub_code"] = sub_code
    if sub_msg:
        body["sub_msg"] = sub_msg
    return Reply(200, {"error_response": body})
