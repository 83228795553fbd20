"""The search HTTP API: contract, validation errors in the shared shape."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from oms.models import Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def test_search_api_returns_hits_and_facets(client: APIClient, indexed: dict[str, Product]) -> None:
    response = client.get("/api/search/products", {"q": "tea", "sort": "price_asc"})
    assert response.status_code == 200
    body = response.json()
    assert [h["slug"] for h in body["hits"]] == ["green-tea", "tea-set"]
    assert body["hits"][0] == {
        "id": indexed["green-tea"].pk,
        "slug": "green-tea",
        "name_en": "Longjing Green Tea",
        "name_zh": "龙井绿茶",
        "category": "food",
        "price_amount": 8800,
        "currency": "CNY",
        "in_stock": True,
    }
    assert body["total"] == 2
    assert body["facets"]["category"] == [
        {"key": "food", "count": 1},
        {"key": "home", "count": 1},
    ]


def test_suggest_api_completes_as_you_type(client: APIClient, indexed: dict[str, Product]) -> None:
    response = client.get("/api/search/suggest", {"q": "白色"})
    assert response.status_code == 200
    assert response.json() == {
        "suggestions": [{"id": indexed["white-mug"].pk, "text": "白色陶瓷马克杯", "lang": "zh"}]
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "cheapest"}, "sort"),
        ({"size": "500"}, "size"),
        ({"price_min": "-1"}, "price_min"),
        ({"in_stock": "perhaps"}, "in_stock"),
    ],
)
def test_bad_search_parameters_get_a_400_naming_the_field(
    client: APIClient, params: dict[str, str], field: str
) -> None:
    response = client.get("/api/search/products", params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "invalid"
    assert list(body["error"]["details"]["fields"]) == [field]


def test_inverted_price_range_is_a_domain_400(client: APIClient, backend_kind: str) -> None:
    response = client.get("/api/search/products", {"price_min": "500", "price_max": "100"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_search",
        "message": "price_max must be greater than price_min",
        "details": {},
    }


def test_suggest_requires_a_prefix(client: APIClient) -> None:
    response = client.get("/api/search/suggest")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == ["q"]
