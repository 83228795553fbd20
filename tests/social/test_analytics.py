"""Share analytics: top sharers, the view -> share -> click -> order funnel, daily trend."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from social.analytics_index import analytics_reindex
from social.models import ShareLink

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["orm", "elastic"])
def analytics_backend(request: pytest.FixtureRequest) -> Iterator[Callable[[], None]]:
    """Run the aggregations on the database or on osmem (events indexed first)."""
    if request.param == "orm":
        yield lambda: None
        return
    clone = request.getfixturevalue("osmem_clone")
    with override_settings(ELASTICSEARCH_URL=clone.url, ELASTICSEARCH_CLIENT="opensearch"):
        yield analytics_reindex


def test_funnel_and_top_sharers(
    analytics_backend: Callable[[], None],
    tee_link: ShareLink,
    sharer: User,
    buyer: User,
    stocked_tee,
    click: Callable,
    buy: Callable,
    admin_user: User,
) -> None:
    click(tee_link, buyer)
    click(tee_link, None)
    buy(buyer, stocked_tee)
    analytics_backend()
    api = APIClient()
    api.force_authenticate(admin_user)
    by_target = api.get("/api/social/analytics/funnel", {"by": "target"}).json()
    assert by_target == {
        "rows": [
            {
                "target_kind": "product",
                "target_id": tee_link.target_id,
                "views": 0,
                "shares": 1,
                "clicks": 2,
                "orders": 1,
                "sales": 12900,
            }
        ]
    }
    funnel = api.get("/api/social/analytics/funnel", {"by": "platform"}).json()
    assert funnel == {
        "rows": [
            {
                "platform": "wechat",
                "views": 0,
                "shares": 1,
                "clicks": 2,
                "orders": 1,
                "sales": 12900,
            }
        ]
    }
    top = api.get("/api/social/analytics/top-sharers").json()
    assert top == {
        "rows": [
            {"sharer": sharer.pk, "username": "sharer", "clicks": 2, "orders": 1, "sales": 12900}
        ]
    }
    trend = api.get("/api/social/analytics/trend", {"days": 7}).json()
    assert trend == {
        "rows": [{"day": timezone.now().date().isoformat(), "click": 2, "order": 1, "share": 1}]
    }


def test_statement_shows_clicks_orders_and_reward(
    tee_link: ShareLink, sharer: User, buyer: User, stocked_tee, click: Callable, buy: Callable
) -> None:
    click(tee_link, buyer)
    order = buy(buyer, stocked_tee)
    api = APIClient()
    api.force_authenticate(sharer)
    body = api.get("/api/social/statement").json()
    assert {k: body[k] for k in ("balances", "links", "clicks", "orders")} == {
        "balances": {"CNY": 1290},
        "links": 1,
        "clicks": 1,
        "orders": 1,
    }
    assert [(e["kind"], e["amount"], e["order"]) for e in body["entries"]] == [
        ("earn", 1290, order.number)
    ]


def test_analytics_are_for_merchant_admins(shopper: User) -> None:
    api = APIClient()
    api.force_authenticate(shopper)
    response = api.get("/api/social/analytics/funnel")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_bad_analytics_parameter_is_a_400(admin_user: User) -> None:
    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.get("/api/social/analytics/funnel", {"days": "0"})
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == ["days"]
