"""Share links, /s/<code> redirects and previews, click de-duplication, posters."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from social.models import AnalyticsEvent, ShareClick, ShareLink
from tests.social.conftest import BROWSER_UA

pytestmark = pytest.mark.django_db


def test_create_link_returns_the_same_link_on_repeat(sharer: User, stocked_tee) -> None:
    api = APIClient()
    api.force_authenticate(sharer)
    body = {
        "target_kind": "product",
        "target_id": str(stocked_tee.product_id),
        "platform": "weibo",
        "utm": {"utm_campaign": "spring"},
    }
    first = api.post("/api/social/links", body, format="json")
    second = api.post("/api/social/links", body, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["code"] == second.json()["code"]
    assert first.json()["url"] == f"http://testserver/s/{first.json()['code']}"
    assert ShareLink.objects.get().utm == {
        "utm_source": "weibo",
        "utm_medium": "social_share",
        "utm_campaign": "spring",
    }
    assert AnalyticsEvent.objects.filter(kind="share").count() == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"target_kind": "product", "target_id": "999999"}, "no active product 999999"),
        (
            {"target_kind": "show", "target_id": "s1", "utm": {"evil": "1"}},
            "unknown UTM parameters",
        ),
    ],
)
def test_bad_links_are_refused_and_nothing_is_stored(
    sharer: User, body: dict, message: str
) -> None:
    api = APIClient()
    api.force_authenticate(sharer)
    response = api.post("/api/social/links", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message
    assert ShareLink.objects.count() == 0
    assert AnalyticsEvent.objects.count() == 0


def test_anonymous_cannot_create_links(stocked_tee) -> None:
    response = APIClient().post(
        "/api/social/links", {"target_kind": "show", "target_id": "x"}, format="json"
    )
    assert response.status_code in (401, 403)
    assert ShareLink.objects.count() == 0


def test_share_link_redirects_with_utm_and_sets_cookies(tee_link: ShareLink) -> None:
    client = Client(HTTP_USER_AGENT=BROWSER_UA)
    response = client.get(f"/s/{tee_link.code}")
    assert response.status_code == 302
    assert response["Location"] == (
        f"/app/products/product-1?utm_source=wechat&utm_medium=social_share&share={tee_link.code}"
    )
    assert response.cookies["lh_ref"].value == tee_link.code
    assert response.cookies["lh_vid"]["httponly"]
    click = ShareClick.objects.get()
    assert (click.counted, click.is_bot, click.visitor) == (
        True,
        False,
        response.cookies["lh_vid"].value,
    )


def test_repeat_clicks_by_one_visitor_count_once(tee_link: ShareLink, click: Callable) -> None:
    client = click(tee_link, None)
    click(tee_link, None, client=client)
    click(tee_link, None)  # another visitor
    assert list(ShareClick.objects.order_by("pk").values_list("counted", flat=True)) == [
        True,
        False,
        True,
    ]
    assert AnalyticsEvent.objects.filter(kind="click").count() == 2


def test_crawler_gets_open_graph_tags_and_is_not_counted(tee_link: ShareLink) -> None:
    client = Client(HTTP_USER_AGENT="facebookexternalhit/1.1")
    response = client.get(f"/s/{tee_link.code}")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<meta property="og:title" content="Product 1">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    assert f"/api/social/links/{tee_link.code}/poster.png" in html
    assert ShareClick.objects.get().counted is False
    assert AnalyticsEvent.objects.filter(kind="click").count() == 0


def test_unknown_code_is_404(db: None) -> None:
    assert Client().get("/s/doesnotexist").status_code == 404
    assert ShareClick.objects.count() == 0


def test_poster_is_a_png_with_a_qr_code(tee_link: ShareLink) -> None:
    response = Client().get(f"/api/social/links/{tee_link.code}/poster.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (750, 1100)
    # The QR code's top-left finder pattern is black on the white poster.
    assert image.getpixel((750 - 280 + 20, 1100 - 280 + 20)) == (0, 0, 0)
