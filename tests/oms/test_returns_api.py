"""The returns API: lines named by SKU and name without N+1, receipt scoped to staff's stores."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from hub.kernel.models import AuditEvent
from hub.kernel.roles import Role
from oms import selectors
from oms.api.serializers import ReturnOut
from oms.models import ReturnRequest
from oms.services.orders import OrderLineInput
from oms.services.returns import return_request
from tests.oms.orders import shipped_order


def _as(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def rma(web, tee, mug, warehouse, stock) -> ReturnRequest:
    """A requested return of one tee and two mugs from a shipped web order."""
    stock(tee, warehouse, 1)
    stock(mug, warehouse, 2)
    order = shipped_order(web, [OrderLineInput("TEE-RED-M", 1), OrderLineInput("MUG-WHITE", 2)])
    quantities = {line.pk: line.quantity for line in order.lines.all()}
    return return_request(order=order, quantities=quantities, reason="changed mind", actor=None)


def _lines(rma: ReturnRequest) -> list[dict[str, object]]:
    return [
        {
            "id": line.pk,
            "order_line": line.order_line_id,
            "sku": line.order_line.sku,
            "name": line.order_line.product_name,
            "quantity": line.quantity,
            "restock": line.restock,
        }
        for line in rma.lines.select_related("order_line").order_by("id")
    ]


# ---- output: SKU and name per line, no N+1 --------------------------------------------


@pytest.mark.django_db
def test_return_output_names_each_line_by_sku_and_product_name(rma) -> None:
    data = ReturnOut(selectors.return_for_output(pk=rma.pk)).data
    tee_line, mug_line = rma.lines.order_by("id")
    assert data == {
        "rma": rma.rma,
        "order": rma.order.number,
        "status": "requested",
        "received_at_location": None,
        "reason": "changed mind",
        "lines": [
            {
                "id": tee_line.pk,
                "order_line": tee_line.order_line_id,
                "sku": "TEE-RED-M",
                "name": "Product 1",
                "quantity": 1,
                "restock": None,
            },
            {
                "id": mug_line.pk,
                "order_line": mug_line.order_line_id,
                "sku": "MUG-WHITE",
                "name": "Product 2",
                "quantity": 2,
                "restock": None,
            },
        ],
    }


@pytest.mark.django_db
def test_return_output_takes_two_queries_however_many_lines(
    web, make_variant, warehouse, store_jingan, stock, django_assert_num_queries
) -> None:
    variants = [make_variant(f"RET-{n}") for n in range(6)]
    for variant in variants:
        stock(variant, warehouse, 1)
    order = shipped_order(web, [OrderLineInput(v.sku, 1) for v in variants])
    many = return_request(
        order=order, quantities={line.pk: 1 for line in order.lines.all()}, actor=None
    )
    many.received_at_location = store_jingan
    many.save()
    with django_assert_num_queries(2):  # the RMA with order and store, then its lines
        data = ReturnOut(selectors.return_for_output(pk=many.pk)).data
    assert data["received_at_location"] == "jingan"
    assert [line["sku"] for line in data["lines"]] == [f"RET-{n}" for n in range(6)]
    assert [line["name"] for line in data["lines"]] == [v.product.name_en for v in variants]


@pytest.mark.django_db
def test_every_returns_endpoint_answers_with_skus_and_names(
    web, tee, mug, warehouse, stock, store_pudong, admin_user
) -> None:
    stock(tee, warehouse, 1)
    order = shipped_order(web, [OrderLineInput("TEE-RED-M", 1)])
    admin = _as(admin_user)
    line_id = order.lines.get().pk
    created = admin.post(
        "/api/returns/",
        {"order": order.number, "lines": [{"order_line": line_id, "quantity": 1}]},
        format="json",
    )
    assert created.status_code == 201
    code = created.json()["rma"]
    received = admin.post(f"/api/returns/{code}/receive/", {"location": "pudong"}, format="json")
    assert received.status_code == 200
    return_line = received.json()["lines"][0]["id"]
    done = admin.post(
        f"/api/returns/{code}/inspect/",
        {"lines": [{"return_line": return_line, "restock": True}]},
        format="json",
    )
    assert done.status_code == 200
    expected = {"order_line": line_id, "sku": "TEE-RED-M", "name": "Product 1", "quantity": 1}
    for response, restock in ((created, None), (received, None), (done, True)):
        assert response.json()["lines"] == [{"id": return_line, **expected, "restock": restock}]


# ---- receipt is scoped to the staff member's stores -------------------------------------


@pytest.mark.django_db
def test_staff_receive_a_return_at_their_own_store(rma, store_pudong, pudong_staff) -> None:
    response = _as(pudong_staff).post(
        f"/api/returns/{rma.rma}/receive/", {"location": "pudong"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["received_at_location"]) == (
        "received",
        "pudong",
    )
    assert response.json()["lines"] == _lines(rma)
    rma.refresh_from_db()
    assert (rma.status, rma.received_at_location_id) == ("received", store_pudong.pk)


@pytest.mark.django_db
def test_staff_cannot_receive_a_return_at_another_store(rma, store_pudong, jingan_staff) -> None:
    audit_before = AuditEvent.objects.count()
    response = _as(jingan_staff).post(
        f"/api/returns/{rma.rma}/receive/", {"location": "pudong"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "wrong_location",
        "message": "you are not staff at pudong",
        "details": {"location": "pudong"},
    }
    rma.refresh_from_db()
    assert (rma.status, rma.received_at_location_id) == ("requested", None)
    assert rma.order.status == "shipped"
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.django_db
def test_staff_without_a_store_cannot_receive_returns(rma, store_pudong) -> None:
    unassigned = User.objects.create_user("floating-staff", password="floating-staff")
    unassigned.groups.add(Group.objects.get_or_create(name=Role.STORE_STAFF.value)[0])
    audit_before = AuditEvent.objects.count()
    response = _as(unassigned).post(
        f"/api/returns/{rma.rma}/receive/", {"location": "pudong"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "you are not staff at pudong"
    rma.refresh_from_db()
    assert (rma.status, rma.received_at_location_id) == ("requested", None)
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.django_db
def test_shoppers_cannot_receive_returns(rma, store_pudong, shopper) -> None:
    audit_before = AuditEvent.objects.count()
    response = _as(shopper).post(
        f"/api/returns/{rma.rma}/receive/", {"location": "pudong"}, format="json"
    )
    assert response.status_code == 403
    rma.refresh_from_db()
    assert (rma.status, rma.received_at_location_id) == ("requested", None)
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.django_db
def test_merchant_admins_and_superusers_receive_returns_at_any_store(
    web, tee, warehouse, stock, store_jingan, store_pudong, admin_user
) -> None:
    stock(tee, warehouse, 2)
    order = shipped_order(web, [OrderLineInput("TEE-RED-M", 2)])
    line = order.lines.get()
    first = return_request(order=order, quantities={line.pk: 1}, actor=None)
    second = return_request(order=order, quantities={line.pk: 1}, actor=None)
    root = User.objects.create_superuser("root", "root@t.test", "root")  # in no group
    by_admin = _as(admin_user).post(
        f"/api/returns/{first.rma}/receive/", {"location": "jingan"}, format="json"
    )
    by_root = _as(root).post(
        f"/api/returns/{second.rma}/receive/", {"location": "pudong"}, format="json"
    )
    assert (by_admin.status_code, by_root.status_code) == (200, 200)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.received_at_location_id) == ("received", store_jingan.pk)
    assert (second.status, second.received_at_location_id) == ("received", store_pudong.pk)


@pytest.mark.django_db
def test_staff_cannot_inspect_a_return_received_at_another_store(
    rma, store_pudong, pudong_staff, jingan_staff
) -> None:
    staff = _as(pudong_staff)
    received = staff.post(f"/api/returns/{rma.rma}/receive/", {"location": "pudong"}, format="json")
    lines = [{"return_line": line["id"], "restock": True} for line in received.json()["lines"]]
    audit_before = AuditEvent.objects.count()
    refused = _as(jingan_staff).post(
        f"/api/returns/{rma.rma}/inspect/", {"lines": lines}, format="json"
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "you are not staff at pudong"
    rma.refresh_from_db()
    assert rma.status == "received"
    assert [line.restock for line in rma.lines.all()] == [None, None]
    assert AuditEvent.objects.count() == audit_before
