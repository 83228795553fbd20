"""Web push against a local push service that checks VAPID and decrypts aes128gcm."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone
from py_vapid import Vapid, b64urlencode
from pytest_django.fixtures import Settings as SettingsWrapper

from hub.celery import app as celery_app
from hub.kernel import outbox
from hub.kernel.outbox import outbox_relay
from hub.kernel.roles import Role
from live.services.shows import show_create, transition_show
from oms.models import Location, Order, ProductVariant, SalesChannel
from oms.services.fulfilment import (
    fulfilment_pack,
    fulfilment_ready_for_pickup,
    fulfilment_start_picking,
)
from oms.services.orders import OrderLineInput, order_create
from webapp.models import PushNotice, PushSubscription, ShowReminder
from webapp.push.services import push_notice_deliver, push_show_reminders_due
from webapp.push.simulator import PushServiceSimulator
from webapp.push.vapid import application_server_key


@pytest.fixture
def push_service(settings: SettingsWrapper, tmp_path: Path) -> Iterator[PushServiceSimulator]:
    settings.LIVEHUB_VAPID_FILE = str(tmp_path / "vapid.json")
    settings.LIVEHUB_VAPID_PRIVATE_KEY = ""
    settings.LIVEHUB_PUSH_INSECURE_HOSTS = ["127.0.0.1"]
    simulator = PushServiceSimulator().start()
    yield simulator
    simulator.stop()


def _client(user: User) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client


def _subscribe(client: Client, subscription: dict[str, Any], locale: str = "en") -> Any:
    return client.post(
        "/api/pwa/push/subscriptions/",
        data=json.dumps({**subscription, "locale": locale}),
        content_type="application/json",
    )


def _ready_pickup_order(
    web: SalesChannel, store: Location, variant: ProductVariant, customer: User, staff: User
) -> Order:
    order = order_create(
        sales_channel=web,
        lines=[OrderLineInput(variant.sku, 1)],
        fulfilment_method="pickup",
        pickup_location=store,
        customer=customer,
        paid=True,
    )
    fulfilment = order.fulfilments.get()
    fulfilment_start_picking(fulfilment=fulfilment, actor=staff)
    fulfilment_pack(fulfilment=fulfilment, actor=staff)
    fulfilment_ready_for_pickup(fulfilment=fulfilment, actor=staff)
    order.refresh_from_db()
    assert order.status == "ready_for_pickup"
    return order


@pytest.mark.django_db
def test_the_key_endpoint_gives_the_vapid_public_key(push_service: PushServiceSimulator) -> None:
    response = Client().get("/api/pwa/push/key/")
    assert response.status_code == 200
    key = response.json()["public_key"]
    assert key == application_server_key()
    assert len(key) == 87  # base64url of a 65-byte uncompressed P-256 point


@pytest.mark.django_db
def test_subscribing_needs_sign_in_https_and_real_keys(
    push_service: PushServiceSimulator, shopper: User, settings: SettingsWrapper
) -> None:
    good = push_service.subscribe(application_server_key())
    assert Client().post("/api/pwa/push/subscriptions/", good, "application/json").status_code in {
        401,
        403,
    }
    client = _client(shopper)
    bad_keys = {**good, "keys": {"p256dh": "AAAA", "auth": good["keys"]["auth"]}}
    response = _subscribe(client, bad_keys)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_subscription"
    settings.LIVEHUB_PUSH_INSECURE_HOSTS = []
    assert _subscribe(client, good).status_code == 400  # plain http only for simulators
    assert not PushSubscription.objects.exists()
    settings.LIVEHUB_PUSH_INSECURE_HOSTS = ["127.0.0.1"]
    assert _subscribe(client, good).status_code == 201
    assert _subscribe(client, good).status_code == 201  # the same browser again: one row
    assert PushSubscription.objects.get().user == shopper
    response = client.delete(
        "/api/pwa/push/subscriptions/",
        data=json.dumps({"endpoint": good["endpoint"]}),
        content_type="application/json",
    )
    assert response.status_code == 204
    assert not PushSubscription.objects.exists()


@pytest.mark.django_db
def test_ready_for_pickup_sends_one_encrypted_notice_per_order(
    push_service: PushServiceSimulator,
    web: SalesChannel,
    store_jingan: Location,
    tee: ProductVariant,
    stock: Any,
    shopper: User,
    jingan_staff: User,
) -> None:
    stock(tee, store_jingan, 3)
    phone = push_service.subscribe(application_server_key())
    laptop = push_service.subscribe(application_server_key())
    assert _subscribe(_client(shopper), phone, locale="zh-CN").status_code == 201
    assert _subscribe(_client(shopper), laptop, locale="en").status_code == 201
    order = _ready_pickup_order(web, store_jingan, tee, shopper, jingan_staff)
    outbox_relay()
    notice = PushNotice.objects.get()
    assert (notice.kind, notice.key, notice.url) == (
        "order_ready",
        f"order-ready:{order.number}",
        f"/orders/{order.number}",
    )
    assert push_notice_deliver(notice_id=notice.pk) == 2
    by_endpoint = {d.endpoint: d for d in push_service.wait_for(2)}
    assert by_endpoint[phone["endpoint"]].message == {
        "title": f"订单 {order.number} 可以取货了",
        "body": "你的订单已在jingan备好。请到店自提。",
        "url": f"/orders/{order.number}",
        "tag": f"order_ready:/orders/{order.number}",
        "kind": "order_ready",
    }
    assert by_endpoint[laptop["endpoint"]].message["title"] == f"Order {order.number} is ready"
    assert "Jingan" in by_endpoint[laptop["endpoint"]].message["body"]
    claims = by_endpoint[laptop["endpoint"]].claims
    assert claims["aud"] == push_service.origin
    assert claims["sub"].startswith("mailto:")
    assert push_service.refusals == []
    # a replayed outbox message and a repeated delivery send nothing more
    from webapp.events import on_order_status_changed

    on_order_status_changed({"order": order.number, "from": "packed", "to": "ready_for_pickup"})
    assert PushNotice.objects.count() == 1
    assert push_notice_deliver(notice_id=notice.pk) == 0
    assert len(push_service.deliveries) == 2


@pytest.mark.django_db
def test_a_gone_subscription_is_forgotten_and_a_refused_one_counts_a_failure(
    push_service: PushServiceSimulator,
    web: SalesChannel,
    store_jingan: Location,
    tee: ProductVariant,
    stock: Any,
    shopper: User,
    jingan_staff: User,
) -> None:
    stock(tee, store_jingan, 3)
    gone = push_service.subscribe(application_server_key())
    # a subscription made for another server's key: the push service refuses our JWT
    other = Vapid()
    other.generate_keys()
    other_key = other.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    foreign = push_service.subscribe(b64urlencode(other_key))
    client = _client(shopper)
    assert _subscribe(client, gone).status_code == 201
    assert _subscribe(client, foreign).status_code == 201
    push_service.expire(gone["endpoint"])
    _ready_pickup_order(web, store_jingan, tee, shopper, jingan_staff)
    outbox_relay()
    assert push_notice_deliver(notice_id=PushNotice.objects.get().pk) == 0
    assert [status for status, _reason in push_service.refusals] == [410, 403]
    assert list(PushSubscription.objects.values_list("endpoint", "failures")) == [
        (foreign["endpoint"], 1)
    ]
    assert push_service.deliveries == []


@pytest.mark.django_db
def test_a_reminded_show_pushes_once_when_it_goes_live(
    push_service: PushServiceSimulator, shopper: User, store_jingan: Location
) -> None:
    host = User.objects.create_user("host", password="host")
    host.groups.add(Group.objects.get_or_create(name=Role.HOST.value)[0])
    channel = SalesChannel.objects.create(code="live", name="Live", kind="live", currency="CNY")
    show = show_create(
        host=host,
        title="Friday drop",
        scheduled_at=timezone.now() + timedelta(hours=1),
        sales_channel=channel,
    )
    client = _client(shopper)
    assert _subscribe(client, push_service.subscribe(application_server_key())).status_code == 201
    response = client.post(
        "/api/pwa/push/reminders/", {"show": show.code}, content_type="application/json"
    )
    assert response.json() == {"show": show.code, "on": True}
    assert client.get("/api/pwa/push/reminders/").json() == {"shows": [show.code]}
    assert push_show_reminders_due() == 0  # not live yet
    transition_show(show=show, target="live", actor=host)
    assert push_show_reminders_due() == 1
    assert push_show_reminders_due() == 0
    notice = PushNotice.objects.get()
    assert push_notice_deliver(notice_id=notice.pk) == 1
    [delivery] = push_service.wait_for(1)
    assert delivery.message["title"] == "Friday drop is live"
    assert delivery.message["url"] == f"/live/{show.code}"
    assert ShowReminder.objects.get().notified_at is not None
    # a show already live takes no reminder
    response = client.post(
        "/api/pwa/push/reminders/", {"show": show.code}, content_type="application/json"
    )
    assert response.status_code == 400


@pytest.mark.django_db
def test_going_live_pushes_the_reminders_through_the_outbox_without_the_sweep(
    push_service: PushServiceSimulator, shopper: User, other_shopper: User
) -> None:
    host = User.objects.create_user("host", password="host")
    host.groups.add(Group.objects.get_or_create(name=Role.HOST.value)[0])
    channel = SalesChannel.objects.create(code="live", name="Live", kind="live", currency="CNY")
    friday, saturday = (
        show_create(host=host, title=title, sales_channel=channel,
                    scheduled_at=timezone.now() + timedelta(hours=1))
        for title in ("Friday drop", "Saturday drop")
    )  # fmt: skip
    for user, show in ((shopper, friday), (other_shopper, saturday)):
        client = _client(user)
        assert (
            _subscribe(client, push_service.subscribe(application_server_key())).status_code == 201
        )
        client.post(
            "/api/pwa/push/reminders/", {"show": show.code}, content_type="application/json"
        )
    transition_show(show=friday, target="live", actor=host)
    outbox_relay()  # the show.status_changed message
    assert [(n.user_id, n.key) for n in PushNotice.objects.all()] == [
        (shopper.pk, f"show-live:{friday.code}")
    ]
    assert ShowReminder.objects.get(show=saturday).notified_at is None
    assert push_show_reminders_due() == 0  # nothing left for the safety-net sweep
    transition_show(show=friday, target="ended", actor=host)
    outbox_relay()
    assert PushNotice.objects.count() == 1  # ending pushes nothing


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_carries_ready_for_pickup_to_the_push_service(
    push_service: PushServiceSimulator,
    web: SalesChannel,
    store_jingan: Location,
    tee: ProductVariant,
    stock: Any,
    shopper: User,
    jingan_staff: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from celery.contrib.testing.worker import start_worker

    monkeypatch.setattr(outbox, "_last_relay_scheduled", 0.0)
    stock(tee, store_jingan, 3)
    assert (
        _subscribe(_client(shopper), push_service.subscribe(application_server_key())).status_code
        == 201
    )
    celery_app.loader.import_module("celery.contrib.testing.tasks")
    with start_worker(celery_app, perform_ping_check=False, pool="threads", concurrency=1):
        order = _ready_pickup_order(web, store_jingan, tee, shopper, jingan_staff)
        deliveries = push_service.wait_for(1, timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not PushNotice.objects.filter(sent_at__isnull=False):
            time.sleep(0.1)
    assert [d.message["url"] for d in deliveries] == [f"/orders/{order.number}"]
    assert PushNotice.objects.get().delivered == 1
