"""Connector mappings on recorded payloads, signatures, credentials at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from channels_sync.connectors.shopify.mapping import shopify_order
from channels_sync.connectors.shopify.webhooks import shopify_signature, verify_shopify_webhook
from channels_sync.connectors.taobao.mapping import taobao_trade
from channels_sync.connectors.taobao.webhooks import top_sign
from channels_sync.connectors.woocommerce.mapping import woocommerce_order
from channels_sync.crypto import credentials_decrypt
from channels_sync.errors import InvalidSignature, PermanentRemoteError
from channels_sync.models import Connection
from channels_sync.selectors import sku_key
from channels_sync.services.connections import connector_of
from tests.channels_sync.conftest import Marketplaces, load_fixture


def test_shopify_recorded_order_maps_money_lines_and_address() -> None:
    data = shopify_order(load_fixture("shopify_order.json"))
    assert data.external_id == "820982911946154508"
    assert data.updated_at == datetime(2022, 1, 1, 0, 0, tzinfo=UTC)
    assert [(line.sku, line.quantity, line.unit_price) for line in data.lines] == [
        ("tee-red-m", 2, 12900),
        ("MUG-WHITE", 1, 4500),
    ]
    assert (data.paid, data.cancelled, data.shipping_amount, data.discount_amount) == (
        True,
        False,
        1000,
        500,
    )
    assert data.shipping_address["city"] == "Shippington"
    assert (data.latitude, data.longitude) == (31.2304, 121.4737)


def test_woocommerce_recorded_order_maps_gmt_time_and_paid_status() -> None:
    data = woocommerce_order(load_fixture("woocommerce_order.json"))
    assert data.external_id == "727"
    assert data.updated_at == datetime(2024, 11, 24, 8, 0, 5, tzinfo=UTC)
    assert data.paid is True
    assert [(line.sku, line.quantity, line.unit_price) for line in data.lines] == [
        ("TEE RED M", 2, 12900)
    ]
    assert data.customer_email == "john.doe@example.com"


def test_taobao_recorded_trade_maps_beijing_time_to_utc() -> None:
    data = taobao_trade(load_fixture("taobao_trade.json"))
    assert data.updated_at == datetime(2024, 11, 24, 8, 0, tzinfo=UTC)
    assert (data.paid, data.shipping_amount) == (True, 800)
    assert data.lines[0].sku == "TEE-RED-M"


def test_shopify_signature_is_base64_hmac_sha256_of_raw_body() -> None:
    body = b'{"id":1}'
    digest = hmac.new(b"secret", body, hashlib.sha256).digest()
    assert shopify_signature("secret", body) == base64.b64encode(digest).decode()
    with pytest.raises(InvalidSignature):
        verify_shopify_webhook(
            secret="secret",
            headers={
                "X-Shopify-Hmac-Sha256": shopify_signature("other", body),
                "X-Shopify-Webhook-Id": "w1",
                "X-Shopify-Topic": "orders/create",
            },
            body=body,
        )


def test_top_sign_follows_documented_algorithms() -> None:
    params = {"method": "taobao.item.quantity.update", "app_key": "k", "v": "2.0", "sign": "x"}
    text = "app_keykmethodtaobao.item.quantity.updatev2.0"
    assert top_sign(params, "s", "md5") == hashlib.md5(f"s{text}s".encode()).hexdigest().upper()
    assert (
        top_sign(params, "s", "hmac")
        == hmac.new(b"s", text.encode(), hashlib.md5).hexdigest().upper()
    )
    assert (
        top_sign(params, "s", "hmac-sha256")
        == hmac.new(b"s", text.encode(), hashlib.sha256).hexdigest().upper()
    )


def test_sku_key_ignores_case_and_separators() -> None:
    assert sku_key("tee red/m") == sku_key("TEE-RED-M") == "TEEREDM"


def test_credentials_are_encrypted_at_rest(marketplaces: Marketplaces) -> None:
    raw = Connection.objects.get(pk=marketplaces.shopify.pk).credentials_encrypted
    assert "shpat_test" not in raw and "shpss_test" not in raw
    assert credentials_decrypt(raw)["access_token"] == "shpat_test"


@pytest.mark.django_db
def test_taobao_simulator_refuses_a_wrong_secret(marketplaces: Marketplaces) -> None:
    connection = marketplaces.taobao
    connector = connector_of(connection)
    connector.app_secret = "wrong"  # type: ignore[attr-defined]
    with pytest.raises(PermanentRemoteError, match="Invalid signature"):
        connector.pull_orders(since="")


@pytest.mark.parametrize("sign_method", ["md5", "hmac", "hmac-sha256"])
def test_taobao_simulator_accepts_every_sign_method(
    marketplaces: Marketplaces, sign_method: str
) -> None:
    connector = connector_of(marketplaces.taobao)
    connector.sign_method = sign_method  # type: ignore[attr-defined]
    page = connector.pull_orders(since="")
    assert page.orders == []
