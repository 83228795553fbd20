"""The catalogue's pages of 16 cards and the live room's page view, in headless Chromium.

The home page's first 16 cards come inlined in the app shell (webapp.boot), "Show more"
fetches the next 16 each time until the catalogue is shown whole; a shopper who orders
before the product page's stock figure arrives gets the quantity they typed; opening a live room
records one page view (``POST /api/social/views``) and shows the room's snapshot from its
WebSocket, and opening it again within the dedup window counts nothing more. The
catalogue runs on pytest-django's live server, the live room on Daphne (HTTP and
WebSockets, as in test_e2e_live).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from hub.kernel.roles import Role
from live.services.shows import show_create
from oms.models import Location, Order, ProductVariant, SalesChannel
from social.models import AnalyticsEvent
from tests.webapp.browser import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    SHOPPER_UA,
    TIMEOUT_MS,
    axe,
    room_comment,
    session_cookie,
    sign_in,
)
from tests.webapp.test_e2e_live import daphne, e2e_settings  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_show_more_loads_the_next_16_cards_until_the_catalogue_is_whole(
    browser: Any,
    live_server: LiveServer,
    make_variant: Callable[..., ProductVariant],
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    base = live_server.url
    for _ in range(40):
        make_variant()  # Product 1 … Product 40, in id order
    context = browser.new_context(
        locale="en-US", viewport={"width": 390, "height": 844}, service_workers="block"
    )
    page = context.new_page()
    catalogue_reads: list[str] = []

    def read(request: Any) -> None:
        if request.url.startswith(f"{base}/api/products/"):
            catalogue_reads.append(request.url.removeprefix(base))

    page.on("request", read)
    page.goto(f"{base}/")
    cards = page.get_by_test_id("products").get_by_role("listitem")
    more = page.get_by_test_id("more-products")
    expect(cards).to_have_count(16)
    expect(cards.first.get_by_role("link")).to_have_text("Product 1")
    expect(cards.nth(15).get_by_role("link")).to_have_text("Product 16")
    expect(more).to_have_text("Show more (16 of 40)")
    assert catalogue_reads == []  # the first page came inlined in the shell
    violations = axe(page, "home-16-cards")

    more.click()
    expect(cards).to_have_count(32)
    expect(cards.nth(16).get_by_role("link")).to_have_text("Product 17")
    expect(cards.nth(31).get_by_role("link")).to_have_text("Product 32")
    expect(more).to_have_text("Show more (32 of 40)")
    more.click()
    expect(cards).to_have_count(40)
    expect(cards.nth(39).get_by_role("link")).to_have_text("Product 40")
    expect(more).to_have_count(0)
    assert catalogue_reads == [
        "/api/products/?limit=16&offset=16",
        "/api/products/?limit=16&offset=32",
    ]
    violations += axe(page, "home-40-cards")
    context.close()
    assert violations == [], json.dumps(violations, indent=1)


def test_an_order_placed_before_the_stock_figure_arrives_keeps_its_quantity(
    browser: Any,
    live_server: LiveServer,
    web: SalesChannel,
    store_jingan: Location,
    tee: ProductVariant,
    stock: Callable[[ProductVariant, Location, int], None],
    shopper: User,
) -> None:
    """The stock figure bounds the quantity field once known, never before: a field
    capped at 1 while the figure loads silently blocked an order of 2 (a CI flake)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    base = live_server.url
    stock(tee, store_jingan, 5)
    context = browser.new_context(
        locale="en-US", viewport={"width": 390, "height": 844}, service_workers="block"
    )
    page = context.new_page()
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    page.route("**/api/sales-channels/web/availability/**", hold)
    slug = tee.product.slug
    with page.expect_request("**/api/sales-channels/web/availability/**"):
        sign_in(page, base, "shopper", next_path=f"/p/{slug}")  # the figure is asked for…
    expect(page).to_have_url(f"{base}/p/{slug}")
    expect(page.get_by_test_id("place-order")).to_have_text("Place order")
    expect(page.get_by_test_id("availability")).to_have_text("")  # …and held back
    page.get_by_label("Quantity").fill("2")
    page.get_by_label("Pick up at").select_option("jingan")
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Pending payment")
    order = Order.objects.get()
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [("TEE-RED-M", 2)]
    assert order.pickup_location == store_jingan
    for route in held:
        route.continue_()
    context.close()


def _show_code() -> str:
    host = User.objects.create_user(username="host", password="host")
    host.groups.add(Group.objects.get_or_create(name=Role.HOST.value)[0])
    live = SalesChannel.objects.create(
        code="live", name="Live room", kind=SalesChannel.Kind.LIVE, currency="CNY"
    )
    show = show_create(
        host=host,
        title="Kitchen week",
        scheduled_at=timezone.now() + timedelta(days=1),
        sales_channel=live,
    )
    return show.code


def test_opening_a_live_room_records_one_page_view(
    browser: Any,
    daphne: str,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    base = daphne
    code = _show_code()
    context = browser.new_context(
        locale="en-US",
        viewport={"width": 390, "height": 844},
        user_agent=SHOPPER_UA,  # a shopper's phone, not a bot, to the page-view counter
        service_workers="block",
    )
    page = context.new_page()

    def is_view(response: Any) -> bool:
        return bool(response.url == f"{base}/api/social/views")

    with page.expect_response(is_view) as first:
        page.goto(f"{base}/live/{code}")
    # the title comes in the room's `hello` snapshot over the WebSocket (useRoomSocket)
    expect(page.get_by_role("heading", level=1)).to_have_text("Kitchen week")
    assert first.value.request.method == "POST"
    assert first.value.request.post_data_json == {"target_kind": "show", "target_id": code}
    assert (first.value.status, first.value.json()) == (200, {"counted": True, "reason": "counted"})
    views = AnalyticsEvent.objects.filter(kind=AnalyticsEvent.Kind.VIEW)
    assert list(views.values_list("target_kind", "target_id", "platform")) == [
        ("show", code, "direct")
    ]

    # the same visitor (cookie) again within the window: answered, not counted
    with page.expect_response(is_view) as again:
        page.reload()
    assert again.value.json() == {"counted": False, "reason": "repeat"}
    assert views.count() == 1
    context.close()


def test_a_live_room_left_and_returned_to_comes_back_from_the_back_forward_cache(
    browser: Any,
    daphne: str,  # noqa: F811
    shopper: User,
) -> None:
    """The room closes its socket when the page may be cached and reconnects when it is
    shown again, so Back is instant and the room is live again (Playwright turns the
    cache off by default; this browser has it on)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    base = daphne
    code = _show_code()
    cached = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_FLAGS,
        ignore_default_args=["--disable-back-forward-cache"],
    )
    try:
        page = cached.new_context(locale="en-US", service_workers="block").new_page()
        page.add_init_script(
            "addEventListener('pageshow', (e) => { window.restored = e.persisted })"
        )
        page.goto(f"{base}/live/{code}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Kitchen week")
        expect(page.get_by_text("Reconnecting…")).to_have_count(0)
        page.evaluate("window.stayed = 'the same document'")
        page.goto(f"{base}/app-not-a-room")  # a full navigation away, as a link out would be
        page.go_back(wait_until="commit")  # a page restored from the cache fires no load
        expect(page.get_by_role("heading", level=1)).to_have_text("Kitchen week")
        assert page.evaluate("[window.restored, window.stayed]") == [True, "the same document"]
        expect(page.get_by_text("Reconnecting…")).to_have_count(0)
        assert (
            room_comment(base, code, session_cookie(shopper), "welcome back")["type"]
            == "comment.ok"
        )
        expect(page.get_by_text("welcome back")).to_be_visible()
    finally:
        cached.close()
