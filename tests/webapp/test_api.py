from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from checkout.models import Cart
from members.models import Coupon, Tier
from oms.models import Location, SalesChannel
from oms.services.orders import OrderLineInput, order_create
from payments.models import Payment


def _csrf_client() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    response = client.get("/api/session/")
    return client, response.cookies["csrftoken"].value


def test_an_anonymous_session_gets_a_csrf_cookie(db: None) -> None:
    client = Client()
    response = client.get("/api/session/")

    assert response.status_code == 200
    assert response.json() == {
        "authenticated": False,
        "username": "",
        "roles": [],
        "locations": [],
    }
    assert "csrftoken" in response.cookies


def test_staff_sign_in_and_see_their_stores(jingan_staff: User, store_pudong: Location) -> None:
    client, token = _csrf_client()

    response = client.post(
        "/api/session/login/",
        {"username": "jingan-staff", "password": "jingan-staff"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 200
    assert response.json() == {
        "authenticated": True,
        "username": "jingan-staff",
        "roles": ["store_staff"],
        "locations": [{"code": "jingan", "name_en": "Jingan", "name_zh": "jingan"}],
    }
    assert client.get("/api/session/").json()["username"] == "jingan-staff"


def test_an_admin_sees_every_location(
    admin_user: User, warehouse: Location, store_jingan: Location
) -> None:
    client = Client()
    client.force_login(admin_user)

    body = client.get("/api/session/").json()

    assert body["roles"] == ["merchant_admin"]
    assert [loc["code"] for loc in body["locations"]] == ["kunshan-dc", "jingan"]


def test_a_wrong_password_is_a_400_and_no_session(shopper: User) -> None:
    client, token = _csrf_client()

    response = client.post(
        "/api/session/login/",
        {"username": "shopper", "password": "nope"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "bad_credentials", "message": "wrong username or password", "details": {}}
    }
    assert client.get("/api/session/").json()["authenticated"] is False


def test_missing_fields_are_a_400_naming_them(db: None) -> None:
    client, token = _csrf_client()

    response = client.post(
        "/api/session/login/", {}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert sorted(response.json()["error"]["details"]["fields"]) == ["password", "username"]


def test_sign_in_without_the_csrf_token_is_refused(shopper: User) -> None:
    client, _ = _csrf_client()

    response = client.post(
        "/api/session/login/",
        {"username": "shopper", "password": "shopper"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert client.get("/api/session/").json()["authenticated"] is False


def test_sign_out_ends_the_session(shopper: User) -> None:
    client, token = _csrf_client()
    client.post(
        "/api/session/login/",
        {"username": "shopper", "password": "shopper"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    token = client.cookies["csrftoken"].value  # rotated on sign-in

    response = client.post("/api/session/logout/", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 200
    assert response.json()["authenticated"] is False
    assert client.get("/api/orders/").status_code == 403


# ---- the PWA's own reads: payment choices, WeChat Pay QR, member centre, cart lines -------


def test_sign_in_keeps_the_anonymous_cart(shopper: User, web: SalesChannel, tee: Any) -> None:
    client, token = _csrf_client()
    response = client.put(
        "/api/cart/",
        {"sku": "TEE-RED-M", "quantity": 2},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.json()["lines"] == [{"sku": "TEE-RED-M", "quantity": 2}]
    response = client.post(
        "/api/session/login/",
        {"username": "shopper", "password": "shopper"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200
    assert client.get("/api/cart/").json()["lines"] == [{"sku": "TEE-RED-M", "quantity": 2}]
    assert Cart.objects.get().user == shopper


def test_cart_lines_get_their_catalogue_facts(tee: Any, mug: Any) -> None:
    response = Client().get("/api/pwa/variants/?sku=TEE-RED-M&sku=MUG-WHITE&sku=NOPE")
    rows = sorted(response.json()["variants"], key=lambda v: v["sku"])
    assert [(v["sku"], v["price_amount"], v["product"]["name_en"]) for v in rows] == [
        ("MUG-WHITE", 4500, "Product 2"),
        ("TEE-RED-M", 12900, "Product 1"),
    ]


def test_payment_methods_list_only_configured_providers(
    db: None, settings: SettingsWrapper, tmp_path: Path
) -> None:
    settings.LIVEHUB_PAYMENT_PROVIDERS_FILE = str(tmp_path / "none.json")
    settings.LIVEHUB_PAYMENT_PROVIDERS = {"sandbox": {"secret": "s"}}
    assert Client().get("/api/pwa/payment-methods/").json() == {
        "methods": [{"provider": "sandbox", "method": "page"}]
    }
    settings.LIVEHUB_PAYMENT_PROVIDERS = {}
    assert Client().get("/api/pwa/payment-methods/").json() == {"methods": []}


def test_the_wechat_qr_is_for_the_payments_own_customer(
    shopper: User,
    other_shopper: User,
    web: SalesChannel,
    store_jingan: Location,
    tee: Any,
    stock: Any,
) -> None:
    stock(tee, store_jingan, 1)
    order = order_create(
        sales_channel=web,
        lines=[OrderLineInput("TEE-RED-M", 1)],
        fulfilment_method="ship",
        shipping_address={"city": "Shanghai"},
        customer=shopper,
    )
    payment = Payment.objects.create(
        order=order,
        provider="wechatpay",
        method="native",
        amount=order.total_amount,
        currency="CNY",
        reference="P-QR-1",
        client_payload={"code_url": "weixin://wxpay/bizpayurl?pr=abc"},
    )
    mine, theirs = Client(), Client()
    mine.force_login(shopper)
    theirs.force_login(other_shopper)
    response = mine.get(f"/api/pwa/payments/{payment.reference}/qr.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert theirs.get(f"/api/pwa/payments/{payment.reference}/qr.png").status_code == 404
    assert Client().get(f"/api/pwa/payments/{payment.reference}/qr.png").status_code in {401, 403}


def test_the_member_centre_shows_tier_progress_and_usable_coupons(shopper: User) -> None:
    Tier.objects.create(code="silver", name_en="Silver", name_zh="银卡", threshold_amount=0)
    Tier.objects.create(code="gold", name_en="Gold", name_zh="金卡", threshold_amount=100000)
    Coupon.objects.create(code="HELLO", kind="fixed", value=500, min_spend=0)
    Coupon.objects.create(code="INROOM", kind="fixed", value=500, live_room="abc")
    Coupon.objects.create(code="OFF", kind="fixed", value=500, is_active=False)
    client = Client()
    client.force_login(shopper)
    body = client.get("/api/pwa/member/").json()
    assert body["tier"] is None
    assert body["next_tier"]["code"] == "silver"
    assert body["spend_12m"] == 0
    assert [(c["code"], c["uses_left"]) for c in body["coupons"]] == [("HELLO", 1)]
    assert Client().get("/api/pwa/member/").status_code in {401, 403}
