"""UGC: posts, media checks, moderation signals, likes, comments, reports."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image
from rest_framework.test import APIClient

from oms.models import ProductVariant
from oms.services.orders import order_mark_paid
from social.models import BlockedWord, ModerationDecision, Post, PostComment
from social.services.ugc import post_create, post_report

pytestmark = pytest.mark.django_db


def _png() -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, format="PNG")
    return SimpleUploadedFile("look.png", buf.getvalue(), content_type="image/png")


@pytest.fixture(autouse=True)
def media_root(tmp_path: Path):
    with override_settings(MEDIA_ROOT=tmp_path):
        yield


def test_review_after_a_paid_order_is_published_as_verified(
    buyer: User, stocked_tee: ProductVariant, buy: Callable
) -> None:
    order = buy(buyer, stocked_tee)
    order_mark_paid(order=order, payment_reference="test")
    api = APIClient()
    api.force_authenticate(buyer)
    response = api.post(
        "/api/social/posts",
        {
            "kind": "review",
            "body": "Soft and true to size",
            "target_kind": "product",
            "target_id": str(stocked_tee.product_id),
            "rating": 5,
            "photos": [_png()],
        },
        format="multipart",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["verified_purchase"], body["signals"]) == ("published", True, [])
    assert body["media"][0]["kind"] == "photo"
    listed = APIClient().get(
        "/api/social/posts", {"target_kind": "product", "target_id": str(stocked_tee.product_id)}
    )
    assert [p["id"] for p in listed.json()["posts"]] == [body["id"]]


def test_review_without_purchase_waits_for_moderation(
    buyer: User, stocked_tee: ProductVariant
) -> None:
    post = post_create(
        author=buyer,
        kind="review",
        body="Great!",
        target_kind="product",
        target_id=str(stocked_tee.product_id),
        rating=5,
    )
    assert (post.status, post.verified_purchase, post.signals) == (
        "pending",
        False,
        ["unverified_purchase"],
    )


def test_blocked_word_sends_a_post_to_the_queue_and_refuses_a_comment(
    buyer: User, sharer: User
) -> None:
    BlockedWord.objects.create(word="Spam")
    flagged = post_create(author=buyer, kind="text", body="buy SPAM here")
    assert (flagged.status, flagged.signals) == ("pending", ["blocked_word"])
    clean = post_create(author=buyer, kind="text", body="lovely")
    api = APIClient()
    api.force_authenticate(sharer)
    response = api.post(f"/api/social/posts/{clean.pk}/comment", {"body": "spam!"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"words": ["Spam"]}
    assert PostComment.objects.count() == 0


def test_burst_from_one_device_is_flagged(buyer: User) -> None:
    statuses = [
        post_create(author=buyer, kind="text", body=f"post {i}", device="dev-1").status
        for i in range(5)
    ]
    assert statuses == ["published", "published", "published", "pending", "pending"]
    assert [p.signals for p in Post.objects.order_by("pk")][3:] == [["burst_device"]] * 2


def test_fake_photo_is_refused_and_nothing_is_stored(buyer: User) -> None:
    api = APIClient()
    api.force_authenticate(buyer)
    fake = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    response = api.post(
        "/api/social/posts", {"kind": "photo", "body": "hi", "photos": [fake]}, format="multipart"
    )
    assert response.status_code == 400
    assert Post.objects.count() == 0


def test_likes_count_once_per_user(buyer: User, sharer: User) -> None:
    post = post_create(author=buyer, kind="text", body="hello")
    api = APIClient()
    api.force_authenticate(sharer)
    assert api.post(f"/api/social/posts/{post.pk}/like").json() == {"liked": True}
    assert api.post(f"/api/social/posts/{post.pk}/like").json() == {"liked": False}
    post.refresh_from_db()
    assert post.likes == 1


def test_three_reports_hide_a_post_until_a_moderator_restores_it(
    buyer: User, admin_user: User
) -> None:
    post = post_create(author=buyer, kind="text", body="hello")
    for n in range(3):
        reporter = User.objects.create(username=f"r{n}")
        assert post_report(post=post, reporter=reporter, reason="rude") is True
    post.refresh_from_db()
    assert (post.status, post.reports) == ("hidden", 3)
    api = APIClient()
    api.force_authenticate(admin_user)
    assert [p["id"] for p in api.get("/api/social/moderation").json()["posts"]] == [post.pk]
    response = api.post(
        f"/api/social/moderation/{post.pk}", {"decision": "published"}, format="json"
    )
    assert response.json()["status"] == "published"
    assert list(ModerationDecision.objects.values_list("from_status", "to_status")) == [
        ("published", "hidden"),
        ("hidden", "published"),
    ]


def test_rejected_post_cannot_be_published_again(buyer: User, admin_user: User) -> None:
    post = post_create(author=buyer, kind="text", body="hello")
    api = APIClient()
    api.force_authenticate(admin_user)
    api.post(f"/api/social/moderation/{post.pk}", {"decision": "rejected"}, format="json")
    response = api.post(
        f"/api/social/moderation/{post.pk}", {"decision": "published"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "post cannot move from 'rejected' to 'published'"
    post.refresh_from_db()
    assert post.status == "rejected"


def test_shoppers_cannot_moderate(buyer: User) -> None:
    post = post_create(author=buyer, kind="text", body="hello")
    api = APIClient()
    api.force_authenticate(buyer)
    response = api.post(
        f"/api/social/moderation/{post.pk}", {"decision": "rejected"}, format="json"
    )
    assert response.status_code == 403
    post.refresh_from_db()
    assert post.status == "published"
