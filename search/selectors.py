"""Reads from the search index."""

from __future__ import annotations

from search.backends import get_backend
from search.query import MAX_SUGGEST, InvalidSearch, SearchQuery, SearchResult, Suggestion


def search_products(query: SearchQuery) -> SearchResult:
    return get_backend().search(query)


def search_suggest(*, prefix: str, size: int = 8) -> list[Suggestion]:
    if len(prefix) > 50:
        raise InvalidSearch("suggestion prefix is longer than 50 characters")
    if not 1 <= size <= MAX_SUGGEST:
        raise InvalidSearch(f"size must be between 1 and {MAX_SUGGEST}")
    return get_backend().suggest(prefix, size=size)
