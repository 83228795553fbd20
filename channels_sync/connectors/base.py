"""The connector interface every marketplace package implements, and its data types."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from channels_sync.errors import PermanentRemoteError, RateLimited, RemoteError

HTTP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ConnectorConfig:
    base_url: str
    credentials: dict[str, Any]
    remote_location_id: str = ""
    rate_limit_per_s: float = 2.0
    rate_key: str = ""  #: identifies the account for the shared rate gate


@dataclass(frozen=True)
class WebhookEnvelope:
    """A verified webhook: its dedupe id, topic and parsed JSON body."""

    delivery_id: str
    topic: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class ExternalLine:
    sku: str
    quantity: int
    unit_price: int  #: minor units
    title: str = ""


@dataclass(frozen=True)
class ExternalOrderData:
    """A marketplace order normalised to what ``order_create`` needs."""

    external_id: str
    updated_at: datetime
    status: str  #: the platform's own status word
    paid: bool
    cancelled: bool
    currency: str
    lines: list[ExternalLine]
    shipping_amount: int = 0
    discount_amount: int = 0
    customer_email: str = ""
    shipping_address: dict[str, Any] = field(default_factory=dict)
    latitude: float | None = None
    longitude: float | None = None
    payment_reference: str = ""


@dataclass(frozen=True)
class QuantityUpdate:
    sku: str
    external_id: str
    external_sub_id: str
    quantity: int
    compare_quantity: int | None  #: None: the marketplace may not know it yet


@dataclass(frozen=True)
class PushOutcome:
    sku: str
    ok: bool
    error: RemoteError | None = None


@dataclass(frozen=True)
class Tracking:
    carrier: str
    tracking_number: str


@dataclass(frozen=True)
class OrderPage:
    orders: list[ExternalOrderData]
    cursor: str  #: pass back as ``since`` to continue
    has_more: bool


class Connector(Protocol):
    """What sales-channel sync needs from a marketplace."""

    platform: str
    #: how many quantity updates one ``push_quantities`` call may carry
    batch_size: int
    #: True when ``push_quantities`` honours ``compare_quantity``
    compare_and_swap: bool
    #: True when every SKU costs a call of its own (no batch endpoint)
    one_call_per_sku: bool

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEnvelope:
        """Check the signature over the raw body; raise ``InvalidSignature`` if forged."""
        ...

    def parse_order(self, payload: dict[str, Any]) -> ExternalOrderData: ...

    def pull_orders(self, *, since: str) -> OrderPage: ...

    def push_quantities(self, updates: list[QuantityUpdate]) -> list[PushOutcome]: ...

    def push_fulfilment(self, *, external_order_id: str, tracking: Tracking) -> None: ...

    def push_cancellation(self, *, external_order_id: str, reason: str) -> None: ...


# ---- HTTP -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


def http_request(
    method: str, url: str, *, headers: Mapping[str, str], body: bytes | None = None
) -> HttpResponse:
    """One HTTP call; 429 -> ``RateLimited``, 5xx/network -> ``RemoteError``, 4xx -> permanent."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as raw:
            return HttpResponse(
                raw.status, {k.lower(): v for k, v in raw.headers.items()}, raw.read()
            )
    except urllib.error.HTTPError as error:
        status = error.code
        payload = error.read()
        retry_after = error.headers.get("Retry-After")
        text = payload[:300].decode(errors="replace")
        if status == 429:
            raise RateLimited(
                f"429 from {url}", retry_after=float(retry_after) if retry_after else 1.0
            ) from None
        if status >= 500:
            raise RemoteError(f"{status} from {url}: {text}") from None
        raise PermanentRemoteError(f"{status} from {url}: {text}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise RemoteError(f"cannot reach {url}: {error}") from None


def money_minor(amount: Any) -> int:
    """'12.90' / 12.9 -> 1290 without float rounding surprises."""
    from decimal import Decimal

    return int((Decimal(str(amount or "0")) * 100).quantize(Decimal("1")))
