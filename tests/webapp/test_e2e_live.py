"""End to end through a real Daphne server: live room, flash drop, sandbox payment, store.

Headless Debian Chromium (Playwright for Python, ``executable_path=/usr/bin/chromium``,
nothing downloaded) drives the built PWA served by Daphne (HTTP and WebSockets, the
production ASGI application) in a forked process on the test database, with a real
Celery worker in this process (Redis drop gate: it turns takes into holds; both paths:
the outbox relay). The host acts over the room's WebSocket protocol.

A shopper opens the show and comments (and sees the comment in the stream); the host
opens a flash drop; the shopper buys from the buy-now sheet (variant picker, hold
countdown), orders for pick-up and pays on the sandbox's page; store staff find the
order in the inbox, pick, pack and mark it ready for pick-up, and the shopper's order
page follows by itself; staff then hand it over by the pick-up code. Every page is
checked with axe-core (no violations at all) and screenshotted into
``artifacts/screenshots/`` (kept by CI).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connections
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from hub.celery import app as celery_app
from hub.kernel import outbox
from hub.kernel.roles import Role
from live import quota
from live.models import Drop, DropClaim, Show
from live.services.shows import lineup_add, show_create, transition_show
from oms.models import (
    Fulfilment,
    Location,
    Merchant,
    Order,
    Product,
    ProductVariant,
    SalesChannel,
    StaffMembership,
)
from oms.services.stock import stock_receive
from tests.webapp.browser import TIMEOUT_MS, axe, pay_on_sandbox, sign_in
from tests.webapp.test_push import push_service  # noqa: F401
from webapp.push.services import push_subscribe
from webapp.push.simulator import PushServiceSimulator
from webapp.push.vapid import application_server_key

SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
#: every violation of any impact, best practices included; screenshots kept by CI
_axe = partial(axe, tags=AXE_TAGS, screenshots=SCREENSHOTS, file_prefix="e2e-")

pytestmark = pytest.mark.django_db(transaction=True)


# ---- a real ASGI server and a real worker --------------------------------------------------


@pytest.fixture
def e2e_settings(settings: SettingsWrapper, tmp_path: Path) -> SettingsWrapper:
    """Settings the server process inherits: request it before ``daphne``."""
    settings.LIVEHUB_PAYMENT_SANDBOX = True  # off by default outside DEBUG
    settings.LIVEHUB_PAYMENT_PROVIDERS = {"sandbox": {"secret": "sandbox-e2e-secret"}}
    settings.LIVEHUB_PAYMENT_PROVIDERS_FILE = str(tmp_path / "none.json")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return settings


@pytest.fixture
def daphne(transactional_db: None, e2e_settings: SettingsWrapper) -> Iterator[str]:
    """Daphne with ``hub.asgi`` in a forked process that shares this test's database."""
    from channels.testing.live import make_application
    from daphne.testing import DaphneProcess
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    # The child inherits settings (test database name, overrides) but must not share
    # this process's database sockets.
    connections.close_all()
    process = DaphneProcess(
        "127.0.0.1", partial(make_application, static_wrapper=ASGIStaticFilesHandler)
    )
    process.daemon = True
    process.start()
    if not process.ready.wait(60):
        process.terminate()
        raise RuntimeError("Daphne did not start")
    try:
        yield f"http://127.0.0.1:{process.port.value}"
    finally:
        process.terminate()
        process.join(10)


@pytest.fixture
def worker(daphne: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A Celery worker thread on the project's broker (no eager mode), started after the
    fork so the server process inherits none of its threads or locks."""
    from celery.contrib.testing.worker import start_worker

    monkeypatch.setattr(outbox, "_last_relay_scheduled", 0.0)
    celery_app.control.purge()  # tasks other tests queued against other databases
    celery_app.loader.import_module("celery.contrib.testing.tasks")
    with start_worker(celery_app, perform_ping_check=False, pool="threads", concurrency=2):
        yield


def _user(username: str, role: Role) -> User:
    group, _ = Group.objects.get_or_create(name=role.value)
    user = User.objects.create_user(username=username, password=username)
    user.groups.add(group)
    return user


def _world() -> dict[str, Any]:
    merchant = Merchant.objects.create(name="E2E Mall", default_currency="CNY")
    store = Location.objects.create(
        merchant=merchant, code="jingan", kind=Location.Kind.STORE, name_en="Jing'an store",
        name_zh="静安店", latitude=31.23, longitude=121.47, ships=True, pickup=True,
        accepts_returns=True, priority=10,
    )  # fmt: skip
    channel = SalesChannel.objects.create(
        code="live", name="Live room", kind=SalesChannel.Kind.LIVE, currency="CNY"
    )
    channel.locations.set([store])
    hoodie = Product.objects.create(
        merchant=merchant, slug="hoodie", name_en="Hoodie", name_zh="卫衣"
    )
    for size in ("M", "L"):
        variant = ProductVariant.objects.create(
            product=hoodie, sku=f"HOODIE-{size}", barcode=f"69000000000{size == 'L':d}",
            attributes={"size": size}, price_amount=19900, currency="CNY",
        )  # fmt: skip
        stock_receive(variant=variant, location=store, quantity=5, reason="e2e")
    host = _user("host", Role.HOST)
    shopper = _user("shopper", Role.SHOPPER)
    staff = _user("jingan-staff", Role.STORE_STAFF)
    StaffMembership.objects.create(user=staff, location=store)
    show = show_create(
        host=host, title="Friday hoodie drop", scheduled_at=timezone.now(), sales_channel=channel
    )
    lineup_add(
        show=show, actor=host, product=hoodie, label="A1", live_price_amount=12900, quota=10,
        per_buyer_limit=2,
    )  # fmt: skip
    show = transition_show(show=show, target="live", actor=host)
    connections.close_all()
    return {"show": show, "host": host, "shopper": shopper, "staff": staff}


@pytest.fixture
def e2e(e2e_settings: SettingsWrapper) -> Iterator[dict[str, Any]]:
    settings = e2e_settings
    if settings.REDIS_URL:
        keys = list(quota.client().scan_iter(match="{live:drop:*", count=1000))
        if keys:
            quota.client().delete(*keys)
    # Services broadcast after commit through async_to_sync, which refuses to run beside
    # Playwright's event loop in this thread: build the world in a plain thread.
    with ThreadPoolExecutor(1) as pool:
        world = pool.submit(_world).result()
    yield world
    if settings.REDIS_URL:
        keys = list(quota.client().scan_iter(match="{live:drop:*", count=1000))
        if keys:
            quota.client().delete(*keys)


# ---- the host, over the room protocol -------------------------------------------------------


class HostSocket:
    """The host's console connection, speaking docs/live-protocol.md."""

    def __init__(self, base: str, show: Show, user: User) -> None:
        from websockets.sync.client import connect

        client = Client()
        client.force_login(user)
        self._stack = ExitStack()
        self.ws = self._stack.enter_context(
            connect(
                base.replace("http", "ws", 1) + f"/ws/live/{show.code}/",
                additional_headers={
                    "Cookie": f"sessionid={client.cookies['sessionid'].value}",
                    "Origin": base,
                },
            )
        )
        hello = json.loads(self.ws.recv(timeout=10))
        assert hello["type"] == "hello" and hello["you"]["role"] == "host", hello
        self.ref = 0

    def ask(self, message: dict[str, Any], reply: str) -> dict[str, Any]:
        self.ref += 1
        self.ws.send(json.dumps({**message, "ref": self.ref}))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            frame = json.loads(self.ws.recv(timeout=10))
            if frame.get("ref") == self.ref:
                assert frame["type"] == reply, frame
                return frame  # type: ignore[no-any-return]
        raise AssertionError(f"no {reply} for {message}")

    def close(self) -> None:
        self._stack.close()


# ---- helpers ---------------------------------------------------------------------------------


# ---- the scenario ----------------------------------------------------------------------------


def test_shopper_buys_in_a_flash_drop_pays_and_staff_hand_it_over(
    browser: Any,
    e2e: dict[str, Any],
    worker: None,
    daphne: str,
    push_service: PushServiceSimulator,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    base, show = daphne, e2e["show"]
    violations: list[dict[str, Any]] = []
    shopper_ctx = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    staff_ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    shopper, staff = shopper_ctx.new_page(), staff_ctx.new_page()
    host = HostSocket(base, show, e2e["host"])
    # the shopper's phone said yes to notifications (the browser side is the simulator's)
    phone = push_service.subscribe(application_server_key())
    push_subscribe(user=e2e["shopper"], endpoint=phone["endpoint"], locale="en", **phone["keys"])
    try:
        assert host.ask({"type": "host.pin", "item": "A1"}, "ok")["of"] == "host.pin"

        # -- the shopper opens the live show and comments --------------------------------
        sign_in(shopper, base, "shopper", f"/live/{show.code}")
        expect(shopper).to_have_url(f"{base}/live/{show.code}")
        expect(shopper.get_by_role("heading", level=1)).to_have_text("Friday hoodie drop")
        expect(shopper.get_by_test_id("show-status")).to_have_text("Live")
        expect(shopper.get_by_role("heading", name="Now showing: Hoodie")).to_be_visible()
        shopper.get_by_label("Say something").fill("Is the L true to size?")
        shopper.get_by_role("button", name="Send").click()
        expect(shopper.get_by_test_id("comments")).to_contain_text("Is the L true to size?")
        expect(shopper.get_by_label("Say something")).to_have_value("")
        violations += _axe(shopper, "live-room")

        # -- the host opens a flash drop; it appears in the room by itself ---------------
        host.ask(
            {"type": "host.drop", "item": "A1", "quota": 2, "price": 5900, "per_buyer_limit": 1},
            "ok",
        )
        drop_id = Drop.objects.get(show=show, kind="flash", status="open").pk
        flash = shopper.get_by_test_id("flash-drop")
        expect(flash).to_contain_text("Flash drop: 2 left at")
        expect(flash).to_contain_text("59.00")

        # -- buy-now sheet: pick a variant, reserve, see the hold countdown ---------------
        flash.get_by_role("button", name="Buy now").click()
        sheet = shopper.get_by_test_id("buy-sheet")
        expect(sheet).to_be_visible()
        expect(sheet.get_by_role("heading", level=2)).to_have_text("Buy now: Hoodie")
        sheet.get_by_role("radio", name=re.compile(r"^L\b")).check()
        violations += _axe(shopper, "buy-sheet")
        sheet.get_by_test_id("buy-confirm").click()
        expect(sheet.get_by_test_id("live-hold")).to_be_visible()
        expect(sheet.get_by_test_id("hold-countdown")).to_have_text(re.compile(r"^(9|10):\d\d$"))
        claim = DropClaim.objects.get(drop_id=drop_id)
        assert (claim.status, claim.variant.sku, claim.quantity) == ("held", "HOODIE-L", 1)
        expect(flash).to_contain_text("Flash drop: 1 left at")
        violations += _axe(shopper, "buy-sheet-hold")
        sheet.get_by_label("Pick up at").select_option("jingan")
        sheet.get_by_test_id("hold-checkout").click()

        # -- the order, at the drop price; pay on the sandbox's page -----------------------
        expect(shopper.get_by_test_id("order-status")).to_have_text("Pending payment")
        order = Order.objects.get()
        assert shopper.url == f"{base}/orders/{order.number}"
        assert (order.sales_channel.code, order.fulfilment_method, order.total_amount) == (
            "live",
            "pickup",
            5900,
        )
        violations += _axe(shopper, "order-pending")
        pay_on_sandbox(shopper, base, order.number)

        # -- staff: the order is in the inbox; pick, pack, ready for pick-up -----------------
        sign_in(staff, base, "jingan-staff")
        expect(staff).to_have_url(f"{base}/staff")
        expect(staff.get_by_test_id("inbox")).to_contain_text(order.number)
        violations += _axe(staff, "staff-inbox")
        staff.get_by_test_id("inbox").get_by_role("link", name=order.number).click()
        expect(staff.get_by_test_id("staff-order-status")).to_have_text("Allocated")
        staff.get_by_test_id("step-pick").click()
        expect(staff.get_by_test_id("staff-order-status")).to_have_text("Picking")
        staff.get_by_test_id("step-pack").click()
        expect(staff.get_by_test_id("staff-order-status")).to_have_text("Packed")
        staff.get_by_test_id("step-ready").click()
        expect(staff.get_by_test_id("staff-order-status")).to_have_text("Ready for pick-up")
        violations += _axe(staff, "staff-order")

        # -- the shopper's page follows by itself and shows the pick-up QR ----------------
        expect(shopper.get_by_test_id("order-status")).to_have_text("Ready for pick-up")
        expect(shopper.get_by_test_id("pickup-qr")).to_be_visible()
        shopper.wait_for_function(
            "() => { const img = document.querySelector('[data-testid=pickup-qr]');"
            " return img && img.complete && img.naturalWidth > 0 }"
        )
        violations += _axe(shopper, "order-ready")
        # ... and the phone got "ready for pick-up" through outbox, worker and push service
        [notice] = push_service.wait_for(1, timeout=30)
        assert (notice.message["title"], notice.message["url"]) == (
            f"Order {order.number} is ready",
            f"/orders/{order.number}",
        )

        # -- staff scan / enter the pick-up code and hand it over -----------------------------
        fulfilment = Fulfilment.objects.get(order=order)
        staff.goto(f"{base}/staff/handover")
        staff.get_by_label("Order number").fill(order.number)
        staff.get_by_label("Pick-up code").fill(fulfilment.pickup_code)
        staff.get_by_role("button", name="Hand over").click()
        expect(staff.get_by_role("status")).to_have_text(f"Handed over order {order.number}.")
        violations += _axe(staff, "staff-handover")
        expect(shopper.get_by_test_id("order-status")).to_have_text("Picked up")
        order.refresh_from_db()
        assert order.status == "picked_up"
    finally:
        host.close()
        shopper_ctx.close()
        staff_ctx.close()
    assert violations == [], json.dumps(violations, indent=1)
