"""Shows, moderation, coupons and live checkout services."""

from __future__ import annotations

import pytest

from hub.kernel.errors import InvalidTransition
from live.errors import BuyerLimitReached, CommentRefused, CouponGone, NotAllowed, RateLimited
from live.models import CouponClaim, Drop, DropClaim, Show
from live.selectors import room_settings, show_dashboard
from live.services.checkout import live_order_create
from live.services.comments import comment_check
from live.services.coupons import coupon_claim, coupon_drop_create
from live.services.drops import drop_buy, drop_claims_drain, drop_claims_release, drop_open
from live.services.moderation import blocked_words_set, slow_mode_set, user_mute
from live.services.shows import moderator_add, show_pin, transition_show
from oms.services.orders import order_mark_paid


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
