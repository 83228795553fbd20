"""The PWA end to end in headless Chromium (Debian's /usr/bin/chromium, no download).

A shopper finds a product, signs in, orders it for pick-up, pays on the sandbox page;
store staff see it in the inbox, pick, pack and mark it ready; the shopper's order page
updates to "Ready for pick-up" with the QR code; staff hand it over by code. axe-core
checks every main page for serious or critical WCAG 2.2 AA violations, and screenshots
land in ``$LIVEHUB_DATA_DIR/screenshots`` for CI to keep.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from oms.models import Fulfilment, Location, Order, ProductVariant, SalesChannel
from tests.webapp.browser import SCREENSHOTS, TIMEOUT_MS, axe, pay_on_sandbox, sign_in

#: shopper-facing pages: serious and critical axe-core violations fail the test
_axe = partial(axe, impacts=frozenset({"serious", "critical"}))


@pytest.fixture
def shop(
    transactional_db: None,
    settings: SettingsWrapper,
    tmp_path: Path,
    web: SalesChannel,
    store_jingan: Location,
    tee: ProductVariant,
    mug: ProductVariant,
    stock: Callable[[ProductVariant, Location, int], None],
    shopper: User,
    jingan_staff: User,
) -> dict[str, Any]:
    settings.LIVEHUB_PAYMENT_PROVIDERS = {"sandbox": {"secret": "sandbox-browser-secret"}}
    settings.LIVEHUB_PAYMENT_PROVIDERS_FILE = str(tmp_path / "none.json")
    stock(tee, store_jingan, 5)
    stock(mug, store_jingan, 2)
    return {"tee": tee, "mug": mug}


def test_shopper_orders_for_pickup_and_staff_hand_it_over(
    browser: Any, live_server: LiveServer, shop: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    base = live_server.url
    violations: list[dict[str, Any]] = []
    shopper_ctx = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    staff_ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    shopper = shopper_ctx.new_page()
    staff = staff_ctx.new_page()

    # -- browse and search -------------------------------------------------------------
    shopper.goto(f"{base}/")
    expect(shopper.get_by_role("heading", level=1)).to_have_text("Shop")
    expect(shopper.get_by_test_id("products").get_by_role("listitem")).to_have_count(2)
    violations += _axe(shopper, "home")
    shopper.get_by_label("Search products").fill("MUG-WHITE")
    shopper.get_by_role("button", name="Search").click()
    expect(shopper).to_have_url(f"{base}/search?q=MUG-WHITE")
    expect(shopper.get_by_test_id("products").get_by_role("listitem")).to_have_count(1)
    expect(shopper.get_by_test_id("products")).to_contain_text("Product 2")

    # -- product page, sign in on the way to buying -------------------------------------
    tee_slug = shop["tee"].product.slug
    shopper.goto(f"{base}/app/products/{tee_slug}")  # where share links (/s/<code>) land
    expect(shopper).to_have_url(f"{base}/p/{tee_slug}")
    expect(shopper.get_by_test_id("availability")).to_have_text("5 available")
    violations += _axe(shopper, "product")
    shopper.get_by_test_id("place-order").click()
    expect(shopper).to_have_url(f"{base}/login?next=/p/{tee_slug}")
    violations += _axe(shopper, "login")
    shopper.get_by_label("Username").fill("shopper")
    shopper.get_by_label("Password").fill("shopper")
    shopper.get_by_role("button", name="Sign in").click()
    expect(shopper).to_have_url(f"{base}/p/{tee_slug}")
    shopper.get_by_label("Quantity").fill("2")
    shopper.get_by_label("Pick up at").select_option("jingan")
    shopper.get_by_test_id("place-order").click()
    expect(shopper.get_by_test_id("order-status")).to_have_text("Pending payment")
    order = Order.objects.get()
    assert shopper.url == f"{base}/orders/{order.number}"
    assert order.fulfilment_method == "pickup"
    assert order.pickup_location is not None and order.pickup_location.code == "jingan"
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [("TEE-RED-M", 2)]
    violations += _axe(shopper, "order-pending")

    # -- pay on the sandbox's hosted page --------------------------------------------------
    pay_on_sandbox(shopper, base, order.number)

    # -- staff: inbox, pick list, fulfil ----------------------------------------------------
    sign_in(staff, base, "jingan-staff")
    expect(staff).to_have_url(f"{base}/staff")
    expect(staff.get_by_test_id("inbox")).to_contain_text(order.number)
    violations += _axe(staff, "staff-inbox")
    staff.get_by_role("link", name="Pick list").click()
    expect(staff.get_by_test_id("pick-list")).to_contain_text("TEE-RED-M")
    violations += _axe(staff, "staff-pick-list")
    staff.get_by_test_id("pick-list").get_by_role("link", name=order.number).click()
    expect(staff.get_by_test_id("staff-order-status")).to_have_text("Allocated")
    staff.get_by_test_id("step-pick").click()
    expect(staff.get_by_test_id("staff-order-status")).to_have_text("Picking")
    staff.get_by_test_id("step-pack").click()
    expect(staff.get_by_test_id("staff-order-status")).to_have_text("Packed")
    staff.get_by_test_id("step-ready").click()
    expect(staff.get_by_test_id("staff-order-status")).to_have_text("Ready for pick-up")
    violations += _axe(staff, "staff-order")

    # -- the shopper's page follows by itself and shows the pick-up QR ------------------
    expect(shopper.get_by_test_id("order-status")).to_have_text("Ready for pick-up")
    qr = shopper.get_by_test_id("pickup-qr")
    expect(qr).to_be_visible()
    shopper.wait_for_function(
        "() => { const img = document.querySelector('[data-testid=pickup-qr]');"
        " return img && img.complete && img.naturalWidth > 0 }"
    )
    violations += _axe(shopper, "order-ready")

    # -- handover by code: a wrong code is refused, the right one completes -------------
    fulfilment = Fulfilment.objects.get(order=order)
    staff.goto(f"{base}/staff/handover")
    staff.get_by_label("Order number").fill(order.number)
    staff.get_by_label("Pick-up code").fill("WRONG000")
    staff.get_by_role("button", name="Hand over").click()
    expect(staff.get_by_role("alert")).to_be_visible()
    order.refresh_from_db()
    assert order.status == "ready_for_pickup"
    staff.get_by_label("Pick-up code").fill(fulfilment.pickup_code)
    staff.get_by_role("button", name="Hand over").click()
    expect(staff.get_by_role("status")).to_have_text(f"Handed over order {order.number}.")
    violations += _axe(staff, "staff-handover")
    expect(shopper.get_by_test_id("order-status")).to_have_text("Picked up")
    order.refresh_from_db()
    assert order.status == "picked_up"

    # -- my orders, in Chinese --------------------------------------------------------------
    shopper.goto(f"{base}/orders")
    expect(shopper.get_by_test_id("my-orders")).to_contain_text(order.number)
    shopper.get_by_test_id("locale").select_option("zh-CN")
    expect(shopper.get_by_role("heading", level=1)).to_have_text("我的订单")
    expect(shopper.get_by_test_id("my-orders")).to_contain_text("已取货")
    assert shopper.evaluate("document.documentElement.lang") == "zh-CN"
    # the server follows the choice, not the browser's en-US (Django's language cookie)
    refused = shopper.evaluate("fetch('/api/live/host/shows/').then((r) => r.json())")
    assert refused["error"]["message"] == "只有主播才有主播后台"
    violations += _axe(shopper, "my-orders-zh")

    shopper_ctx.close()
    staff_ctx.close()
    assert violations == [], json.dumps(violations, indent=1)


def test_chinese_browsers_get_chinese_and_the_shell_works_offline(
    browser: Any, live_server: LiveServer, shop: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(locale="zh-CN", service_workers="allow")
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("商城")
    manifest = page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/",
        "/",
        "standalone",
    )
    assert sorted(icon["sizes"] for icon in manifest["icons"]) == [
        "192x192",
        "512x512",
        "512x512",
    ]
    page.wait_for_function(
        "navigator.serviceWorker.getRegistration().then(r => !!(r && r.active))",
        timeout=TIMEOUT_MS,
    )
    scope = page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.scope)")
    assert scope == f"{live_server.url}/"
    # Once the worker controls the page, browse the catalogue (it is cached as it is
    # read), then go offline: the shell and the cached catalogue still render.
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.goto(f"{live_server.url}/")
    expect(page.get_by_test_id("products").get_by_role("listitem")).to_have_count(2)
    page.wait_for_function("caches.open('catalogue').then(c => c.keys()).then(k => k.length > 0)")
    context.set_offline(True)
    page.goto(f"{live_server.url}/orders")
    expect(page.get_by_role("heading", level=1)).to_have_text("我的订单")
    expect(page.get_by_role("status").first).to_be_visible()
    page.goto(f"{live_server.url}/")
    expect(page.get_by_test_id("products").get_by_role("listitem")).to_have_count(2)
    page.screenshot(path=str(SCREENSHOTS / "offline-home-zh.png"))
    context.close()
