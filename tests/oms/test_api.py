import json

import pytest
from rest_framework.test import APIClient

from hub.kernel.models import IdempotencyRecord
from oms.models import Hold, Order, StockLevel

ADDRESS = {"name": "Li Lei", "city": "Shanghai"}


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def _as(api: APIClient, user) -> APIClient:
    api.force_authenticate(user)
    return api


def _order_body(**overrides):
    body = {
        "sales_channel": "web",
        "lines": [{"sku": "TEE-RED-M", "quantity": 1}],
        "fulfilment_method": "ship",
        "shipping_address": ADDRESS,
    }
    body.update(overrides)
    return body


@pytest.mark.django_db
def test_catalog_is_public_and_searchable(api, tee, mug) -> None:
    response = api.get("/api/products/", {"q": "商品"})
    assert response.status_code == 200
    assert response.json()["count"] == 2
    response = api.get("/api/products/", {"q": "MUG-WHITE"})
    assert [p["variants"][0]["sku"] for p in response.json()["results"]] == ["MUG-WHITE"]


@pytest.mark.django_db
def test_availability_per_sales_channel(api, web, tee, warehouse, store_jingan, stock) -> None:
    stock(tee, warehouse, 3)
    stock(tee, store_jingan, 2)
    response = api.get("/api/sales-channels/web/availability/", {"sku": ["TEE-RED-M", "NOPE"]})
    assert response.json() == {
        "sales_channel": "web",
        "available": {"TEE-RED-M": 5},
        "unknown": ["NOPE"],
    }


@pytest.mark.django_db
def test_order_creation_with_an_idempotency_key_happens_once(
    api, web, tee, warehouse, stock, shopper
) -> None:
    stock(tee, warehouse, 5)
    client = _as(api, shopper)
    first = client.post("/api/orders/", _order_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    retry = client.post("/api/orders/", _order_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and retry.status_code == 201
    assert retry.json()["number"] == first.json()["number"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(variant=tee, location=warehouse).reserved == 1


@pytest.mark.django_db
def test_reusing_a_key_for_another_request_is_a_422(
    api, web, tee, warehouse, stock, shopper
) -> None:
    stock(tee, warehouse, 5)
    client = _as(api, shopper)
    client.post("/api/orders/", _order_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = client.post(
        "/api/orders/",
        _order_body(lines=[{"sku": "TEE-RED-M", "quantity": 2}]),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (_order_body(lines=[{"sku": "NOPE", "quantity": 1}]), 404, "unknown_sku"),
        (_order_body(lines=[{"sku": "TEE-RED-M", "quantity": -1}]), 400, "invalid"),
        (_order_body(lines=[]), 400, "invalid"),
        (_order_body(sales_channel="nowhere"), 404, "not_found"),
        (_order_body(fulfilment_method="teleport"), 400, "invalid"),
        (_order_body(shipping_address=None), 400, "invalid"),
        (_order_body(lines=[{"sku": "TEE-RED-M", "quantity": 50}]), 409, "out_of_stock"),
        (
            _order_body(fulfilment_method="pickup", pickup_location="kunshan-dc"),
            400,
            "invalid_input",
        ),
    ],
)
def test_bad_orders_get_a_4xx_with_a_message(
    api, web, tee, warehouse, stock, shopper, body, status, code
) -> None:
    stock(tee, warehouse, 5)
    response = _as(api, shopper).post("/api/orders/", body, format="json")
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert Order.objects.count() == 0
    assert StockLevel.objects.get(variant=tee, location=warehouse).reserved == 0


@pytest.mark.django_db
def test_malformed_json_is_a_400(api, shopper) -> None:
    response = _as(api, shopper).post("/api/orders/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


@pytest.mark.django_db
def test_anonymous_users_cannot_order(api, web) -> None:
    response = api.post("/api/orders/", _order_body(), format="json")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["message"]


@pytest.mark.django_db
def test_shoppers_cannot_import_paid_orders(api, web, tee, warehouse, stock, shopper) -> None:
    stock(tee, warehouse, 5)
    response = _as(api, shopper).post("/api/orders/", _order_body(paid=True), format="json")
    assert response.status_code == 403
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_the_inbox_is_scoped_by_role(
    api, web, tee, warehouse, store_jingan, stock, shopper, other_shopper, jingan_staff, admin_user
) -> None:
    stock(tee, store_jingan, 5)
    created = _as(api, shopper).post("/api/orders/", _order_body(), format="json").json()
    assert _as(APIClient(), other_shopper).get("/api/orders/").json()["count"] == 0
    assert _as(APIClient(), shopper).get("/api/orders/").json()["count"] == 1
    assert (
        _as(APIClient(), other_shopper).get(f"/api/orders/{created['number']}/").status_code == 403
    )
    _as(APIClient(), admin_user).post(
        f"/api/orders/{created['number']}/mark-paid/",
        {"payment_reference": "till-1"},
        format="json",
    )
    staff_view = _as(APIClient(), jingan_staff).get("/api/orders/").json()
    assert [o["number"] for o in staff_view["results"]] == [created["number"]]
    assert (
        _as(APIClient(), admin_user).get("/api/orders/", {"status": "allocated"}).json()["count"]
        == 1
    )


@pytest.mark.django_db
def test_fulfilment_flow_over_the_api_with_wrong_store_refused(
    api, web, tee, store_jingan, stock, jingan_staff, pudong_staff, admin_user
) -> None:
    stock(tee, store_jingan, 5)
    admin = _as(APIClient(), admin_user)
    order = admin.post("/api/orders/", _order_body(paid=True), format="json").json()
    fulfilment_id = order["fulfilments"][0]["id"]
    wrong = _as(APIClient(), pudong_staff).post(f"/api/fulfilments/{fulfilment_id}/pick/")
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_location"
    staff = _as(APIClient(), jingan_staff)
    assert staff.post(f"/api/fulfilments/{fulfilment_id}/pick/").status_code == 200
    assert staff.post(f"/api/fulfilments/{fulfilment_id}/pack/").status_code == 200
    shipped = staff.post(
        f"/api/fulfilments/{fulfilment_id}/ship/",
        {"carrier": "SF", "tracking_number": "SF9"},
        format="json",
    )
    assert shipped.json()["status"] == "shipped"
    again = staff.post(f"/api/fulfilments/{fulfilment_id}/pack/")
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "fulfilment cannot move from 'shipped' to 'packed'"
    assert staff.post(f"/api/fulfilments/{fulfilment_id}/fly/").status_code == 404


@pytest.mark.django_db
def test_pickup_qr_is_a_png_for_the_customer(
    api, web, tee, store_pudong, stock, shopper, admin_user
) -> None:
    stock(tee, store_pudong, 1)
    client = _as(api, shopper)
    order = client.post(
        "/api/orders/",
        _order_body(fulfilment_method="pickup", pickup_location="pudong", shipping_address={}),
        format="json",
    ).json()
    admin = _as(APIClient(), admin_user)
    admin.post(
        f"/api/orders/{order['number']}/mark-paid/", {"payment_reference": "p"}, format="json"
    )
    fulfilment_id = Order.objects.get(number=order["number"]).fulfilments.get().pk
    assert client.get(f"/api/fulfilments/{fulfilment_id}/pickup-qr.png").status_code == 409
    for step in ("pick", "pack", "ready"):
        assert admin.post(f"/api/fulfilments/{fulfilment_id}/{step}/").status_code == 200
    png = client.get(f"/api/fulfilments/{fulfilment_id}/pickup-qr.png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.django_db
def test_holds_over_the_api(api, web, tee, warehouse, stock, shopper, other_shopper) -> None:
    stock(tee, warehouse, 2)
    client = _as(api, shopper)
    body = {
        "sales_channel": "web",
        "lines": [{"sku": "TEE-RED-M", "quantity": 2}],
        "ttl_seconds": 120,
    }
    created = client.post("/api/holds/", body, format="json", HTTP_IDEMPOTENCY_KEY="h-1")
    assert created.status_code == 201
    token = created.json()["token"]
    assert created.json()["lines"] == [
        {"sku": "TEE-RED-M", "location": "kunshan-dc", "quantity": 2}
    ]
    sold_out = client.post("/api/holds/", body, format="json", HTTP_IDEMPOTENCY_KEY="h-2")
    assert sold_out.status_code == 409
    assert _as(APIClient(), other_shopper).delete(f"/api/holds/{token}/").status_code == 403
    released = client.delete(f"/api/holds/{token}/")
    assert released.json()["status"] == "released"
    assert Hold.objects.get(token=token).status == "released"
    assert IdempotencyRecord.objects.count() == 2


@pytest.mark.django_db
def test_stock_receive_is_scoped_for_staff(
    api, web, tee, store_jingan, store_pudong, jingan_staff, shopper
) -> None:
    staff = _as(api, jingan_staff)
    ok = staff.post(
        "/api/stock/receive/",
        {"sku": "TEE-RED-M", "location": "jingan", "quantity": 4},
        format="json",
    )
    assert ok.status_code == 201 and ok.json()["on_hand"] == 4
    wrong = staff.post(
        "/api/stock/receive/",
        {"sku": "TEE-RED-M", "location": "pudong", "quantity": 4},
        format="json",
    )
    assert wrong.status_code == 403
    denied = _as(APIClient(), shopper).post(
        "/api/stock/receive/",
        {"sku": "TEE-RED-M", "location": "jingan", "quantity": 4},
        format="json",
    )
    assert denied.status_code == 403
    assert StockLevel.objects.get(variant=tee, location=store_jingan).on_hand == 4
    assert not StockLevel.objects.filter(location=store_pudong).exists()


@pytest.mark.django_db
def test_returns_over_the_api(
    api, web, tee, warehouse, store_pudong, stock, shopper, admin_user
) -> None:
    stock(tee, warehouse, 1)
    admin = _as(APIClient(), admin_user)
    order = admin.post("/api/orders/", _order_body(paid=True), format="json").json()
    fid = order["fulfilments"][0]["id"]
    for step in ("pick", "pack"):
        admin.post(f"/api/fulfilments/{fid}/{step}/")
    admin.post(
        f"/api/fulfilments/{fid}/ship/", {"carrier": "SF", "tracking_number": "1"}, format="json"
    )
    line_id = order["lines"][0]["id"]
    rma = admin.post(
        "/api/returns/",
        {"order": order["number"], "lines": [{"order_line": line_id, "quantity": 1}]},
        format="json",
    )
    assert rma.status_code == 201
    code = rma.json()["rma"]
    received = admin.post(f"/api/returns/{code}/receive/", {"location": "pudong"}, format="json")
    assert received.json()["status"] == "received"
    return_line = received.json()["lines"][0]["id"]
    done = admin.post(
        f"/api/returns/{code}/inspect/",
        {"lines": [{"return_line": return_line, "restock": True}]},
        format="json",
    )
    assert done.json()["status"] == "completed"
    assert StockLevel.objects.get(variant=tee, location=store_pudong).on_hand == 1


@pytest.mark.django_db
def test_openapi_schema_is_served(api) -> None:
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert "/api/orders/" in schema["paths"]
    assert "/api/holds/" in schema["paths"]


@pytest.mark.django_db
def test_audit_verify_endpoint_for_admins(api, admin_user, shopper, tee, warehouse, stock) -> None:
    stock(tee, warehouse, 1)
    assert _as(api, shopper).get("/api/audit/verify/").status_code == 403
    body = _as(APIClient(), admin_user).get("/api/audit/verify/").json()
    assert body["intact"] is True and body["checked"] >= 1


@pytest.mark.django_db
def test_partial_shipment_over_the_api_validates_line_ids(
    api, web, tee, warehouse, stock, admin_user
) -> None:
    stock(tee, warehouse, 3)
    admin = _as(api, admin_user)
    order = admin.post(
        "/api/orders/",
        _order_body(paid=True, lines=[{"sku": "TEE-RED-M", "quantity": 3}]),
        format="json",
    ).json()
    fid = order["fulfilments"][0]["id"]
    for step in ("pick", "pack"):
        admin.post(f"/api/fulfilments/{fid}/{step}/")
    bad = admin.post(
        f"/api/fulfilments/{fid}/ship/",
        {"carrier": "SF", "tracking_number": "1", "quantities": {"abc": 1}},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["details"]["fields"] == {
        "quantities": ["keys must be order line ids"]
    }
    line_id = order["lines"][0]["id"]
    shipped = admin.post(
        f"/api/fulfilments/{fid}/ship/",
        {"carrier": "SF", "tracking_number": "1", "quantities": {str(line_id): 1}},
        format="json",
    ).json()
    assert shipped["status"] == "partially_shipped"
    assert shipped["lines"][0]["quantity_fulfilled"] == 1
    assert Order.objects.get(number=order["number"]).customer is None
