"""The shopper's pages end to end in headless Chromium, served by Daphne (hub.asgi).

Search suggestions as you type (keyboard only, ARIA combobox), the product page with
reviews, an anonymous cart that follows the shopper through sign-in, checkout with live
pick-up availability, a coupon and points, the sandbox payment, the member centre, my
shares, and Chinese. axe-core must find no violation on any page; screenshots go to
``artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connections
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from checkout.models import ShippingRate, TaxRate
from hub.kernel.roles import Role
from live.services.shows import show_create
from members.models import Coupon, CouponRedemption, PointsEntry, Tier
from oms.models import Location, Merchant, Order, Product, ProductVariant, SalesChannel
from oms.services.stock import stock_receive
from search.services import search_reindex
from social.models import AnalyticsEvent
from tests.webapp.browser import SHOPPER_UA, TIMEOUT_MS
from tests.webapp.test_e2e_live import _axe, daphne, e2e_settings  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _shop() -> dict[str, Any]:
    merchant = Merchant.objects.create(name="E2E Mall", default_currency="CNY")
    stores = [
        Location.objects.create(
            merchant=merchant,
            code=code,
            kind=Location.Kind.STORE,
            name_en=name_en,
            name_zh=name_zh,
            latitude=31.23,
            longitude=121.47,
            ships=True,
            pickup=True,
            accepts_returns=True,
            priority=priority,
        )
        for code, name_en, name_zh, priority in (
            ("jingan", "Jing'an store", "静安店", 10),
            ("pudong", "Pudong store", "浦东店", 20),
        )
    ]
    web = SalesChannel.objects.create(
        code="web", name="Web shop", kind=SalesChannel.Kind.WEB, currency="CNY"
    )
    web.locations.set(stores)
    kettle = Product.objects.create(
        merchant=merchant, slug="steel-kettle", name_en="Steel Kettle", name_zh="不锈钢水壶",
        category="kitchen",
    )  # fmt: skip
    variant = ProductVariant.objects.create(
        product=kettle, sku="KETTLE-1L", attributes={"size": "1 L"}, price_amount=19900,
        currency="CNY",
    )  # fmt: skip
    stock_receive(variant=variant, location=stores[0], quantity=4, reason="e2e")  # not pudong
    ShippingRate.objects.create(region="*", currency="CNY", amount=1200, free_over=50000)
    TaxRate.objects.create(region="*", currency="CNY", rate_bp=1300, included=True)
    Coupon.objects.create(code="WELCOME20", kind="fixed", value=2000, min_spend=10000)
    Tier.objects.create(
        code="gold", name_en="Gold", name_zh="金卡", threshold_amount=100000, discount_bp=0
    )
    shopper = User.objects.create_user(username="shopper", password="shopper")
    shopper.groups.add(Group.objects.get_or_create(name=Role.SHOPPER.value)[0])
    PointsEntry.objects.create(
        user=shopper, kind="birthday", delta=500, remaining=500, source_key="e2e:birthday",
        expires_at=timezone.now() + timedelta(days=300),
    )  # fmt: skip
    host = User.objects.create_user(username="host", password="host")
    host.groups.add(Group.objects.get_or_create(name=Role.HOST.value)[0])
    live = SalesChannel.objects.create(
        code="live", name="Live room", kind=SalesChannel.Kind.LIVE, currency="CNY"
    )
    live.locations.set(stores)
    show_create(
        host=host,
        title="Kitchen week",
        scheduled_at=timezone.now() + timedelta(days=1),
        sales_channel=live,
    )
    search_reindex()
    connections.close_all()
    return {"shopper": shopper, "variant": variant}


@pytest.fixture
def shop(e2e_settings: SettingsWrapper, tmp_path: Path) -> dict[str, Any]:  # noqa: F811
    e2e_settings.ELASTICSEARCH_URL = ""
    e2e_settings.SEARCH_EMBEDDED_PATH = tmp_path / "search.sqlite3"
    with ThreadPoolExecutor(1) as pool:  # beside Playwright's loop, as in test_e2e_live
        return pool.submit(_shop).result()


def test_search_cart_checkout_member_centre_and_shares(
    browser: Any,
    shop: dict[str, Any],
    daphne: str,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    base = daphne
    violations: list[dict[str, Any]] = []
    context = browser.new_context(
        locale="en-US",
        viewport={"width": 390, "height": 844},
        permissions=["clipboard-read", "clipboard-write"],
        reduced_motion="reduce",
        user_agent=SHOPPER_UA,  # a shopper's phone, not a bot, to the page-view counter
    )
    page = context.new_page()
    try:
        # -- suggestions as you type, chosen with the keyboard ---------------------------
        page.goto(f"{base}/")
        box = page.get_by_role("combobox", name="Search products")
        box.press_sequentially("kett", delay=30)
        listbox = page.get_by_role("listbox", name="Suggestions")
        expect(listbox.get_by_role("option")).to_have_text(["Steel Kettle"])
        expect(box).to_have_attribute("aria-expanded", "true")
        box.press("ArrowDown")
        option = listbox.get_by_role("option", name="Steel Kettle")
        expect(option).to_have_attribute("aria-selected", "true")
        expect(box).to_have_attribute("aria-activedescendant", option.get_attribute("id") or "-")
        violations += _axe(page, "home-suggestions")
        box.press("Enter")
        expect(page).to_have_url(f"{base}/search?q=Steel+Kettle")
        expect(box).to_have_attribute("aria-expanded", "false")
        products = page.get_by_test_id("products")
        expect(products.get_by_role("listitem")).to_have_count(1)
        box.press("Escape")  # closed list: Escape clears the text
        expect(box).to_have_value("")

        # -- product page: add to the cart before signing in ------------------------------
        products.get_by_role("link", name="Steel Kettle").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Steel Kettle")
        expect(page.get_by_test_id("reviews")).to_contain_text("No reviews yet.")
        page.get_by_test_id("add-to-cart").click()
        expect(page.get_by_text("Added. 1 items in your cart.")).to_be_visible()
        violations += _axe(page, "product")
        # The product page recorded one view (fire-and-forget, so poll the table).
        kettle_id = str(shop["variant"].product_id)
        views = AnalyticsEvent.objects.filter(
            kind=AnalyticsEvent.Kind.VIEW, target_kind="product", target_id=kettle_id
        )
        for _ in range(50):
            if views.exists():
                break
            page.wait_for_timeout(100)
        assert views.count() == 1 and views.get().platform == "direct"
        page.get_by_role("link", name="View cart").click()
        expect(page.get_by_test_id("cart")).to_contain_text("Steel Kettle")
        page.get_by_label("Quantity of Steel Kettle").fill("2")
        page.get_by_label("Quantity of Steel Kettle").press("Tab")
        expect(page.get_by_test_id("cart-subtotal")).to_contain_text("398.00")
        violations += _axe(page, "cart")
        page.get_by_test_id("to-checkout").click()
        expect(page).to_have_url(f"{base}/login?next=/checkout")
        violations += _axe(page, "login")
        page.get_by_label("Username").fill("shopper")
        page.get_by_label("Password").fill("shopper")
        page.get_by_role("button", name="Sign in").click()

        # -- checkout: the cart came along; live pick-up availability, coupon, points ------
        expect(page).to_have_url(f"{base}/checkout")
        stores = page.get_by_test_id("pickup-stores")
        expect(stores).to_contain_text("1 store has everything in stock.")
        expect(stores.get_by_role("radio", name=re.compile("Jing'an store"))).to_be_checked()
        expect(stores.get_by_role("radio", name=re.compile("Pudong store"))).to_be_disabled()
        expect(page.get_by_test_id("quote-total")).to_contain_text("398.00")
        page.get_by_role("button", name="WELCOME20").click()
        expect(page.get_by_text("Coupon WELCOME20 applied.")).to_be_visible()
        expect(page.get_by_test_id("quote-total")).to_contain_text("378.00")
        page.get_by_label("Points to use (you have 500)").fill("300")
        expect(page.get_by_test_id("quote-total")).to_contain_text("375.00")
        violations += _axe(page, "checkout")
        page.get_by_role("radio", name="Delivery").check()
        page.get_by_role("button", name="Add an address").click()
        expect(page.get_by_label("Street address")).to_be_visible()
        violations += _axe(page, "checkout-delivery")
        page.get_by_role("radio", name="Pick up in store").check()
        expect(page.get_by_test_id("quote-total")).to_contain_text("375.00")
        page.get_by_test_id("place-cart-order").click()
        expect(page.get_by_test_id("order-status")).to_have_text("Pending payment")
        order = Order.objects.get()
        assert order.pickup_location is not None
        assert (order.total_amount, order.discount_amount, order.pickup_location.code) == (
            37500,
            2300,
            "jingan",
        )
        assert CouponRedemption.objects.filter(order_number=order.number).exists()
        page.get_by_role("button", name="Pay now (sandbox)").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Sandbox payment")
        page.get_by_role("button", name="Pay", exact=True).click()
        expect(page.locator("#status")).to_have_text("Succeeded")

        # -- member centre: tier progress, points left, the coupon now used ----------------
        page.goto(f"{base}/me")
        expect(page.get_by_role("heading", level=1)).to_have_text("Member centre")
        expect(page.get_by_test_id("points")).to_have_text("200")
        expect(page.get_by_test_id("coupons")).to_contain_text("WELCOME20")
        expect(page.get_by_test_id("coupons")).to_contain_text("Used")
        expect(page.get_by_role("progressbar")).to_be_visible()
        violations += _axe(page, "member")

        # -- share the product, then my shares ----------------------------------------------
        page.goto(f"{base}/p/steel-kettle")
        page.get_by_test_id("share").click()
        expect(page.get_by_text("Link copied:")).to_be_visible()
        page.get_by_label("Your review").fill("Boils fast and pours cleanly.")
        page.get_by_role("button", name="Post review").click()
        expect(page.get_by_text(re.compile(r"^Thank you!"))).to_be_visible()
        page.goto(f"{base}/me/shares")
        expect(page.get_by_role("heading", level=1)).to_have_text("My shares and rewards")
        expect(page.get_by_test_id("share-stats")).to_contain_text("Links shared1")
        expect(page.locator("a[href*='/s/']")).to_have_count(1)
        violations += _axe(page, "shares")

        # -- the other pages: shows (with "remind me"), my orders, not found -------------------
        page.goto(f"{base}/live")
        expect(
            page.get_by_role("button", name=re.compile(r"^Remind me\b.*Kitchen week"))
        ).to_be_visible()
        violations += _axe(page, "live-list")
        page.goto(f"{base}/orders")
        expect(page.get_by_test_id("my-orders")).to_contain_text(order.number)
        violations += _axe(page, "my-orders")
        page.goto(f"{base}/no-such-page")
        expect(page.get_by_role("heading", level=1)).to_have_text("404")
        violations += _axe(page, "not-found")

        # -- in Chinese ------------------------------------------------------------------------
        page.goto(f"{base}/me")
        page.get_by_test_id("locale").select_option("zh-CN")
        expect(page.get_by_role("heading", level=1)).to_have_text("会员中心")
        violations += _axe(page, "member-zh")
    finally:
        context.close()
    assert violations == [], json.dumps(violations, indent=1)
