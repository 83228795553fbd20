"""The reward rules: direct sales only, never self-referral, capped, reversed on refunds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from hub.kernel.outbox import outbox_relay
from oms.models import Order, ProductVariant
from oms.services.orders import order_cancel
from social.models import Attribution, RewardEntry, ShareClick, ShareLink
from social.selectors import sharer_statement
from social.services.attribution import attribution_for_order, attribution_reverse
from social.services.links import share_link_create

pytestmark = pytest.mark.django_db


def _ledger(user: User) -> list[tuple[str, int]]:
    return [(e.kind, e.amount) for e in RewardEntry.objects.filter(sharer=user).order_by("pk")]


def test_a_clicked_share_earns_the_sharer_ten_percent(
    tee_link: ShareLink, sharer: User, buyer: User, stocked_tee: ProductVariant, click, buy
) -> None:
    click(tee_link, buyer)
    order = buy(buyer, stocked_tee, 2)
    attribution = Attribution.objects.get()
    assert (attribution.order_number, attribution.sharer, attribution.buyer) == (
        order.number,
        sharer,
        buyer,
    )
    assert attribution.sales_amount == 25800
    assert _ledger(sharer) == [("earn", 2580)]
    assert _ledger(buyer) == []


def test_sharing_and_clicks_alone_earn_nothing(
    tee_link: ShareLink, sharer: User, buyer: User, click
) -> None:
    click(tee_link, buyer)
    click(tee_link, None)
    assert RewardEntry.objects.count() == 0
    assert sharer_statement(sharer=sharer)["balances"] == {}


def test_buying_through_your_own_link_is_never_rewarded(
    tee_link: ShareLink, sharer: User, stocked_tee: ProductVariant, click, buy
) -> None:
    click(tee_link, sharer)
    buy(sharer, stocked_tee)
    assert Attribution.objects.count() == 0
    assert RewardEntry.objects.count() == 0


def test_self_click_does_not_hide_another_sharers_click(
    tee_link: ShareLink, sharer: User, buyer: User, stocked_tee: ProductVariant, click, buy
) -> None:
    own, _ = share_link_create(
        sharer=buyer, target_kind="product", target_id=tee_link.target_id, platform="weibo"
    )
    click(tee_link, buyer)
    click(own, buyer)  # the buyer's own, later click must not win
    buy(buyer, stocked_tee)
    assert Attribution.objects.get().link == tee_link
    assert _ledger(buyer) == []


def test_no_reward_for_the_sales_of_people_you_referred(
    tee_link: ShareLink, sharer: User, buyer: User, stocked_tee: ProductVariant, click, buy
) -> None:
    third = User.objects.create(username="third")
    click(tee_link, buyer)
    buy(buyer, stocked_tee)
    # The buyer now shares too; the third person buys through the buyer's link.
    second_level, _ = share_link_create(
        sharer=buyer, target_kind="product", target_id=tee_link.target_id, platform="moments"
    )
    click(second_level, third)
    buy(third, stocked_tee)
    assert _ledger(sharer) == [("earn", 1290)]
    assert _ledger(buyer) == [("earn", 1290)]
    assert RewardEntry.objects.count() == 2


@override_settings(SOCIAL_REWARD_RATE_BPS=5000, SOCIAL_REWARD_CAP_BPS=9000)
def test_reward_never_exceeds_thirty_percent_whatever_is_configured(
    tee_link: ShareLink, sharer: User, buyer: User, stocked_tee: ProductVariant, click, buy
) -> None:
    click(tee_link, buyer)
    buy(buyer, stocked_tee)
    assert _ledger(sharer) == [("earn", 3870)]
    assert Attribution.objects.get().rate_bps == 3000


@override_settings(SOCIAL_REWARD_RATE_BPS=2500, SOCIAL_REWARD_CAP_BPS=2000)
def test_configured_cap_below_the_rate_wins(
    tee_link: ShareLink, sharer: User, buyer: User, stocked_tee: ProductVariant, click, buy
) -> None:
    click(tee_link, buyer)
    buy(buyer, stocked_tee, discount_amount=900)
    assert _ledger(sharer) == [("earn", 2400)]  # 20% of 12900 - 900


def test_cancellation_reverses_the_whole_reward_once(
    tee_link: ShareLink, sharer: User, buyer: User, stocked_tee: ProductVariant, click, buy
) -> None:
    click(tee_link, buyer)
    order = buy(buyer, stocked_tee)
    order_cancel(order=order, actor=None)
    outbox_relay()
    assert attribution_reverse(order_number=order.number) == 0  # redelivery adds nothing
    assert _ledger(sharer) == [("earn", 1290), ("reverse", -1290)]
    assert sharer_statement(sharer=sharer)["balances"] == {"CNY": 0}


def test_partial_return_reverses_pro_rata(
    tee_link: ShareLink, sharer: User, buyer: User, stocked_tee: ProductVariant, click, buy
) -> None:
    click(tee_link, buyer)
    order = buy(buyer, stocked_tee, 4)
    line = order.lines.get()
    line.quantity_fulfilled = 4
    line.quantity_returned = 1
    line.save()
    Order.objects.filter(pk=order.pk).update(status="partially_returned")
    assert attribution_reverse(order_number=order.number) == 1290
    line.quantity_returned = 3
    line.save()
    assert attribution_reverse(order_number=order.number) == 2580
    assert attribution_reverse(order_number=order.number) == 0
    assert _ledger(sharer) == [("earn", 5160), ("reverse", -1290), ("reverse", -2580)]


def test_orders_after_the_window_are_not_attributed(
    tee_link: ShareLink, buyer: User, stocked_tee: ProductVariant, click, buy
) -> None:
    click(tee_link, buyer)
    ShareClick.objects.update(created_at=timezone.now() - timedelta(days=8))
    buy(buyer, stocked_tee)
    assert Attribution.objects.count() == 0


@pytest.mark.parametrize(("model", "winner"), [("last_touch", "second"), ("first_touch", "first")])
def test_attribution_model_picks_the_click(
    model: str, winner: str, sharer: User, buyer: User, stocked_tee: ProductVariant, click, buy
) -> None:
    second_sharer = User.objects.create(username="second")
    links = {
        name: share_link_create(
            sharer=who,
            target_kind="product",
            target_id=str(stocked_tee.product_id),
            platform="wechat",
        )[0]
        for name, who in (("first", sharer), ("second", second_sharer))
    }
    click(links["first"], buyer)
    ShareClick.objects.update(created_at=timezone.now() - timedelta(hours=1))
    click(links["second"], buyer)
    with override_settings(SOCIAL_ATTRIBUTION_MODEL=model):
        buy(buyer, stocked_tee)
    assert Attribution.objects.get().link == links[winner]


def test_anonymous_click_counts_once_the_visitor_signs_in(
    tee_link: ShareLink, sharer: User, buyer: User, stocked_tee: ProductVariant, click, buy
) -> None:
    client = click(tee_link, None)
    client.force_login(buyer)
    assert client.post("/api/social/visitor/claim").json() == {"claimed": 1}
    buy(buyer, stocked_tee)
    assert _ledger(sharer) == [("earn", 1290)]


def test_attribution_is_idempotent(
    tee_link: ShareLink, buyer: User, stocked_tee: ProductVariant, click, buy
) -> None:
    click(tee_link, buyer)
    order = buy(buyer, stocked_tee)
    again = attribution_for_order(order_number=order.number)
    assert again == Attribution.objects.get()
    assert RewardEntry.objects.count() == 1


def test_unknown_order_is_ignored(db: None) -> None:
    assert attribution_for_order(order_number="NOPE") is None
    assert attribution_reverse(order_number="NOPE") == 0
    assert Attribution.objects.count() == 0
