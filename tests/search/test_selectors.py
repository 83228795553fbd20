"""The results contract, run against both backends (embedded SQLite and osmem over HTTP)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from oms.models import Product
from search.query import InvalidSearch, SearchQuery
from search.selectors import search_products, search_suggest

pytestmark = pytest.mark.django_db


def test_english_word_finds_the_product(indexed: dict[str, Product], slugs: Callable) -> None:
    assert slugs(search_products(SearchQuery(text="mug"))) == ["white-mug"]


def test_chinese_two_characters_find_the_product(
    indexed: dict[str, Product], slugs: Callable
) -> None:
    assert slugs(search_products(SearchQuery(text="纯棉"))) == ["red-tee"]
    assert slugs(search_products(SearchQuery(text="马克杯"))) == ["white-mug"]


def test_misspelt_word_is_tolerated(indexed: dict[str, Product], slugs: Callable) -> None:
    assert slugs(search_products(SearchQuery(text="ceramik"))) == ["white-mug"]


def test_facets_count_category_price_and_stock(indexed: dict[str, Product]) -> None:
    result = search_products(SearchQuery())
    assert result.total == 5
    assert [(b.key, b.count) for b in result.facets["category"]] == [
        ("apparel", 2),
        ("home", 2),
        ("food", 1),
    ]
    assert [(b.key, b.count) for b in result.facets["price"]] == [
        ("0-50", 1),
        ("50-100", 1),
        ("100-200", 1),
        ("200-500", 1),
        ("500+", 1),
    ]
    assert [(b.key, b.count) for b in result.facets["in_stock"]] == [("true", 3), ("false", 2)]


def test_filters_and_price_sort(indexed: dict[str, Product], slugs: Callable) -> None:
    result = search_products(SearchQuery(in_stock=True, sort="price_desc"))
    assert slugs(result) == ["red-tee", "green-tea", "white-mug"]
    result = search_products(SearchQuery(category="home", price_max=10000))
    assert slugs(result) == ["white-mug"]
    assert result.total == 1


def test_paging_returns_the_requested_slice(indexed: dict[str, Product], slugs: Callable) -> None:
    page2 = search_products(SearchQuery(sort="price_asc", page=2, size=2))
    assert slugs(page2) == ["red-tee", "blue-tee"]
    assert page2.total == 5


def test_suggest_completes_an_english_prefix(indexed: dict[str, Product]) -> None:
    assert [s.text for s in search_suggest(prefix="porc")] == ["Porcelain Tea Set"]
    assert [s.text for s in search_suggest(prefix="red cot")] == ["Red Cotton Tee"]


def test_suggest_completes_chinese(indexed: dict[str, Product]) -> None:
    found = search_suggest(prefix="龙井")
    assert [(s.text, s.lang) for s in found] == [("龙井绿茶", "zh")]


def test_suggest_tolerates_a_typo(indexed: dict[str, Product]) -> None:
    assert [s.text for s in search_suggest(prefix="ceramc mug")] == ["White Ceramic Mug"]


def test_inactive_product_leaves_the_index(indexed: dict[str, Product], slugs: Callable) -> None:
    from search.services import search_index_products

    product = indexed["white-mug"]
    Product.objects.filter(pk=product.pk).update(is_active=False)
    search_index_products(product_ids=[product.pk])
    assert slugs(search_products(SearchQuery(text="mug"))) == []
    assert search_products(SearchQuery()).total == 4


def test_bad_query_is_refused() -> None:
    with pytest.raises(InvalidSearch):
        SearchQuery(text="x" * 101)
    with pytest.raises(InvalidSearch):
        SearchQuery(price_min=500, price_max=100)


def test_every_word_must_match(indexed: dict[str, Product], slugs: Callable) -> None:
    assert slugs(search_products(SearchQuery(text="red mug"))) == []
    assert slugs(search_products(SearchQuery(text="white mug"))) == ["white-mug"]
