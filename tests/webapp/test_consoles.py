"""The host console and the store-staff console in headless Chromium (Debian's, no download).

The host console needs WebSockets and WHIP, so it runs against a real Daphne process and
a real media worker process on this test's database (SQLite file or PostgreSQL); Chromium
publishes its fake camera (``--use-fake-device-for-media-stream``) by WHIP to aiortc. A
shopper's comments come over a real WebSocket. The staff pages (returns, stock adjustment,
sales-channel sync health) run against pytest-django's live server. Every page is checked
with axe-core (WCAG 2.2 AA: no violation of any impact) and screenshotted into
``$LIVEHUB_DATA_DIR/screenshots``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from channels_sync.models import DeadLetter, PendingStockPush
from channels_sync.services.connections import connection_upsert
from hub.kernel.roles import Role
from live.models import (
    Comment,
    CouponDrop,
    Drop,
    LineupItem,
    Show,
    ShowBan,
    ShowModerator,
    ShowMute,
)
from live.video import transport
from live.video.errors import MediaWorkerUnavailable
from live.video.models import PublisherSession, Stream
from oms.models import Location, ProductVariant, SalesChannel, StockLevel, StockMovement
from oms.services.orders import OrderLineInput
from oms.services.returns import return_request
from tests.oms.orders import shipped_order
from tests.webapp.browser import (
    CHROMIUM_FLAGS,
    FAKE_MEDIA_FLAGS,
    TIMEOUT_MS,
    axe,
    room_comment,
    session_cookie,
    sign_in,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def browser_flags() -> list[str]:
    """The shared flags plus a fake camera and microphone (the host goes live by WHIP)."""
    return [*CHROMIUM_FLAGS, *FAKE_MEDIA_FLAGS]


def _eventually(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    """Poll the database until another process's write shows (Daphne, the media worker)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _user(username: str, role: Role) -> User:
    user = User.objects.create_user(username=username, password=username)
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    return user


# ---- a real ASGI server and media worker on the test database ---------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] or ""
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    auth = f"{auth}@" if auth else ""
    return f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def asgi_base(transactional_db: None, settings: SettingsWrapper) -> Iterator[str]:
    """Daphne (HTTP + WebSockets) and ``run_media_worker``, as in production, on this DB."""
    # Short path: a Unix socket path must stay under 108 bytes.
    base = Path(tempfile.mkdtemp(prefix="lhc-"))
    settings.MEDIA_ROOT = base / "media"
    settings.LIVEHUB_MEDIA_WORKER_SOCKET = str(base / "w.sock")
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "LIVEHUB_DATA_DIR": str(base),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LIVEHUB_MEDIA_WORKER_SOCKET": settings.LIVEHUB_MEDIA_WORKER_SOCKET,
        "LOG_LEVEL": "WARNING",
        # whitenoise serves the built app from frontend_pwa/dist without collectstatic
        "DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "hub.settings",
    }
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        client.delete(transport.requests_key())  # nothing left from an earlier run
        client.close()
    port = _free_port()
    log = (base / "daphne.log").open("wb")
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "hub.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    media = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_media_worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or web.poll() is not None:
                    raise AssertionError((base / "daphne.log").read_text()) from None
                time.sleep(0.2)
        while True:
            try:
                transport.worker_request({"op": "ping"}, timeout=2)
                break
            except MediaWorkerUnavailable:
                if time.monotonic() > deadline or media.poll() is not None:
                    raise
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(web)
        _stop(media)
        log.close()
        shutil.rmtree(base, ignore_errors=True)


# ---- host console ---------------------------------------------------------------------------


@pytest.fixture
def live_shop(
    transactional_db: None,
    warehouse: Location,
    store_jingan: Location,
    tee: ProductVariant,
    stock: Callable[[ProductVariant, Location, int], None],
) -> SalesChannel:
    channel = SalesChannel.objects.create(
        code="live", name="Live", kind=SalesChannel.Kind.LIVE, currency="CNY"
    )
    channel.locations.set([warehouse, store_jingan])
    stock(tee, store_jingan, 20)
    return channel


def test_host_schedules_goes_live_by_whip_pins_drops_and_moderates(
    browser: Any, asgi_base: str, live_shop: SalesChannel, tee: ProductVariant, shopper: User
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    host = _user("host", Role.HOST)
    _user("other-host", Role.HOST)
    violations: list[dict[str, Any]] = []
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())

    # -- schedule a show and its line-up --------------------------------------------------
    sign_in(page, asgi_base, "host", "/live/studio")
    expect(page.get_by_role("heading", level=1)).to_have_text("Host studio")
    violations += axe(page, "host-shows")
    page.get_by_label("Show title").fill("Friday tees")
    page.get_by_role("button", name="Schedule show").click()
    expect(page.get_by_test_id("show-status")).to_have_text("Upcoming")
    show = Show.objects.get()
    assert (show.title, show.host_id, show.status) == ("Friday tees", host.pk, "scheduled")
    assert page.url == f"{asgi_base}/live/studio/{show.code}"
    page.get_by_label("Find a product").fill("Product 1")
    page.get_by_role("button", name="Search").click()
    form = page.get_by_test_id("lineup-form")
    expect(form.get_by_label("Product")).to_have_value(tee.product.slug)
    form.get_by_label("Label").fill("a1")
    form.get_by_label("Live price").fill("99")
    form.get_by_label("Quota").fill("8")
    form.get_by_label("Per-buyer limit").fill("2")
    form.get_by_role("button", name="Add to line-up").click()
    expect(page.get_by_test_id("lineup")).to_contain_text("A1")
    item = LineupItem.objects.get(show=show)
    assert (item.label, item.live_price_amount, item.quota, item.per_buyer_limit) == (
        "A1",
        9900,
        8,
        2,
    )

    # -- go live: the show, then the browser camera by WHIP ----------------------------------
    page.get_by_test_id("start-show").click()
    expect(page.get_by_test_id("show-status")).to_have_text("Live")
    _eventually(lambda: Show.objects.get().status == "live", "the show to be live")
    page.get_by_test_id("go-live").click()
    expect(page.get_by_test_id("publish-status")).to_have_text("Broadcasting from this browser.")
    _eventually(
        lambda: PublisherSession.objects.filter(
            stream__show=show, status="live", media_started_at__isnull=False
        ).exists(),
        "the media worker to receive the camera",
        timeout=40,
    )
    assert (
        page.evaluate(
            "document.querySelector('[data-testid=preview]').srcObject.getVideoTracks().length"
        )
        == 1
    )
    page.get_by_text("Stream from OBS instead").click()
    expect(page.get_by_test_id("whip-url")).to_have_value(
        f"{asgi_base}/api/live/video/whip/shows/{show.code}"
    )
    expect(page.get_by_test_id("stream-key")).to_have_attribute("type", "password")
    page.get_by_label("Keep the replays of this show forever").check()
    expect(page.get_by_text("Replays of this show are kept forever.")).to_be_visible()
    _eventually(lambda: Stream.objects.get(show=show).keep_replays, "the replays to be kept")

    # -- pin, flash drop, coupon over the room socket ---------------------------------------
    page.get_by_test_id("pin-A1").click()
    expect(page.get_by_role("status").filter(has_text="A1 is pinned.")).to_be_visible()
    _eventually(lambda: Show.objects.get().pinned_item_id == item.pk, "A1 to be pinned")
    drop_form = page.get_by_test_id("drop-form")
    drop_form.get_by_label("Quota").fill("3")
    drop_form.get_by_label("Drop price").fill("49.5")
    drop_form.get_by_label("Per-buyer limit").fill("1")
    drop_form.get_by_label("Countdown (s)").fill("5")
    drop_form.get_by_label("Duration (s)").fill("120")
    page.get_by_test_id("start-drop").click()
    expect(page.get_by_role("status").filter(has_text="Flash drop of A1 started.")).to_be_visible()
    flash = Drop.objects.get(show=show, kind="flash")
    assert (flash.quota, flash.price_amount, flash.per_buyer_limit, flash.status) == (
        3,
        4950,
        1,
        "open",
    )
    assert flash.ends_at is not None and flash.starts_at > flash.created_at
    page.get_by_label("Coupon code").fill("LIVE10")
    page.get_by_label("How many").fill("5")
    page.get_by_role("button", name="Drop coupon").click()
    expect(page.get_by_role("status").filter(has_text="Coupon LIVE10 dropped.")).to_be_visible()
    assert CouponDrop.objects.filter(show=show, code="LIVE10", quantity=5).count() == 1

    # -- moderation: delete, mute, slow mode, blocked words, ban ------------------------------
    cookie = session_cookie(shopper)
    assert room_comment(asgi_base, show.code, cookie, "first!")["type"] == "comment.ok"
    comments = page.get_by_test_id("host-comments")
    expect(comments).to_contain_text("first!")
    violations += axe(page, "host-console-live")
    comments.get_by_role("button", name="Delete shopper: first!").click()
    expect(page.get_by_text("No comments yet.")).to_be_visible()
    _eventually(
        lambda: Comment.objects.filter(show=show, text="first!", deleted=True).exists(),
        "the comment to be deleted",
    )
    assert room_comment(asgi_base, show.code, cookie, "buy buy")["type"] == "comment.ok"
    page.get_by_label("Mute for").select_option("30")
    comments.get_by_role("button", name="Mute shopper").click()
    expect(page.get_by_role("status").filter(has_text="shopper muted for 30 min.")).to_be_visible()
    assert ShowMute.objects.filter(show=show, user=shopper).count() == 1
    refused = room_comment(asgi_base, show.code, cookie, "still here?")
    assert (refused["type"], refused["code"]) == ("error", "comment_refused")
    page.get_by_label("Slow mode (seconds, 0 = off)").fill("15")
    page.get_by_role("button", name="Apply").first.click()
    expect(page.get_by_text("slow mode 15 s")).to_be_visible()
    page.get_by_label("Blocked words").fill("spam, 广告")
    page.get_by_role("button", name="Apply").nth(1).click()
    expect(page.get_by_role("status").filter(has_text="2 blocked words saved.")).to_be_visible()
    show.refresh_from_db()
    assert (show.slow_mode_seconds, sorted(show.blocked_words)) == (15, ["spam", "广告"])
    comments.get_by_role("button", name="Ban shopper").click()
    expect(page.get_by_role("status").filter(has_text="shopper banned.")).to_be_visible()
    assert ShowBan.objects.filter(show=show, user=shopper).count() == 1
    moderator = _user("anna", Role.SHOPPER)
    page.get_by_label("Moderator (username)").fill("anna")
    page.get_by_role("button", name="Add moderator").click()
    expect(
        page.get_by_role("status").filter(has_text="anna can now moderate this show.")
    ).to_be_visible()
    assert ShowModerator.objects.filter(show=show, user=moderator).count() == 1

    # -- the dashboard: figures, charts and the table alternative -----------------------------
    expect(page.get_by_test_id("metric-viewers")).to_be_visible()
    page.get_by_label("Table").check()
    expect(page.get_by_test_id("dashboard-table")).to_be_visible()
    violations += axe(page, "host-console-dashboard")

    page.get_by_test_id("stop-camera").click()
    _eventually(
        lambda: not PublisherSession.objects.filter(stream__show=show, status="live").exists(),
        "the WHIP session to end",
    )
    context.close()
    assert violations == [], json.dumps(violations, indent=1)


def test_a_host_sees_only_their_own_shows(live_shop: SalesChannel, shopper: User) -> None:
    from datetime import timedelta

    from django.utils import timezone

    host, other = _user("host", Role.HOST), _user("other-host", Role.HOST)
    mine = Show.objects.create(
        code="MINE12345",
        host=host,
        title="Mine",
        scheduled_at=timezone.now() + timedelta(hours=1),
        sales_channel=live_shop,
    )
    theirs = Show.objects.create(
        code="THEIRS123",
        host=other,
        title="Theirs",
        scheduled_at=timezone.now() + timedelta(hours=1),
        sales_channel=live_shop,
    )
    client = Client()
    client.force_login(host)
    listed = client.get("/api/live/host/shows/").json()
    assert [s["code"] for s in listed] == [mine.code]
    assert listed[0]["blocked_words"] == [] and listed[0]["currency"] == "CNY"
    assert client.get(f"/api/live/host/shows/{mine.code}/").json()["muted"] == []
    assert client.get(f"/api/live/host/shows/{theirs.code}/").status_code == 403
    client.force_login(shopper)
    refused = client.get("/api/live/host/shows/")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_allowed"


# ---- store staff console -------------------------------------------------------------------


def test_staff_receive_a_return_restock_adjust_stock_and_admins_retry_sync(
    browser: Any,
    live_server: LiveServer,
    settings: SettingsWrapper,
    web: SalesChannel,
    warehouse: Location,
    store_jingan: Location,
    tee: ProductVariant,
    mug: ProductVariant,
    stock: Callable[[ProductVariant, Location, int], None],
    jingan_staff: User,
    admin_user: User,
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    base = live_server.url
    violations: list[dict[str, Any]] = []
    stock(tee, warehouse, 2)
    stock(mug, store_jingan, 6)
    order = shipped_order(web, [OrderLineInput("TEE-RED-M", 2)])
    rma = return_request(
        order=order, quantities={order.lines.get().pk: 2}, reason="too small", actor=None
    )
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()

    # -- a return handed in at this store, inspected and restocked here -----------------------
    sign_in(page, base, "jingan-staff", "/staff/returns")
    expect(page.get_by_role("heading", level=1)).to_have_text("Returns")
    page.get_by_label("Return number (RMA)").fill(rma.rma)
    page.get_by_role("button", name="Receive at this store").click()
    expect(page.get_by_test_id("return-status")).to_have_text("Received")
    # the order shipped from the warehouse, so this store's staff see its lines by id only
    line = order.lines.get()
    expect(page.get_by_test_id("return")).to_contain_text(f"2 \u00d7 order line {line.pk}")
    violations += axe(page, "staff-returns")
    page.get_by_test_id("inspect").click()
    expect(page.get_by_test_id("return-status")).to_have_text("Completed")
    rma.refresh_from_db()
    assert (rma.status, rma.received_at_location_id) == ("completed", store_jingan.pk)
    assert StockLevel.objects.get(variant=tee, location=store_jingan).on_hand == 2

    # -- a stock adjustment with a reason goes to the ledger ------------------------------------
    page.get_by_role("link", name="Stock", exact=True).click()
    table = page.get_by_test_id("stock")
    expect(table).to_contain_text("MUG-WHITE")
    table.get_by_role("button", name="Adjust MUG-WHITE").click()
    expect(page.get_by_test_id("on-hand")).to_have_text("6")
    form = page.get_by_test_id("adjust-form")
    form.get_by_label("Change (+/\u2212)").fill("-2")
    form.get_by_label("Reason").select_option("damaged")
    form.get_by_label("Note").fill("dropped in the back room")
    form.get_by_role("button", name="Save adjustment").click()
    expect(page.get_by_test_id("on-hand")).to_have_text("4")
    expect(page.get_by_test_id("movements")).to_contain_text("Damaged: dropped in the back room")
    assert StockLevel.objects.get(variant=mug, location=store_jingan).on_hand == 4
    movement = StockMovement.objects.filter(variant=mug, location=store_jingan).latest("id")
    assert (movement.on_hand_delta, movement.reason) == (-2, "Damaged: dropped in the back room")
    violations += axe(page, "staff-stock")

    # -- store staff do not see sync health; the merchant admin retries dead letters -------------
    page.goto(f"{base}/staff/sync")
    expect(page.get_by_text("This page is for merchant admins.")).to_be_visible()
    marketplace = SalesChannel.objects.create(
        code="shopify", name="Shopify", kind=SalesChannel.Kind.MARKETPLACE, currency="CNY"
    )
    marketplace.locations.set([warehouse])
    sync = connection_upsert(
        sales_channel=marketplace,
        platform="shopify",
        base_url="http://127.0.0.1:9",
        credentials={"access_token": "shpat_test", "webhook_secret": "shpss_test"},
    )
    DeadLetter.objects.create(
        connection=sync,
        kind="stock",
        key="TEE-RED-M",
        reason="HTTP 503",
        attempts=8,
        ref_id=tee.pk,
    )
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, "boss", "/staff/sync")
    row = page.get_by_test_id("sync-shopify")
    expect(row.get_by_test_id("dead-letters")).to_have_text("1")
    expect(row).to_contain_text("Needs attention")
    violations += axe(page, "staff-sync")
    row.get_by_role("button", name="Retry shopify").click()
    expect(page.get_by_role("status")).to_have_text("1 dead letters requeued for shopify.")
    expect(row.get_by_test_id("dead-letters")).to_have_text("0")
    assert DeadLetter.objects.get(connection=sync).retried_at is not None
    assert PendingStockPush.objects.filter(connection=sync, variant=tee).exists()

    context.close()
    assert violations == [], json.dumps(violations, indent=1)
