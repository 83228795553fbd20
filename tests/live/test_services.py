"""Shows, moderation, coupons and live checkout services."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.utils import timezone

from checkout.live_prices import live_prices_for
from checkout.services import checkout_from_hold
from hub.kernel.errors import DomainError, InvalidTransition
from live import quota
from live.errors import BuyerLimitReached, CommentRefused, CouponGone, NotAllowed, RateLimited
from live.models import CouponClaim, CouponDrop, Drop, DropClaim, Show
from live.selectors import room_settings, show_dashboard
from live.services.checkout import live_order_create
from live.services.comments import comment_check
from live.services.coupons import coupon_claim, coupon_drop_create
from live.services.drops import drop_buy, drop_claims_drain, drop_claims_release, drop_open
from live.services.moderation import blocked_words_set, slow_mode_set, user_mute
from live.services.shows import moderator_add, show_create, show_pin, transition_show
from live.video.models import TimelineMarker
from live.video.services.sessions import (
    publisher_session_end,
    publisher_session_mark_live,
    publisher_session_open,
)
from live.video.services.streams import stream_ensure
from members.errors import CouponNotApplicable
from members.live_coupons import live_coupon_claimed
from members.models import Coupon
from members.services import PricedLine, coupon_evaluate
from oms.models import Hold
from oms.services.holds import hold_create
from oms.services.orders import order_mark_paid
from tests.fixtures.commerce import home, rates

__all__ = ["home", "rates"]


def test_hosts_manage_only_their_own_shows(show, shopper, host) -> None:
    with pytest.raises(NotAllowed):
        show_pin(show=show, actor=shopper, label="A12")
    with pytest.raises(NotAllowed):
        transition_show(show=show, target="ended", actor=shopper)
    assert Show.objects.get(pk=show.pk).pinned_item is None
    assert Drop.objects.count() == 0


def test_an_ended_show_cannot_go_live_again_and_its_drops_close(show, host, item) -> None:
    drop_open(show=show, item=item, actor=host)
    transition_show(show=show, target="ended", actor=host)
    with pytest.raises(InvalidTransition, match="from 'ended' to 'live'"):
        transition_show(show=show, target="live", actor=host)
    assert list(Drop.objects.values_list("status", flat=True)) == ["closed"]


def test_comment_rules_refuse_muted_blocked_and_slow_viewers(show, host, shopper) -> None:
    blocked_words_set(show=show, actor=host, words=["Spam"])
    slow_mode_set(show=show, actor=host, seconds=5)
    rules = room_settings(show)
    check = dict(user_id=shopper.pk, role="viewer", rules=rules)
    assert comment_check(text="  nice   hoodie ", last_at=None, now=100.0, **check) == "nice hoodie"
    with pytest.raises(CommentRefused, match="blocked word"):
        comment_check(text="buy SPAM now", last_at=None, now=100.0, **check)
    with pytest.raises(RateLimited):
        comment_check(text="again", last_at=98.0, now=100.0, **check)
    assert comment_check(text="host may", user_id=host.pk, role="host", rules=rules,
                         last_at=99.9, now=100.0) == "host may"  # fmt: skip
    user_mute(show=show, actor=host, user_id=shopper.pk, minutes=5)
    with pytest.raises(CommentRefused, match="muted"):
        comment_check(text="hi", last_at=None, **{**check, "rules": room_settings(show)})


def test_moderators_moderate_but_do_not_host(show, host, shopper, other_shopper) -> None:
    moderator_add(show=show, actor=host, user=other_shopper)
    user_mute(show=show, actor=other_shopper, user_id=shopper.pk, minutes=1)
    with pytest.raises(NotAllowed):
        show_pin(show=show, actor=other_shopper, label="A12")
    with pytest.raises(NotAllowed):
        user_mute(show=show, actor=shopper, user_id=other_shopper.pk, minutes=1)
    assert room_settings(show).staff == {host.pk: "host", other_shopper.pk: "moderator"}


def test_coupon_claims_respect_quantity_limit_and_keys(show, host, buyers) -> None:
    first, second, third = buyers(3)
    coupon = coupon_drop_create(show=show, actor=host, code="LIVE20", quantity=2, claim_limit=1)
    claim = coupon_claim(coupon=coupon, user=first, key="a")
    assert coupon_claim(coupon=coupon, user=first, key="a") == claim
    with pytest.raises(BuyerLimitReached):
        coupon_claim(coupon=coupon, user=first, key="b")
    coupon_claim(coupon=coupon, user=second, key="a")
    with pytest.raises(CouponGone):
        coupon_claim(coupon=coupon, user=third, key="a")
    assert CouponClaim.objects.count() == 2


def test_a_live_hold_becomes_an_order_at_the_live_price_and_payment_converts_it(
    show, item, host, shopper, hoodie_xl, warehouse, stock
) -> None:
    stock(hoodie_xl, warehouse, 5)
    drop = drop_open(show=show, item=item, actor=host, price_amount=5900)
    drop_buy(drop=drop, buyer=shopper, variant=hoodie_xl, quantity=2, key="k")
    drop_claims_drain(drop_id=drop.pk)
    claim = DropClaim.objects.get()
    address = {"name": "Li Lei", "line1": "1 Nanjing Rd", "city": "Shanghai"}
    order = live_order_create(claim=claim, buyer=shopper, shipping_address=address)
    assert live_order_create(claim=claim, buyer=shopper, shipping_address=address) == order
    assert (order.status, order.total_amount, order.hold_id) == (
        "pending_payment", 11800, claim.hold_id,
    )  # fmt: skip
    order_mark_paid(order=order, payment_reference="sandbox-1")
    drop_claims_release()
    assert DropClaim.objects.get().status == "converted"
    stats = show_dashboard(Show.objects.get(pk=show.pk), viewers_now=3)
    assert (stats["holds"], stats["paid_orders"], stats["gmv"]) == (1, 1, 11800)


def test_another_buyer_cannot_check_out_my_hold(
    show, item, host, shopper, other_shopper, hoodie_xl, warehouse, stock
) -> None:
    stock(hoodie_xl, warehouse, 5)
    drop = drop_open(show=show, item=item, actor=host)
    drop_buy(drop=drop, buyer=shopper, variant=hoodie_xl, quantity=1, key="k")
    drop_claims_drain(drop_id=drop.pk)
    with pytest.raises(NotAllowed):
        live_order_create(claim=DropClaim.objects.get(), buyer=other_shopper,
                          shipping_address={"line1": "x"})  # fmt: skip
    from oms.models import Order

    assert Order.objects.count() == 0


# ---- hooks answered for checkout and members; replay markers ------------------------------


def test_a_live_hold_checks_out_at_the_drops_live_price(
    show, item, host, shopper, hoodie_xl, warehouse, stock, home, rates
) -> None:
    stock(hoodie_xl, warehouse, 5)
    drop = drop_open(show=show, item=item, actor=host, price_amount=5900)
    drop_buy(drop=drop, buyer=shopper, variant=hoodie_xl, quantity=2, key="k")
    drop_claims_drain(drop_id=drop.pk)
    hold = DropClaim.objects.get().hold
    assert live_prices_for(hold) == {"HOODIE-RED-XL": 5900}
    order, _quote = checkout_from_hold(user=shopper, hold_token=hold.token, address=home)
    assert order.hold_id == hold.pk
    assert order.lines.get().unit_price_amount == 5900
    assert order.lines.get().quantity == 2


def test_a_hold_not_made_by_a_drop_has_no_live_price(web, tee, warehouse, stock, shopper) -> None:
    stock(tee, warehouse, 5)
    hold = hold_create(sales_channel=web, quantities={tee: 1}, kind=Hold.Kind.LIVE_DROP,
                       owner=shopper, ttl_seconds=60)  # fmt: skip
    assert live_prices_for(hold) is None


def test_a_room_coupon_is_usable_only_after_claiming_it_in_that_room(
    show, host, shopper, other_shopper
) -> None:
    Coupon.objects.create(code="LIVE20", kind="fixed", value=2000, live_room=show.code)
    lines = [PricedLine(sku="HOODIE-RED-XL", unit_price=9900, quantity=1)]

    def evaluate(user) -> int:
        return coupon_evaluate(code="live20", user=user, sales_channel_id=show.sales_channel_id,
                               currency="CNY", lines=lines).discount  # fmt: skip

    with pytest.raises(CouponNotApplicable, match="claim coupon LIVE20 in the live room first"):
        evaluate(shopper)
    coupon = coupon_drop_create(show=show, actor=host, code="LIVE20", quantity=1, claim_limit=1)
    coupon_claim(coupon=coupon, user=shopper, key="tap")
    assert evaluate(shopper) == 2000
    with pytest.raises(CouponGone):
        coupon_claim(coupon=coupon, user=other_shopper, key="tap")
    with pytest.raises(CouponNotApplicable):
        evaluate(other_shopper)  # the drop's quantity ran out: no claim, no coupon


def test_a_claim_in_another_room_does_not_unlock_a_rooms_coupon(
    show, host, shopper, live_channel
) -> None:
    other = show_create(host=host, title="Other show", scheduled_at=timezone.now(),
                        sales_channel=live_channel)  # fmt: skip
    Coupon.objects.create(code="ROOM1", kind="fixed", value=500, live_room=show.code)
    coupon = coupon_drop_create(show=other, actor=host, code="ROOM1", quantity=5)
    coupon_claim(coupon=coupon, user=shopper, key="a")
    assert live_coupon_claimed("ROOM1", shopper) is False
    coupon_claim(
        coupon=coupon_drop_create(show=show, actor=host, code="ROOM1", quantity=5),
        user=shopper,
        key="b",
    )
    assert live_coupon_claimed("ROOM1", shopper) is True


def test_pins_drops_and_coupons_are_marked_on_the_replay_timeline(
    show, item, host, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        stream = stream_ensure(show=show)
    session = publisher_session_open(show_code=show.code, stream_key=stream.key)
    publisher_session_mark_live(
        public_id=session.public_id, media_started_at=timezone.now() - timedelta(seconds=30)
    )
    with django_capture_on_commit_callbacks(execute=True):
        show_pin(show=show, actor=host, label="A12")
    with django_capture_on_commit_callbacks(execute=True):
        drop = drop_open(show=show, item=item, actor=host, quota_units=3, price_amount=4900)
    with django_capture_on_commit_callbacks(execute=True):
        coupon = coupon_drop_create(show=show, actor=host, code="LIVE5", quantity=10)
    with django_capture_on_commit_callbacks(execute=True):
        show_pin(show=show, actor=host, label=None)
    markers = list(TimelineMarker.objects.order_by("id"))
    assert [m.kind for m in markers] == ["pin", "drop", "coupon", "unpin"]
    assert markers[0].payload == {"item": "A12", "product": item.product_id, "price": 9900}
    assert (markers[1].payload["drop"], markers[1].payload["price"]) == (drop.pk, 4900)
    assert markers[2].payload == {"coupon": coupon.pk, "code": "LIVE5", "quantity": 10}
    assert all(m.session_id == session.pk and m.media_time_seconds >= 30 for m in markers)


def test_nothing_is_marked_when_the_pin_rolls_back_or_without_live_video(
    show, host, django_capture_on_commit_callbacks
) -> None:
    stream = stream_ensure(show=show)
    session = publisher_session_open(show_code=show.code, stream_key=stream.key)
    publisher_session_mark_live(public_id=session.public_id, media_started_at=timezone.now())
    with (
        django_capture_on_commit_callbacks(execute=True),
        contextlib.suppress(RuntimeError),
        transaction.atomic(),
    ):
        show_pin(show=show, actor=host, label="A12")
        raise RuntimeError("the surrounding write failed")
    assert TimelineMarker.objects.count() == 0
    publisher_session_end(public_id=session.public_id, reason="test")
    with django_capture_on_commit_callbacks(execute=True):
        show_pin(show=show, actor=host, label="A12")  # not publishing: nothing to stamp
    assert TimelineMarker.objects.count() == 0


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_coupon_storm_claims_exactly_the_quantity_within_the_per_user_limit(
    show, host, buyers
) -> None:
    coupon = coupon_drop_create(show=show, actor=host, code="STORM", quantity=8, claim_limit=1)
    people = buyers(20)
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(people))

    def claim(user) -> None:
        barrier.wait()
        try:
            for key in ("a", "b", "a"):  # a second key (limit) and a retry (replay)
                try:
                    coupon_claim(coupon=coupon, user=user, key=key)
                    outcome = "ok"
                except DomainError as error:
                    outcome = error.code
                with lock:
                    outcomes.append(f"{key}:{outcome}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(u,)) for u in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert CouponClaim.objects.count() == 8
    assert CouponClaim.objects.values("user").distinct().count() == 8
    assert outcomes.count("b:ok") == 0
    assert CouponDrop.objects.get(pk=coupon.pk).remaining == 0
    if quota.enabled():
        assert quota.coupon_left(coupon_id=coupon.pk) == 0
