"""Page views: counted once per visitor and window, bots ignored, at the top of the funnel."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError
from django.db.models import F
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from oms.models import ProductVariant
from social.analytics_index import analytics_reindex
from social.models import AnalyticsEvent, ShareLink
from social.services.page_views import page_view_record

from .conftest import BROWSER_UA

pytestmark = pytest.mark.django_db


def _view(client: Client, target_id: str, **extra: str) -> dict[str, object]:
    response = client.post(
        "/api/social/views",
        {"target_kind": "product", "target_id": target_id, **extra},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_a_visitor_counts_once_per_window_and_gets_a_visitor_cookie(
    stocked_tee: ProductVariant,
) -> None:
    product = str(stocked_tee.product_id)
    browser = Client(HTTP_USER_AGENT=BROWSER_UA)
    first = browser.post(
        "/api/social/views",
        {"target_kind": "product", "target_id": product},
        content_type="application/json",
    )
    assert first.json() == {"counted": True, "reason": "counted"}
    visitor = first.cookies["lh_vid"].value
    assert first.cookies["lh_vid"]["httponly"] is True
    assert _view(browser, product) == {"counted": False, "reason": "repeat"}
    other = Client(HTTP_USER_AGENT=BROWSER_UA)
    assert _view(other, product) == {"counted": True, "reason": "counted"}
    views = AnalyticsEvent.objects.filter(kind="view")
    assert views.count() == 2
    assert views.filter(visitor=visitor).count() == 1
    assert set(views.values_list("platform", flat=True)) == {"direct"}


def test_the_window_reopens_after_the_dedup_period(stocked_tee: ProductVariant) -> None:
    product = str(stocked_tee.product_id)
    kwargs = {"target_kind": "product", "target_id": product, "user_agent": BROWSER_UA}
    assert page_view_record(visitor="v1", **kwargs).counted is True
    assert page_view_record(visitor="v1", **kwargs).counted is False
    # Half an hour passes: the stored view moves back in time, and so does its bucket.
    AnalyticsEvent.objects.filter(kind="view").update(
        created_at=timezone.now() - timedelta(seconds=1801), dedup_bucket=F("dedup_bucket") - 2
    )
    assert page_view_record(visitor="v1", **kwargs).counted is True
    with override_settings(SOCIAL_VIEW_DEDUP_SECONDS=0):
        assert page_view_record(visitor="v2", **kwargs).counted is True
    assert AnalyticsEvent.objects.filter(kind="view").count() == 3


def test_bots_and_preview_fetchers_are_not_counted(stocked_tee: ProductVariant) -> None:
    product = str(stocked_tee.product_id)
    for agent in ("Googlebot/2.1", "facebookexternalhit/1.1", "curl/8.0", ""):
        crawler = Client(HTTP_USER_AGENT=agent)
        assert _view(crawler, product) == {"counted": False, "reason": "bot"}
    assert AnalyticsEvent.objects.filter(kind="view").count() == 0


def test_two_first_views_in_one_window_cannot_both_be_stored(
    stocked_tee: ProductVariant,
) -> None:
    fields = {
        "kind": "view",
        "visitor": "v1",
        "target_kind": "product",
        "target_id": str(stocked_tee.product_id),
        "dedup_bucket": 42,
    }
    AnalyticsEvent.objects.create(**fields)
    with pytest.raises(IntegrityError):
        AnalyticsEvent.objects.create(**fields)


def test_a_view_through_a_share_carries_its_platform_and_sharer(
    tee_link: ShareLink, sharer: User, click: Callable
) -> None:
    browser = click(tee_link, None)  # /s/<code> -> PWA page with ?share=<code>
    assert _view(browser, tee_link.target_id, share=tee_link.code)["counted"] is True
    view = AnalyticsEvent.objects.get(kind="view")
    assert (view.platform, view.sharer_id, view.visitor) == (
        "wechat",
        sharer.pk,
        browser.cookies["lh_vid"].value,
    )


def test_a_view_without_a_target_id_is_a_400() -> None:
    response = Client(HTTP_USER_AGENT=BROWSER_UA).post(
        "/api/social/views", {"target_kind": "product"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == ["target_id"]
    assert AnalyticsEvent.objects.count() == 0


def test_a_view_of_a_post_is_a_400() -> None:
    response = Client(HTTP_USER_AGENT=BROWSER_UA).post(
        "/api/social/views",
        {"target_kind": "post", "target_id": "1"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "views are tracked for product, show, not 'post'"
    )
    assert AnalyticsEvent.objects.count() == 0


def test_a_view_of_an_unknown_product_is_a_400() -> None:
    response = Client(HTTP_USER_AGENT=BROWSER_UA).post(
        "/api/social/views",
        {"target_kind": "product", "target_id": "999999"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "no active product 999999"
    assert AnalyticsEvent.objects.count() == 0


@pytest.fixture(params=["orm", "elastic"])
def analytics_backend(request: pytest.FixtureRequest) -> Iterator[Callable[[], None]]:
    if request.param == "orm":
        yield lambda: None
        return
    clone = request.getfixturevalue("osmem_clone")
    with override_settings(ELASTICSEARCH_URL=clone.url, ELASTICSEARCH_CLIENT="opensearch"):
        yield analytics_reindex


def test_views_open_the_funnel_per_platform_and_product_and_the_trend(
    analytics_backend: Callable[[], None],
    tee_link: ShareLink,
    buyer: User,
    stocked_tee: ProductVariant,
    click: Callable,
    buy: Callable,
    admin_user: User,
) -> None:
    product = tee_link.target_id
    _view(Client(HTTP_USER_AGENT=BROWSER_UA), product)  # found in the shop: direct
    _view(Client(HTTP_USER_AGENT=BROWSER_UA), product)
    browser = click(tee_link, buyer)
    _view(browser, product, share=tee_link.code)
    _view(browser, product, share=tee_link.code)  # a reload: not counted again
    buy(buyer, stocked_tee)
    analytics_backend()
    api = APIClient()
    api.force_authenticate(admin_user)
    by_platform = api.get("/api/social/analytics/funnel", {"by": "platform"}).json()["rows"]
    assert by_platform == [
        {"platform": "direct", "views": 2, "shares": 0, "clicks": 0, "orders": 0, "sales": 0},
        {"platform": "wechat", "views": 1, "shares": 1, "clicks": 1, "orders": 1, "sales": 12900},
    ]
    by_target = api.get("/api/social/analytics/funnel", {"by": "target"}).json()["rows"]
    assert by_target == [
        {
            "target_kind": "product",
            "target_id": product,
            "views": 3,
            "shares": 1,
            "clicks": 1,
            "orders": 1,
            "sales": 12900,
        }
    ]
    trend = api.get("/api/social/analytics/trend", {"days": 7}).json()["rows"]
    assert trend == [
        {
            "day": timezone.now().date().isoformat(),
            "click": 1,
            "order": 1,
            "share": 1,
            "view": 3,
        }
    ]
