"""The moderation queue: blocked-word filter, staff review, reports, fake-review signals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from rest_framework.test import APIClient

from oms.models import ProductVariant
from oms.services.orders import order_mark_paid
from social.models import BlockedWord, Post
from social.services.ugc import post_create, post_report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(tmp_path: Path):
    with override_settings(MEDIA_ROOT=tmp_path):
        yield


def _staff(user: User) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.mark.parametrize(
    "body", ["buy s p-a.m here", "\uff33\uff30\uff21\uff2d deals", "便宜代购 加-微信"]
)
def test_blocked_words_are_found_through_spacing_punctuation_and_width(
    buyer: User, body: str
) -> None:
    BlockedWord.objects.create(word="spam")
    BlockedWord.objects.create(word="加 微信")
    post = post_create(author=buyer, kind="text", body=body)
    assert (post.status, post.signals) == ("pending", ["blocked_word"])


def test_staff_manage_the_blocked_word_list(admin_user: User, buyer: User) -> None:
    api = _staff(admin_user)
    assert api.post("/api/social/moderation/blocked-words", {"word": "Spam"}).status_code == 201
    assert api.post("/api/social/moderation/blocked-words", {"word": "spam"}).status_code == 200
    assert api.post("/api/social/moderation/blocked-words", {"word": "刷单"}).status_code == 201
    assert api.get("/api/social/moderation/blocked-words").json() == {"words": ["Spam", "刷单"]}
    assert post_create(author=buyer, kind="text", body="找人刷单").status == "pending"
    removed = api.delete("/api/social/moderation/blocked-words", {"word": "spam"}, format="json")
    assert removed.status_code == 204
    again = api.delete("/api/social/moderation/blocked-words", {"word": "spam"}, format="json")
    assert again.status_code == 404
    assert list(BlockedWord.objects.values_list("word", flat=True)) == ["刷单"]


def test_a_blocked_word_without_letters_is_refused(admin_user: User) -> None:
    response = _staff(admin_user).post("/api/social/moderation/blocked-words", {"word": "..."})
    assert response.status_code == 400
    assert BlockedWord.objects.count() == 0


def test_shoppers_cannot_touch_the_blocked_word_list(buyer: User) -> None:
    response = _staff(buyer).post("/api/social/moderation/blocked-words", {"word": "x"})
    assert response.status_code == 403
    assert BlockedWord.objects.count() == 0


def test_a_second_review_of_one_product_by_one_author_waits_for_review(
    buyer: User, stocked_tee: ProductVariant, buy: Callable
) -> None:
    order_mark_paid(order=buy(buyer, stocked_tee), payment_reference="t")
    review = {"kind": "review", "target_kind": "product", "target_id": str(stocked_tee.product_id)}
    first = post_create(author=buyer, body="Great", rating=5, **review)
    second = post_create(author=buyer, body="Great again", rating=5, **review)
    assert (first.status, first.signals) == ("published", [])
    assert (second.status, second.signals) == ("pending", ["repeat_review"])


def test_reviews_of_one_product_from_one_device_by_several_accounts_are_flagged(
    stocked_tee: ProductVariant, buy: Callable
) -> None:
    review = {"kind": "review", "target_kind": "product", "target_id": str(stocked_tee.product_id)}
    accounts = [User.objects.create(username=f"puppet{n}") for n in range(3)]
    for account in accounts:
        order_mark_paid(order=buy(account, stocked_tee), payment_reference="t")
    posts = [
        post_create(author=a, body="Best tee ever", rating=5, device="dev-9", **review)
        for a in accounts
    ]
    assert [(p.status, p.signals) for p in posts] == [
        ("published", []),
        ("pending", ["shared_device_reviews"]),
        ("pending", ["shared_device_reviews"]),
    ]


def test_burst_from_one_address_is_flagged(buyer: User) -> None:
    statuses = [
        post_create(author=buyer, kind="text", body=f"hi {n}", ip="203.0.113.7").status
        for n in range(4)
    ]
    assert statuses == ["published", "published", "published", "pending"]
    assert Post.objects.order_by("pk").last().signals == ["burst_address"]  # type: ignore[union-attr]


def test_queue_filters_by_signal_and_shows_the_reports(
    buyer: User, admin_user: User, stocked_tee: ProductVariant
) -> None:
    BlockedWord.objects.create(word="spam")
    flagged = post_create(author=buyer, kind="text", body="spam")
    unverified = post_create(
        author=buyer,
        kind="review",
        body="meh",
        rating=2,
        target_kind="product",
        target_id=str(stocked_tee.product_id),
    )
    reported = post_create(author=buyer, kind="text", body="hello")
    for n in range(3):
        post_report(post=reported, reporter=User.objects.create(username=f"r{n}"), reason=f"r{n}")
    api = _staff(admin_user)
    everything = api.get("/api/social/moderation").json()["posts"]
    assert [p["id"] for p in everything] == [flagged.pk, unverified.pk, reported.pk]
    by_reports = api.get("/api/social/moderation", {"signal": "reports"}).json()["posts"]
    assert [(p["id"], [r["reason"] for r in p["reports"]]) for p in by_reports] == [
        (reported.pk, ["r0", "r1", "r2"])
    ]
    unverified_only = api.get("/api/social/moderation", {"signal": "unverified_purchase"})
    assert [p["id"] for p in unverified_only.json()["posts"]] == [unverified.pk]
    assert api.get("/api/social/moderation", {"signal": "nope"}).status_code == 400


def test_staff_approve_reject_and_hide(buyer: User, admin_user: User) -> None:
    BlockedWord.objects.create(word="spam")
    pending = post_create(author=buyer, kind="text", body="spam?")
    published = post_create(author=buyer, kind="text", body="fine")
    api = _staff(admin_user)
    approve = api.post(f"/api/social/moderation/{pending.pk}", {"decision": "published"})
    assert approve.json()["status"] == "published"
    hide = api.post(f"/api/social/moderation/{published.pk}", {"decision": "hidden"})
    assert hide.json()["status"] == "hidden"
    reject = api.post(
        f"/api/social/moderation/{published.pk}", {"decision": "rejected", "note": "fake"}
    )
    assert reject.json()["status"] == "rejected"
    assert api.get("/api/social/moderation").json()["posts"] == []
